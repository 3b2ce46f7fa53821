"""The data stamp moves with every commit, from any connection; kept bodies obey it and the clock."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable, Iterator
from datetime import UTC, datetime, timedelta
from itertools import count
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, insert, select, text

from tests.support.waiting import waited_for
from tidings.db.tables import tags
from tidings.kit import reuse as reuse_module
from tidings.kit import timefmt
from tidings.kit.db import Database, create_db_engine, normalise_url
from tidings.kit.reuse import MAX_BODY_BYTES, MAX_TOTAL_BYTES, DataStamp, ResponseReuse

# Every test here is about what a stamp read finds, none about its time limit.
pytestmark = pytest.mark.usefixtures("patient_loop_reads")

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    found = create_db_engine(normalise_url(db_url))
    yield found
    found.dispose()


_names = count()


def _new_tag() -> Any:
    name = f"tag-{next(_names)}"
    return insert(tags).values(name=name, slug=name, created_at=NOW, updated_at=NOW)


def _touch(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.execute(_new_tag())


def test_the_stamp_holds_while_nothing_is_committed(engine: Engine) -> None:
    stamps = DataStamp()
    with engine.connect() as conn:
        first = stamps.read(conn)
        conn.rollback()
        assert stamps.read(conn) == first


def test_a_commit_by_another_connection_moves_the_stamp(engine: Engine, db_url: str) -> None:
    stamps = DataStamp()
    other = create_db_engine(normalise_url(db_url))
    try:
        with engine.connect() as conn:
            before = stamps.read(conn)
            conn.rollback()
            _touch(other)
            assert stamps.read(conn) != before
    finally:
        other.dispose()


def test_a_commit_on_the_same_connection_moves_the_stamp(engine: Engine) -> None:
    """SQLite's data_version ignores a connection's own commits: read on the request's own
    connection it would miss them."""
    stamps = DataStamp()
    with engine.connect() as conn:
        before = stamps.read(conn)
        conn.rollback()
        conn.execute(_new_tag())
        conn.commit()
        assert stamps.read(conn) != before


def test_a_connection_seen_for_the_first_time_leaves_the_stamp_alone(engine: Engine, db_url: str) -> None:
    """A stamp says what is committed, whichever connection reads it: a pool growing under load
    must not make what was kept stale."""
    stamps = DataStamp()
    other = create_db_engine(normalise_url(db_url))
    try:
        with engine.connect() as conn:
            before = stamps.read(conn)
        with other.connect() as fresh:
            assert stamps.read(fresh) == before
    finally:
        other.dispose()


def test_one_commit_moves_the_stamp_once_whichever_connections_read_it(engine: Engine) -> None:
    """Every pooled connection sees the same commit: the second to read after it must not move
    the stamp again, or an answer computed after the commit would be thrown away."""
    stamps = DataStamp()
    with engine.connect() as first, engine.connect() as second:
        stamps.read(first)
        first.rollback()
        stamps.read(second)
        second.rollback()
        _touch(engine)
        after = stamps.read(first)
        first.rollback()
        assert stamps.read(second) == after
        second.rollback()
        assert stamps.read(first) == after


def test_a_database_in_memory_sends_nothing_again() -> None:
    """No other connection can watch it for commits, so no stamp is ever the same."""
    memory = create_db_engine("sqlite:///:memory:")
    try:
        stamps = DataStamp()
        with memory.connect() as conn:
            assert stamps.read(conn) != stamps.read(conn)
    finally:
        memory.dispose()


@pytest.fixture
def database(db_url: str) -> Iterator[Database]:
    found = Database(db_url)
    yield found
    found.dispose()


def test_the_stamp_on_the_event_loop_is_the_one_a_request_reads(database: Database) -> None:
    """SQLite's watcher and PostgreSQL's connection of its own give the stamp the request's
    connection would, and it moves with a commit."""
    stamps = DataStamp()

    async def on_loop() -> Hashable | None:
        return await stamps.read_on_loop(database)

    try:
        now = asyncio.run(on_loop())
        assert now is not None
        with database.engine.connect() as conn:
            assert stamps.read(conn) == now
        assert asyncio.run(on_loop()) == now  # another loop: PostgreSQL connects again
        _touch(database.engine)
        assert asyncio.run(on_loop()) != now
    finally:
        stamps.close()


def test_a_database_in_memory_has_no_stamp_on_the_event_loop() -> None:
    memory = Database("sqlite:///:memory:")
    try:
        assert asyncio.run(DataStamp().read_on_loop(memory)) is None
    finally:
        memory.dispose()


def test_a_server_that_cannot_be_reached_gives_no_stamp_on_the_event_loop() -> None:
    """The request then asks the database on a thread, where its own error, if any, is told."""
    unreachable = Database("postgresql+psycopg://postgres@127.0.0.1:1/tidings")
    stamps = DataStamp()

    async def twice() -> list[Hashable | None]:
        found = [await stamps.read_on_loop(unreachable)]
        found.append(await stamps.read_on_loop(unreachable))  # within the retry pause: not tried
        await stamps.aclose()
        return found

    try:
        assert asyncio.run(twice()) == [None, None]
    finally:
        unreachable.dispose()


_BACKENDS_WITH_PID = text("SELECT count(*) FROM pg_stat_activity WHERE pid = :pid")


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_lost_connection_gives_no_stamp_once_then_is_made_again(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server restart or a killed backend: the read that meets it gives None (the request asks
    on a thread), and after the pause a new connection reads the stamp again."""
    stamps = DataStamp()
    clock = [1000.0]
    # The retry pause's clock only: `time.monotonic` itself is the event loop's clock too, and
    # frozen it never ended the `asyncio.sleep` below (a hang whenever the killed backend was
    # still listed at the first look, as on a loaded machine).
    monkeypatch.setattr(reuse_module, "time", SimpleNamespace(monotonic=lambda: clock[0]))

    async def scenario() -> list[Hashable | None]:
        found = [await stamps.read_on_loop(database)]
        reads = stamps._loop_reads
        assert reads is not None and reads._conn is not None
        pid = reads._conn.info.backend_pid
        with database.engine.connect() as other:
            other.execute(select(func.pg_terminate_backend(pid)))
            other.commit()
            for _ in range(200):  # the backend ends a moment after the signal
                alive = other.execute(_BACKENDS_WITH_PID, {"pid": pid}).scalar_one()
                if alive == 0:
                    break
                other.commit()
                await asyncio.sleep(0.01)
        found.append(await stamps.read_on_loop(database))
        found.append(await stamps.read_on_loop(database))  # within the pause: not tried
        clock[0] += reuse_module.LOOP_RETRY_SECONDS
        found.append(await stamps.read_on_loop(database))
        await stamps.aclose()
        return found

    first, lost, paused, again = asyncio.run(scenario())
    assert first is not None and lost is None and paused is None
    assert again == first


