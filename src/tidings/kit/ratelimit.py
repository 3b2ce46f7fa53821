"""The account-wide rate limit (behaviour §4): a fixed one-minute window counted in the
database, so that every worker process and every server on the same database shares it.

Writes count double, as on the service. Every response carries the remaining budget; a
request over it is answered 429 with the seconds until the window turns.
"""

from __future__ import annotations

import time

from sqlalchemy import Connection, delete
from sqlalchemy.dialects import postgresql, sqlite
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tidings.db.tables import rate_limit_windows
from tidings.kit.db import Database
from tidings.kit.errors import STATUS_MESSAGES, VND_ERROR, error_body

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WINDOW_SECONDS = 60
ACCOUNT = "account"


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


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, db: Database, limit: int) -> None:
        self.app = app
        self.db = db
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.limit <= 0 or not scope["path"].startswith("/v2/"):
            await self.app(scope, receive, send)
            return
        now = time.time()
        window_start = int(now) - int(now) % WINDOW_SECONDS
        cost = 2 if scope["method"] in WRITE_METHODS else 1
        used = await self.db.write(hit, ACCOUNT, window_start, cost)
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
