"""The account-wide rate limit: headers, writes counting double, 429, reset, shared state."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, select
from starlette.types import Message, Receive, Scope, Send

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tests.support.asserts import vnd_error
from tidings.app import create_app
from tidings.auth.service import bootstrap
from tidings.db.tables import rate_limit_windows
from tidings.kit import ratelimit
from tidings.kit.config import Settings
from tidings.kit.db import Database
from tidings.kit.ratelimit import RateLimitMiddleware

# Five seconds into a minute: a window that does not turn during a test.
MID_WINDOW = 1_700_000_000.0 - 1_700_000_000 % 60 + 5


def _limiter_clock(monkeypatch: pytest.MonkeyPatch, now: Callable[[], float]) -> None:
    """The limiter's clock alone: `time.time` itself is every other caller's clock too."""
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=now))


def _client(settings: Settings, limit: int) -> TestClient:
    settings.rate_limit_per_minute = limit
    app = create_app(settings)
    app.state.db.write_sync(bootstrap, settings)
    return TestClient(app)


def test_headers_double_writes_429_and_reset(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [MID_WINDOW]
    _limiter_clock(monkeypatch, lambda: clock[0])
    with _client(settings, 6) as client:
        api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)  # a POST: costs 2
        first = api.get("/v2/users/me")
        assert first.headers["x-ratelimit-limit-minute"] == "6"
        assert first.headers["x-ratelimit-remaining-minute"] == "3"
        mailbox = api.post("/v2/mailboxes", {"name": "M", "email": "m@example.com"})  # costs 2
        assert mailbox.headers["x-ratelimit-remaining-minute"] == "1"
        assert api.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "0"
        throttled = api.get("/v2/users/me")
        vnd_error(throttled, 429)
        assert throttled.headers["retry-after"] == "55"
        assert throttled.headers["x-ratelimit-retry-after"] == "55"
        unauthenticated = client.get("/v2/users/me")
        assert unauthenticated.status_code == 429
        clock[0] += 60
        again = api.get("/v2/users/me")
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining-minute"] == "5"


def test_two_apps_on_one_database_share_the_count(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    # Mid-window, so that the minute cannot turn between the requests (it once did in CI).
    _limiter_clock(monkeypatch, lambda: MID_WINDOW)
    with _client(settings, 5) as one, _client(settings, 5) as two:
        api_one = Api.for_app(one, BOOT_APP_ID, BOOT_APP_SECRET)
        api_two = Api(two, api_one.token)
        assert api_one.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "2"
        assert api_two.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "1"
        assert api_one.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "0"
        vnd_error(api_two.get("/v2/users/me"), 429)


def test_zero_turns_it_off(settings: Settings) -> None:
    with _client(settings, 0) as client:
        response = client.get("/v2/users/me")
        assert "x-ratelimit-limit-minute" not in response.headers


async def _ok(scope: Scope, receive: Receive, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"{}"})


class _Counted:
    """A rate-limited trivial app on a real database, and the count writes it made."""

    def __init__(self, db: Database, limit: int) -> None:
        self.db = db
        self.writes = 0
        self.middleware = RateLimitMiddleware(_ok, db, limit)
        event.listen(db.engine, "before_cursor_execute", self._count_writes)

    def _count_writes(self, _conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO RATE_LIMIT_WINDOWS"):
            self.writes += 1

    async def get(self) -> tuple[int, int]:
        """One GET: its status and the remaining budget it was told."""
        started: dict[str, Any] = {}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                started.update(message)

        async def receive() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        scope = {"type": "http", "method": "GET", "path": "/v2/conversations", "headers": [], "state": {}}
        await self.middleware(scope, receive, send)
        headers = dict(started["headers"])
        return started["status"], int(headers[b"x-ratelimit-remaining-minute"])


def _database(settings: Settings) -> Database:
    return Database(settings.database_url, threads=2)


@pytest.fixture
def far_from_the_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Counted]:
    """A limit of a million, five seconds into a window that does not turn during the test."""
    _limiter_clock(monkeypatch, lambda: MID_WINDOW)
    db = _database(settings)
    try:
        yield _Counted(db, 1_000_000)
    finally:
        db.dispose()


def test_far_from_the_limit_a_process_counts_ahead(far_from_the_limit: _Counted) -> None:
    """A high limit does not cost a write per request, and each request still counts one."""
    limited = far_from_the_limit

    async def run() -> list[tuple[int, int]]:
        # Requests that never wait let a write taken ahead start only when the tokens are
        # gone; 240 leave more than a quarter of the third write's: none is under way at the end.
        return [await limited.get() for _ in range(240)]

    answers = anyio.run(run)
    assert [status for status, _ in answers] == [200] * 240
    assert [remaining for _, remaining in answers] == list(range(999_999, 999_759, -1))
    assert limited.writes == 3  # 1 + 99 tokens, then 99 twice
    shared = limited.db.read_sync(lambda conn: conn.execute(select(rate_limit_windows.c.hits)).scalar_one())
    assert shared == 298


def test_requests_that_find_the_tokens_gone_wait_for_one_write(far_from_the_limit: _Counted) -> None:
    """Fifty requests at once far from the limit: one write takes tokens for all of them (each
    used to write for itself), and each still counts once."""
    limited = far_from_the_limit

    async def run() -> list[tuple[int, int]]:
        return list(await asyncio.gather(*(limited.get() for _ in range(50))))

    answers = anyio.run(run)
    assert [status for status, _ in answers] == [200] * 50
    assert sorted(remaining for _, remaining in answers) == list(range(999_950, 1_000_000))
    assert limited.writes == 1


def test_tokens_are_taken_again_before_they_run_out(far_from_the_limit: _Counted) -> None:
    """Below a quarter of the tokens, the next write starts while requests go on spending the rest."""
    limited = far_from_the_limit

    async def run() -> list[int]:
        writes = []
        for _ in range(90):
            await limited.get()
            await asyncio.sleep(0.005)  # time for a write under way to land
            writes.append(limited.writes)
        return writes

    writes = anyio.run(run)
    # 1 + 99 tokens; 23 left after the 77th request, fewer than a quarter of 99: the next write
    assert writes[:76] == [1] * 76
    assert writes[76:] == [2] * 14
    assert limited.middleware._lease.unused > 0


def test_two_processes_counting_ahead_stop_exactly_at_the_limit(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tokens taken ahead run out before the last 2,000, so the 429 falls where one count would put it."""
    _limiter_clock(monkeypatch, lambda: MID_WINDOW)
    limit = 2_200
    db_one, db_two = _database(settings), _database(settings)
    try:
        one, two = _Counted(db_one, limit), _Counted(db_two, limit)

        async def run() -> list[int]:
            statuses = []
            for _ in range(limit // 2 + 5):
                statuses += [(await one.get())[0], (await two.get())[0]]
            return statuses

        statuses = anyio.run(run)
        assert statuses[:limit] == [200] * limit
        assert set(statuses[limit:]) == {429}
        assert one.writes + two.writes < limit
    finally:
        db_one.dispose()
        db_two.dispose()


def test_how_far_ahead_depends_on_what_is_left() -> None:
    left = (0, 399, 1_999, 2_000, 10_500, 10**9)
    assert [ratelimit.lease_extra(budget) for budget in left] == [0, 0, 0, 1, 9, 99]


def test_on_sqlite_the_count_lives_beside_the_database(settings: Settings, dialect: str) -> None:
    """So that counting moves neither the main file's data_version nor its writer's queue."""
    with _client(settings, 50) as client:
        Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET).get("/v2/users/me")
        app: Any = client.app
        main = app.state.db
        in_main = main.read_sync(lambda conn: conn.execute(select(rate_limit_windows.c.hits)).scalars().all())
        counts = ratelimit.count_database(main)
        try:
            counted = counts.read_sync(
                lambda conn: conn.execute(select(rate_limit_windows.c.hits)).scalar_one()
            )
        finally:
            if counts is not main:
                counts.dispose()
    assert counted == 3  # the token's POST (2) and the GET
    if dialect == "sqlite":
        assert counts.url.endswith(".db-ratelimit")
        assert in_main == []
    else:
        assert counts is main
        assert in_main == [3]
