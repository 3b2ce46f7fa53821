"""A computed response is sent again while nothing it shows can have changed.

Help desks poll: every agent's screen and many integrations ask for the same first page of
conversations every few seconds, and at a million conversations computing it costs ~2 ms of CPU
(SQLite) to ~5 ms (PostgreSQL), which is where a two-core server stops at 400-1,000 req/s. The
same request asked again, when no change to data has been committed since and no time-derived
wording has turned over, has the same answer; this module keeps the rendered bytes and proves,
on every request, that they still hold.

The proof is a *data stamp* read from the database in the request's own connection:

- PostgreSQL: the epoch and row count of `data_changes`, where a statement trigger on every
  data table notes each transaction that writes (`tidings.db.change_log`). A later statement that
  counts as many rows sees the same ones: no data commit lies between. The rate limit's count,
  autovacuum's ANALYZE and other writes to no data table leave it alone (`pg_current_snapshot()`,
  used before, moved with all of them).
- SQLite: `PRAGMA data_version` changes on a connection when any other connection, of any
  process, commits. Each process watches the file through one connection of its own that never
  writes, so every commit (its own pool's too) shows there, and a difference moves one
  generation number per process; the stamp is that generation. (Read on each request's own
  connection, it needed that connection's `total_changes` as well, and each connection noticed a
  commit only when next used: one commit, or a connection opened under load, moved the
  generation once per pooled connection, and a report kept before a run was computed again 17-23
  times in its first second under 16 connections, 4 December.) The rate limit counts in a file
  of its own (`kit.ratelimit.count_database`), which the watcher does not see.

A request can be answered on the event loop, without a database thread: the stamp read there,
the caller its token stood for under that same stamp (`know_caller`: a revoked token or a
changed role or mailbox is a commit, and the token's expiry is kept with it), and a body kept
for that caller under that stamp (`auth.caller.known_caller_and_stamp`). On SQLite the watcher
answers in microseconds and never waits. On PostgreSQL each process keeps one connection of its
own for the stamp, read asynchronously (`_LoopReads`): a request that arrives while a read is
under way waits for the next one, which starts after it arrived, and every request waiting
shares it. A thread hop, a pooled connection and the token's lookup cost a reused page ~0.7 ms
of the server's CPU at 1M conversations (4 December).

A stamp is read before the answer is (on SQLite before the request's transaction reads
anything, so before its snapshot; a report's in the hop before the report's own, later,
transaction), so a kept answer is never older than its stamp claims: a commit that lands while
it is computed makes the next stamp differ and the answer is not used again. The answer a
request gets therefore reflects the database at a moment between its arrival and its
response, as a computed one does. Wording derived from the clock ("5 minutes ago", a snooze
that ends) is kept only until it would read differently (`valid_until`), and nothing is kept
longer than `MAX_SECONDS`, the life of an estimated text-search total.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeGuard

import psycopg
from sqlalchemy import Connection, Engine

from tidings.db import change_log
from tidings.kit import timefmt
from tidings.kit.db import Database
from tidings.kit.prepared import Together

log = logging.getLogger(__name__)

MAX_SECONDS = 60
# A page with embedded threads can be large: bodies above this are computed each time, and the
# kept ones together stay under MAX_TOTAL_BYTES (the least recently used go first).
MAX_BODY_BYTES = 1024 * 1024
MAX_TOTAL_BYTES = 32 * 1024 * 1024
# Tokens whose caller is remembered (kit/reuse.ResponseReuse.know_caller), the least recent
# forgotten first: one per agent's screen or integration polling the same process.
MAX_KNOWN_CALLERS = 4096
# PostgreSQL's stamp on the event loop: a read that takes longer than this gives up (the request
# asks the database on a thread, as without it), and after a failure none is tried for a while.
LOOP_READ_TIMEOUT_SECONDS = 1.0
LOOP_RETRY_SECONDS = 1.0


class DataStamp:
    """What the database's committed state is, as cheaply comparable as possible (see above)."""

    def __init__(self) -> None:
        self._generation = 0
        self._lock = threading.Lock()
        self._watcher: sqlite3.Connection | None = None
        self._version_seen: int | None = None
        self._loop_reads: _LoopReads | None = None

    def read(self, conn: Connection) -> Hashable:
        """The stamp alone (routes read it with the token's lookup: `read_in`)."""
        batch = Together(conn)
        found = self.read_in(batch)
        batch.run()
        return found()

    def read_in(self, batch: Together) -> Callable[[], Hashable]:
        """The stamp, read with the batch's other statements on PostgreSQL (one round trip for
        a request's token and stamp); on SQLite at once. Call the result once `batch.run()` has."""
        if batch.conn.dialect.name == "postgresql":
            pending = batch.add(change_log.STAMP)
            return lambda: tuple(pending.rows()[0])
        stamp = self._sqlite_generation(batch.conn)
        return lambda: stamp

    def close(self) -> None:
        with self._lock:
            if self._watcher is not None:
                self._watcher.close()
                self._watcher = None
        if self._loop_reads is not None:
            self._loop_reads.drop()
            self._loop_reads = None

    async def aclose(self) -> None:
        """`close`, on the event loop the stamp was read on: its connection is closed there."""
        if self._loop_reads is not None:
            await self._loop_reads.aclose()
        self.close()

    async def read_on_loop(self, db: Database) -> Hashable | None:
        """The stamp on the event loop, without a database thread: SQLite's watcher at once,
        PostgreSQL's through the process's own connection (see the module docstring). None when
        it cannot be read so (a database in memory, a lock on the watcher, a connection that
        failed): the request asks the database, as without it."""
        if db.dialect != "postgresql":
            return self.read_now(db.engine)
        loop = asyncio.get_running_loop()
        reads = self._loop_reads
        if reads is None or reads.loop is not loop:  # a connection belongs to its loop
            if reads is not None:
                reads.drop()
            reads = self._loop_reads = _LoopReads(db, loop)
        return await reads.read()

    def read_now(self, engine: Engine) -> Hashable | None:
        """The stamp without a database thread, for the event loop: SQLite's watcher answers in
        microseconds and never waits (None if a lock stands in its way, as during a WAL
        recovery); PostgreSQL's stamp needs a round trip, so None there too."""
        if engine.dialect.name != "sqlite" or not _watchable(engine.url.database):
            return None
        try:
            return self._watcher_generation(engine.url.database)
        except sqlite3.OperationalError:
            return None

    def _sqlite_generation(self, conn: Connection) -> Hashable:
        found = self.read_now(conn.engine)
        # No watcher (a database in memory) or none that could read: a stamp never seen again,
        # so this answer is not sent again.
        return object() if found is None else found

    def _watcher_generation(self, path: str) -> int:
        with self._lock:
            if self._watcher is None:
                self._watcher = sqlite3.connect(
                    path, timeout=0, check_same_thread=False, isolation_level=None
                )
            (version,) = self._watcher.execute("PRAGMA data_version").fetchone()
            if version != self._version_seen:
                self._version_seen = version
                self._generation += 1
            return self._generation


