"""The account-wide rate limit (behaviour §4): a fixed one-minute window counted in the
database, so that every worker process and every server on the same database shares it.

Writes count double, as on the service. Every response carries the remaining budget; a
request over it is answered 429 with the seconds until the window turns.

A process takes tokens from the shared count ahead of use when the budget left is large
(`lease_extra`): a limit high enough for hundreds of requests a second would otherwise cost a
write transaction per request. One such write is under way at a time, and it starts before the
tokens run out (below a quarter of them), so requests rarely wait for it: each request that
found the tokens gone used to write for itself, and on PostgreSQL, where a commit waits for its
WAL flush, the requests in flight then waited together every ~100 requests (a reused page 1,
4 December: p99 13.0-16.1 ms, 5.0-6.5 since; 3.7-3.8 with the limiter off). Near the limit it
takes exactly what each request costs, so the 429 falls on the same request as with one count
per request.

On SQLite the counts live in a file beside the database (`count_database`): a count written
into the main file would move its `data_version`, which tells kept answers (kit/reuse.py) that
data changed, and would queue behind data writes for SQLite's one writer. PostgreSQL keeps them
in the database; its kept answers watch data tables only (`tidings.db.change_log`).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from sqlalchemy import Connection, delete, make_url
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.schema import CreateTable
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.db.tables import rate_limit_windows
from tidings.kit.db import Database
from tidings.kit.errors import STATUS_MESSAGES, VND_ERROR, error_body

log = logging.getLogger(__name__)

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

    def start(self, window_start: int) -> None:
        """Forget an earlier window's count and tokens."""
        if self.window_start != window_start:
            self.window_start, self.shared_total, self.unused = window_start, 0, 0


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, db: Database, limit: int) -> None:
        self.app = app
        self.db = db
        self.limit = limit
        self._lease = _Lease()  # touched only on the event loop, between awaits
        self._taking_ahead: asyncio.Task[bool] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or not scope["path"].startswith("/v2/"):
            await self.app(scope, receive, send)
            return
        now = time.time()
        window_start = int(now) - int(now) % WINDOW_SECONDS
        cost = 2 if scope["method"] in WRITE_METHODS else 1
        used = await self._used(window_start, cost)
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

    async def _used(self, window_start: int, cost: int) -> int:
        """The window's count with this request in it: from tokens taken ahead, waiting for the
        write under way when they are gone, or counted alone near the limit."""
        while True:
            used = self._spend_lease(window_start, cost)
            if used is not None:
                if self._lease.unused < lease_extra(self.limit - self._lease.used()) // 4:
                    self._take_ahead(window_start, 0)
                return used
            if self._taking_ahead is None and not self._take_ahead(window_start, cost):
                return await self._count(window_start, cost)
            assert self._taking_ahead is not None
            if not await asyncio.shield(self._taking_ahead):
                return await self._count(window_start, cost)

    def _take_ahead(self, window_start: int, cost: int) -> bool:
        """Start the one write that takes `lease_extra` of what is left beyond the tokens held
        (and `cost`, for the request that found them gone); False when none are to be taken
        (near the limit) or a write is under way."""
        if self._taking_ahead is not None:
            return False
        self._lease.start(window_start)
        if self._wanted(cost) <= 0:
            return False
        self._taking_ahead = asyncio.get_running_loop().create_task(self._top_up(window_start, cost))
        return True

    def _wanted(self, cost: int) -> int:
        lease = self._lease
        extra = lease_extra(self.limit - lease.used() - cost)
        return 0 if extra == 0 else extra + cost - lease.unused

    async def _top_up(self, window_start: int, cost: int) -> bool:
        """True when tokens were added for `window_start`; the requests waiting then try again."""
        lease = self._lease
        try:
            wanted = self._wanted(cost)
            if wanted <= 0:
                return False
            total = await self.db.write(hit, ACCOUNT, window_start, wanted)
            if lease.window_start != window_start:  # the window turned meanwhile
                return False
            lease.shared_total = max(lease.shared_total, total)
            lease.unused += wanted
            if lease.used() > self.limit:
                lease.unused = 0  # over the limit: no request may pass on tokens taken now
            return True
        except Exception:  # the waiting requests count alone, and report the error if it lasts
            log.exception("tokens could not be taken ahead")
            return False
        finally:
            self._taking_ahead = None

    def _spend_lease(self, window_start: int, cost: int) -> int | None:
        """The window's count with this request in it, when tokens already taken cover it."""
        lease = self._lease
        if lease.window_start != window_start or lease.unused < cost:
            return None
        lease.unused -= cost
        return lease.used()

    async def _count(self, window_start: int, cost: int) -> int:
        """Add this request alone to the shared count."""
        lease = self._lease
        lease.start(window_start)
        total = await self.db.write(hit, ACCOUNT, window_start, cost)
        if lease.window_start != window_start:  # the window turned while this request counted
            return total
        lease.shared_total = max(lease.shared_total, total)
        used = lease.used()
        if used > self.limit:
            lease.unused = 0  # over the limit: no later request may pass on tokens taken now
        return used
