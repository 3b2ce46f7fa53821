"""The account-wide rate limit (behaviour §4): a fixed one-minute window counted in the
database, so that every worker process and every server on the same database shares it.

Writes count double, as on the service. Every response carries the remaining budget; a
request over it is answered 429 with the seconds until the window turns.

A process takes tokens from the shared count ahead of use when the budget left is large
(`lease_extra`): a limit high enough for hundreds of requests a second would otherwise cost a
write transaction per request. Near the limit it takes exactly what each request costs, so
the 429 falls on the same request as with one count per request.

On SQLite the counts live in a file beside the database (`count_database`): a count written
into the main file would move its `data_version`, which tells kept answers (kit/reuse.py) that
data changed, and would queue behind data writes for SQLite's one writer. PostgreSQL keeps them
in the database; its kept answers watch data tables only (`tidings.db.change_log`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.db.tables import rate_limit_windows
from tidings.kit.db import Database
from tidings.kit.errors import STATUS_MESSAGES, VND_ERROR, error_body

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WINDOW_SECONDS = 60
ACCOUNT = "account"
# One token ahead per this many left in the window, at most MAX_LEASE_EXTRA: a process can hold
# back at most 0.1 % of what is left, and nothing in the last 2,000.
LEASE_PER_REMAINING = 1000
MAX_LEASE_EXTRA = 99


COUNT_FILE_SUFFIX = "-ratelimit"


def count_database(db: Database) -> Database:
    """Where the counts are kept: for a SQLite file, a file of its own beside it (`tidings.db`:
    `tidings.db-ratelimit`, disposable: it holds the current minute); otherwise `db` itself."""
    path = make_url(db.url).database if db.dialect == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return db
    counts = Database(f"sqlite:///{path}{COUNT_FILE_SUFFIX}", threads=1)
    counts.write_sync(lambda conn: conn.execute(CreateTable(rate_limit_windows, if_not_exists=True)))
    return counts


def hit(conn: Connection, bucket: str, window_start: int, cost: int) -> int:
    """Add `cost` to the window and return its new total, atomically on either database."""
    insert = (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(rate_limit_windows)
    statement = (
        insert.values(bucket=bucket, window_start=window_start, hits=cost)
        .on_conflict_do_update(
            index_elements=[rate_limit_windows.c.bucket, rate_limit_windows.c.window_start],
            set_={"hits": rate_limit_windows.c.hits + insert.excluded.hits},
        )
        .returning(rate_limit_windows.c.hits)
    )
    total = int(conn.execute(statement).scalar_one())
    if total == cost:  # the first hit of a window clears the old ones
        conn.execute(
            delete(rate_limit_windows).where(
                rate_limit_windows.c.bucket == bucket, rate_limit_windows.c.window_start < window_start
            )
        )
    return total


def lease_extra(remaining: int) -> int:
    """Tokens to take beyond a request's own cost, given what was left at the last count."""
    return max(0, min(MAX_LEASE_EXTRA, remaining // LEASE_PER_REMAINING - 1))


@dataclass
class _Lease:
    """This process's part of one window: the shared total it last saw, and the tokens it
    added to that total that no request has used yet."""

    window_start: int = -1
    shared_total: int = 0
    unused: int = 0

    def used(self) -> int:
        """The window's count as far as this process knows, without its own unused tokens."""
        return self.shared_total - self.unused


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, db: Database, limit: int) -> None:
        self.app = app
        self.db = db
        self.limit = limit
        self._lease = _Lease()  # touched only on the event loop, between awaits

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or not scope["path"].startswith("/v2/"):
            await self.app(scope, receive, send)
            return
        now = time.time()
        window_start = int(now) - int(now) % WINDOW_SECONDS
        cost = 2 if scope["method"] in WRITE_METHODS else 1
        used = self._spend_lease(window_start, cost)
        if used is None:
            used = await self._count(window_start, cost)
        remaining = max(self.limit - used, 0)
        headers = [
            (b"x-ratelimit-limit-minute", str(self.limit).encode()),
            (b"x-ratelimit-remaining-minute", str(remaining).encode()),
        ]
        if used > self.limit:
            retry_after = str(max(1, window_start + WINDOW_SECONDS - int(now))).encode()
            correlation_id = str(scope.get("state", {}).get("correlation_id", ""))
            body = error_body(correlation_id, STATUS_MESSAGES[429])
            await send(
                {
                    "type": "http.response.start",
                    "status": 429,
                    "headers": [
                        (b"content-type", VND_ERROR.encode()),
                        (b"content-length", str(len(body)).encode()),
                        (b"x-ratelimit-retry-after", retry_after),
                        (b"retry-after", retry_after),
                        *headers,
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *headers]
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _spend_lease(self, window_start: int, cost: int) -> int | None:
        """The window's count with this request in it, when tokens already taken cover it."""
        lease = self._lease
        if lease.window_start != window_start or lease.unused < cost:
            return None
        lease.unused -= cost
        return lease.used()

    async def _count(self, window_start: int, cost: int) -> int:
        """Add this request (and, far from the limit, tokens for the next ones) to the shared count."""
        lease = self._lease
        if lease.window_start != window_start:
            lease.window_start, lease.shared_total, lease.unused = window_start, 0, 0
        extra = lease_extra(self.limit - lease.used() - cost)
        total = await self.db.write(hit, ACCOUNT, window_start, cost + extra)
        if lease.window_start != window_start:  # the window turned while this request counted
            return total - extra
        lease.shared_total = max(lease.shared_total, total)
        lease.unused += extra
        used = lease.used()
        if used > self.limit:
            lease.unused = 0  # over the limit: no later request may pass on tokens taken now
        return used