class _LoopReads:
    """PostgreSQL's data stamp read on the event loop, through one connection the process keeps
    for it (autocommit: each read sees every commit made before it started).

    Reads are shared rather than queued: a request that arrives while a read is under way waits
    for the next one, which starts once that read ends, so after the request arrived; every
    request that arrives meanwhile shares it. Under 16 connections the server then runs one
    statement per round trip rather than one per request, and no request waits behind more
    than two reads."""

    def __init__(self, db: Database, loop: asyncio.AbstractEventLoop) -> None:
        _, arguments = db.engine.dialect.create_connect_args(db.engine.url)
        arguments.pop("context", None)  # SQLAlchemy's type adapters: the stamp reads two integers
        self._arguments = arguments
        self._prepare_threshold = db.pg_prepare_threshold or None
        self._sql = change_log.stamp_sql()
        self.loop = loop
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._next: asyncio.Future[Hashable | None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._retry_at = 0.0

    async def read(self) -> Hashable | None:
        if time.monotonic() < self._retry_at:
            return None
        if self._next is None:
            self._next = self.loop.create_future()
            if self._reader is None:
                self._reader = self.loop.create_task(self._read_for_waiters())
        return await asyncio.shield(self._next)

    async def _read_for_waiters(self) -> None:
        try:
            while self._next is not None:
                waiting, self._next = self._next, None
                found = None
                try:
                    found = await self._read_once()
                finally:
                    waiting.set_result(found)
        finally:
            self._reader = None

    async def _read_once(self) -> Hashable | None:
        try:
            return await asyncio.wait_for(self._query(), LOOP_READ_TIMEOUT_SECONDS)
        except (psycopg.Error, OSError, TimeoutError) as error:
            log.warning("data stamp not read on the event loop (%s); asking on a thread", error)
            self.drop()
            self._retry_at = time.monotonic() + LOOP_RETRY_SECONDS
            return None

    async def _query(self) -> Hashable:
        if self._conn is None or self._conn.closed:
            self._conn = await psycopg.AsyncConnection.connect(
                **self._arguments, autocommit=True, prepare_threshold=self._prepare_threshold
            )
        cursor = await self._conn.execute(self._sql)
        row = await cursor.fetchone()
        assert row is not None  # data_change_epochs holds one row (tidings.db.change_log)
        return tuple(row)

    async def aclose(self) -> None:
        if self._reader is not None:
            await asyncio.wait([self._reader])
        if self._conn is not None:
            await self._conn.close()
            self._conn = None

    def drop(self) -> None:
        """Let the connection go without waiting (its loop may have ended)."""
        if self._conn is not None:
            self._conn.pgconn.finish()
            self._conn = None


def _watchable(path: str | None) -> TypeGuard[str]:
    return bool(path) and path != ":memory:" and not str(path).startswith("file:")


@dataclass(frozen=True)
class _KnownCaller:
    stamp: Hashable
    expires_at: datetime
    caller: Any


@dataclass(frozen=True)
class _Kept:
    stamp: Hashable
    valid_until: datetime
    body: bytes


class ResponseReuse:
    """Rendered responses by request key, each with the data stamp it was computed under."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.stamps = DataStamp()
        self._kept: OrderedDict[Hashable, _Kept] = OrderedDict()
        self._bytes = 0
        self._callers: OrderedDict[str, _KnownCaller] = OrderedDict()
        self._lock = threading.Lock()

    def know_caller(self, token: str, stamp: Hashable, caller: Any, expires_at: datetime) -> None:
        """Remember whom `token` stood for under `stamp`: while the stamp holds, no token was
        revoked and no role or mailbox changed, so a kept answer can be sent without asking the
        database again (only until the token expires)."""
        with self._lock:
            self._callers.pop(token, None)
            self._callers[token] = _KnownCaller(stamp, expires_at, caller)
            while len(self._callers) > MAX_KNOWN_CALLERS:
                self._callers.popitem(last=False)

    def known_caller(self, token: str, stamp: Hashable) -> Any | None:
        """The caller `token` stood for, if it was looked up under `stamp` and has not expired."""
        with self._lock:
            known = self._callers.get(token)
            if known is None or known.stamp != stamp or timefmt.now() >= known.expires_at:
                return None
            self._callers.move_to_end(token)
            return known.caller

    def get(self, key: Hashable, stamp: Hashable) -> bytes | None:
        """The body kept for `key`, if it was computed under `stamp` and still reads the same now."""
        with self._lock:
            kept = self._kept.get(key)
            if kept is None:
                return None
            if kept.stamp != stamp or timefmt.now() >= kept.valid_until:
                self._drop(key)
                return None
            self._kept.move_to_end(key)
            return kept.body

    def put(
        self, key: Hashable, stamp: Hashable, computed_at: datetime, valid_until: datetime | None, body: bytes
    ) -> None:
        """Keep `body`, computed under `stamp` at `computed_at` (the request's whole-second now),
        until `valid_until` (when wording derived from the clock changes; None: never)."""
        if len(body) > MAX_BODY_BYTES:
            return
        limit = computed_at + timedelta(seconds=MAX_SECONDS)
        kept = _Kept(stamp, limit if valid_until is None else min(valid_until, limit), body)
        with self._lock:
            if key in self._kept:
                self._drop(key)
            self._kept[key] = kept
            self._bytes += len(body)
            while len(self._kept) > self.max_entries or self._bytes > MAX_TOTAL_BYTES:
                self._drop(next(iter(self._kept)))

    def _drop(self, key: Hashable) -> None:
        self._bytes -= len(self._kept.pop(key).body)

    def __len__(self) -> int:
        return len(self._kept)