class _HeldReads:
    """Each stamp read of PostgreSQL's loop connection runs for real, then waits for the test's
    word before answering, so the test can commit while a read is under way."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.started = 0
        self.answered = 0
        self.release = asyncio.Event()
        real = reuse_module._LoopReads._query
        held = self

        async def query(reads: Any) -> Hashable:
            held.started += 1
            found = await real(reads)
            held.answered += 1
            await held.release.wait()
            return found

        monkeypatch.setattr(reuse_module._LoopReads, "_query", query)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_request_waits_for_a_read_that_began_after_it_arrived(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A read under way when a request arrives may predate a commit the request's client has
    already seen acknowledged: the request waits for the next read, which sees it."""
    stamps = DataStamp()

    async def scenario() -> tuple[Hashable | None, Hashable | None]:
        held = _HeldReads(monkeypatch)
        earlier = asyncio.create_task(stamps.read_on_loop(database))
        assert await waited_for(lambda: held.answered > 0, 30), "the held read never came"
        await asyncio.to_thread(_touch, database.engine)
        later = asyncio.create_task(stamps.read_on_loop(database))
        await asyncio.sleep(0.05)
        held.release.set()
        found = await earlier, await later
        await stamps.aclose()
        return found

    before, after = asyncio.run(scenario())
    assert before is not None and after is not None
    assert after != before


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_requests_that_arrive_during_a_read_share_the_next_one(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sixteen requests waiting cost the server two statements, not sixteen."""
    stamps = DataStamp()

    async def scenario() -> tuple[int, set[Hashable | None]]:
        held = _HeldReads(monkeypatch)
        first = asyncio.create_task(stamps.read_on_loop(database))
        assert await waited_for(lambda: held.started > 0, 30), "the held read never came"
        rest = [asyncio.create_task(stamps.read_on_loop(database)) for _ in range(15)]
        await asyncio.sleep(0.01)
        held.release.set()
        found = await asyncio.gather(first, *rest)
        await stamps.aclose()
        return held.started, set(found)

    started, found = asyncio.run(scenario())
    assert started == 2
    assert len(found) == 1 and None not in found


def test_a_caller_is_known_only_under_its_stamp_until_its_token_expires(at_noon: list[datetime]) -> None:
    reuse = _reuse()
    reuse.know_caller("token", 1, "caller", NOW + timedelta(seconds=10))
    assert reuse.known_caller("token", 1) == "caller"
    assert reuse.known_caller("token", 2) is None
    assert reuse.known_caller("other", 1) is None
    at_noon[0] = NOW + timedelta(seconds=10)
    assert reuse.known_caller("token", 1) is None


def test_the_least_recently_asked_caller_is_forgotten_first(
    at_noon: list[datetime], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reuse_module, "MAX_KNOWN_CALLERS", 2)
    reuse = _reuse()
    later = NOW + timedelta(hours=1)
    reuse.know_caller("a", 1, "A", later)
    reuse.know_caller("b", 1, "B", later)
    assert reuse.known_caller("a", 1) == "A"
    reuse.know_caller("c", 1, "C", later)
    assert reuse.known_caller("b", 1) is None
    assert reuse.known_caller("a", 1) == "A"
    assert reuse.known_caller("c", 1) == "C"


def _reuse(entries: int = 2) -> ResponseReuse:
    return ResponseReuse(entries)


@pytest.fixture
def at_noon(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    clock = [NOW]
    monkeypatch.setattr(timefmt, "now", lambda: clock[0])
    return clock


def test_a_body_is_sent_again_only_under_its_own_stamp(at_noon: list[datetime]) -> None:
    reuse = _reuse()
    reuse.put("k", 1, NOW, None, b"body")
    assert reuse.get("k", 1) == b"body"
    assert reuse.get("k", 2) is None
    assert reuse.get("k", 1) is None  # dropped once found stale


def test_a_body_is_kept_until_its_wording_would_change(at_noon: list[datetime]) -> None:
    reuse = _reuse()
    reuse.put("k", 1, NOW, NOW + timedelta(seconds=5), b"body")
    at_noon[0] = NOW + timedelta(seconds=4)
    assert reuse.get("k", 1) == b"body"
    at_noon[0] = NOW + timedelta(seconds=5)
    assert reuse.get("k", 1) is None


def test_the_least_recently_used_body_goes_first(at_noon: list[datetime]) -> None:
    reuse = _reuse(entries=2)
    reuse.put("a", 1, NOW, None, b"a")
    reuse.put("b", 1, NOW, None, b"b")
    assert reuse.get("a", 1) == b"a"
    reuse.put("c", 1, NOW, None, b"c")
    assert reuse.get("b", 1) is None
    assert reuse.get("a", 1) == b"a"
    assert len(reuse) == 2


def test_a_very_large_body_is_not_kept(at_noon: list[datetime]) -> None:
    reuse = _reuse()
    reuse.put("k", 1, NOW, None, b"x" * (MAX_BODY_BYTES + 1))
    assert reuse.get("k", 1) is None


@given(
    waited=st.integers(min_value=-30, max_value=3 * 86400),
    later=st.integers(min_value=0, max_value=3 * 86400),
)
def test_friendly_wording_holds_until_the_instant_it_names(waited: int, later: int) -> None:
    value = NOW - timedelta(seconds=waited)
    changes = timefmt.friendly_changes_at(value, NOW)
    wording = timefmt.friendly(value, NOW)
    reference = NOW + timedelta(seconds=later)
    if changes is None or reference < changes:
        assert timefmt.friendly(value, reference) == wording
    if changes is not None:
        assert changes > NOW
        assert timefmt.friendly(value, changes) != wording


def test_kept_bodies_stay_within_their_byte_budget(at_noon: list[datetime]) -> None:
    reuse = _reuse(entries=1000)
    body = b"x" * MAX_BODY_BYTES
    fits = MAX_TOTAL_BYTES // MAX_BODY_BYTES
    for n in range(fits + 1):
        reuse.put(n, 1, NOW, None, body)
    assert len(reuse) == fits
    assert reuse.get(0, 1) is None
    assert reuse.get(fits, 1) == body
    reuse.put(fits, 1, NOW, None, b"small")  # replacing a body gives its bytes back
    reuse.put(fits + 1, 1, NOW, None, body)
    assert len(reuse) == fits
