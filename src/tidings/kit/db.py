"""Engines for SQLite and PostgreSQL, and the one way requests reach the database.

Repositories are plain synchronous SQLAlchemy Core functions taking a Connection. A request
runs them in one worker-thread hop (`Database.read` / `Database.write`), which measured faster
than an async driver on both databases and keeps the event loop free (see stack-notes §A.4).
SQLite gets WAL, foreign keys, a busy timeout and `BEGIN IMMEDIATE` for writes, so that two
writers queue on the lock instead of failing half-way with SQLITE_BUSY on upgrade.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    String,
    column,
    create_engine,
    event,
    func,
    literal,
    select,
    table,
    true,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.pool import NullPool
from sqlalchemy.sql.base import Executable
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import ClauseElement

P = ParamSpec("P")
T = TypeVar("T")

# How many SQLite virtual-machine steps pass between checks of a read's time limit (~1 ms).
SQLITE_PROGRESS_STEPS = 100_000
# The same for a read on the event loop under a budget of a few milliseconds (~0.2 ms).
SQLITE_BUDGET_STEPS = 20_000
# How many requests that overran their budget a process remembers, and for how long after
# `OVERRAN_TIMES` overruns in a row the same request is read through the hop at once, without
# spending the budget again.
OVERRAN_KEPT = 1024
OVERRAN_TIMES = 2
OVERRAN_SECONDS = 60.0
SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=10000",
    "PRAGMA temp_store=MEMORY",
    "PRAGMA cache_size=-65536",
    "PRAGMA mmap_size=1073741824",
)


def normalise_url(url: str) -> str:
    """Accept URLs as users write them and pick the driver ourselves."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+asyncpg"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    elif parsed.drivername in ("sqlite+aiosqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite")
    return parsed.render_as_string(hide_password=False)


def create_db_engine(
    url: str, pool_size: int = 8, pg_prepare_threshold: int = 0, pg_statement_timeout_ms: int = 0
) -> Engine:
    """An engine for the URL. `pg_prepare_threshold`: after how many runs of one statement a
    PostgreSQL connection prepares it server-side (psycopg's `prepare_threshold`); 0 never does,
    which PgBouncer before 1.21 needs in transaction mode. `pg_statement_timeout_ms`: how long
    a statement may run on PostgreSQL before it is stopped (0: no limit; the API's engine only,
    not the command line's loads and migrations)."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, poolclass=NullPool if ":memory:" in url else None)
        _configure_sqlite(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=False,
        connect_args={"prepare_threshold": pg_prepare_threshold or None},
    )
    _configure_postgres(engine, pg_statement_timeout_ms)
    return engine


# Every PostgreSQL connection's session (SETs rather than startup options, which connection
# poolers such as PgBouncer refuse); the benchmark replays statements under the same.
# JIT compiles a query whose estimated cost is high, which a LIMIT 25 over many text matches
# often is: at 1M conversations that added 100s of ms to a search, for no gain. Parallel
# workers suit a query that has the machine to itself. A list or search among many concurrent
# ones gains nothing from them and pays their start-up: at 1M conversations a rare-word page
# took 57 ms with two workers and 14 ms without. Reports, rare and heavy, get them back for
# their own transaction (`read_report`).
POSTGRES_SESSION = ("SET jit = off", "SET max_parallel_workers_per_gather = 0")


def _configure_postgres(engine: Engine, statement_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        with dbapi_conn.cursor() as cursor:
            for setting in POSTGRES_SESSION:
                cursor.execute(setting)
            if statement_timeout_ms:
                cursor.execute(f"SET statement_timeout = {int(statement_timeout_ms)}")
        dbapi_conn.commit()

    # Only the fixed statements of `kit.prepared` are prepared server-side (after
    # TIDINGS_PG_PREPARE_THRESHOLD runs), and PostgreSQL may then keep one generic plan for
    # them: their values are part of the statement or id lists. A statement built per request
    # (a text search, a tag filter) is never prepared, so it is always planned for its own
    # values: one generic plan made for a rare word took seconds on 'the'. Planning the fixed
    # ones on every run (force_custom_plan, as before) cost 0.6 ms of a 4.3 ms list page and
    # 1.3 ms of a 5.8 ms tag filter, on a 20k demo.
    @event.listens_for(engine, "do_execute")
    def _unprepared(cursor: Any, statement: str, parameters: Any, _context: Any) -> bool:
        cursor.execute(statement, parameters, prepare=False)
        return True

    @event.listens_for(engine, "do_execute_no_params")
    def _unprepared_no_params(cursor: Any, statement: str, _context: Any) -> bool:
        cursor.execute(statement, prepare=False)
        return True


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # We issue BEGIN ourselves: pysqlite's implicit transaction handling is a known trap.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(pragma)
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        # On the driver's connection: through `exec_driver_sql` this took ~50 µs of a list's ~2 ms.
        conn.connection.dbapi_connection.execute(f"BEGIN {mode}")  # type: ignore[union-attr]


@contextmanager
def postgres_settings(conn: Connection, **settings: str | None) -> Iterator[None]:
    """Run the block with these PostgreSQL settings, then put the previous values back.

    None stands for the server's own value, whatever this connection set at its start.
    The settings are local to a transaction (`set_config(..., true)`). A read runs without one
    (`Database.read_sync`), so there the block gets a transaction of its own: a session-wide
    setting could outlive the block, and behind a pooler in transaction mode (PgBouncer) each
    statement of a read may reach another server session. Inside a caller's transaction the
    previous values are put back after the block. Nothing happens on SQLite.
    """
    if conn.dialect.name != "postgresql":
        yield
        return
    raw: Any = conn.connection.dbapi_connection
    if raw.autocommit:
        with raw.transaction():
            _set_local(conn, dict(settings))
            yield
        return
    names = list(settings)
    previous = conn.execute(select(*(func.current_setting(literal(name, String)) for name in names))).one()
    _set_local(conn, dict(settings))
    try:
        yield
    finally:
        _set_local(conn, dict(zip(names, previous, strict=True)))


class _Explain(Executable, ClauseElement):
    """`EXPLAIN (FORMAT JSON)` of a statement, compiled and bound as the statement itself would be."""

    # Not cached: a cached compile would give its rows the statement's columns, not the plan's;
    # compiling costs a fraction of the 0.8 ms an EXPLAIN takes.
    inherit_cache = False

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement


@compiles(_Explain, "postgresql")
def _explain_postgresql(element: _Explain, compiler: SQLCompiler, **kw: Any) -> str:
    return "EXPLAIN (FORMAT JSON) " + compiler.process(element.statement, **kw)


def explained(query: Select[Any]) -> ClauseElement:
    """The statement `EXPLAIN (FORMAT JSON) <query>`, whose one value `rows_in_plan` reads."""
    return _Explain(query)


def rows_in_plan(plan: Any) -> int:
    """How many rows PostgreSQL's planner expects the explained query to return: its
    statistics, not a run."""
    return int(plan[0]["Plan"]["Plan Rows"])


_PG_SETTINGS = table("pg_settings", column("name", String), column("reset_val", String))


def _set_local(conn: Connection, settings: dict[str, str | None]) -> None:
    def value_of(name: str, value: str | None) -> ColumnElement[Any]:
        if value is not None:
            return literal(value, String)
        server_value = select(_PG_SETTINGS.c.reset_val).where(_PG_SETTINGS.c.name == name)
        return server_value.scalar_subquery()

    conn.execute(
        select(
            *(
                func.set_config(literal(name, String), value_of(name, value), true())
                for name, value in settings.items()
            )
        )
    )


def insert_or_existing(conn: Connection, insert: Callable[[], T], existing: Callable[[], T | None]) -> T:
    """Insert a row that has a unique key, or take the row a concurrent transaction just made.

    On PostgreSQL two transactions can both miss the row and both insert it; the second waits
    for the first and fails on the unique index. The insert runs in a savepoint, so that
    failure rolls back only the insert, and the committed row is then read instead.
    """
    try:
        with conn.begin_nested():
            return insert()
    except IntegrityError:
        found = existing()
        if found is None:
            raise
        return found


_OVERRAN = object()


class Database:
    """The engine plus the thread hop every request uses to reach it."""

    def __init__(
        self,
        url: str,
        threads: int = 8,
        pg_prepare_threshold: int = 0,
        statement_timeout_seconds: float = 0,
        loop_budget_seconds: float = 0,
    ) -> None:
        self.url = normalise_url(url)
        self.pg_prepare_threshold = pg_prepare_threshold
        self.engine = create_db_engine(
            self.url,
            pool_size=threads,
            pg_prepare_threshold=pg_prepare_threshold,
            pg_statement_timeout_ms=round(statement_timeout_seconds * 1000),
        )
        self.dialect = self.engine.dialect.name
        self.statement_timeout_seconds = statement_timeout_seconds
        self.loop_budget_seconds = loop_budget_seconds
        # Requests whose reads overran their budget on the loop lately: key -> (times in a
        # row, until when they take the hop at once).
        self._overran: OrderedDict[Hashable, tuple[int, float]] = OrderedDict()
        # The event loop's own executor: a hop costs ~90 µs against ~145 µs through anyio's
        # to_thread (capacity limiter, cancel scope). A request cancelled mid-way still does not
        # stop its thread: the transaction commits or rolls back whole.
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="tidings-db")

    def read_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` to read. On PostgreSQL without a transaction of its own: under READ COMMITTED
        every statement takes its own snapshot inside a transaction too, so BEGIN and COMMIT
        only cost two round trips (three statements on loopback: 1.0-1.45 -> 0.68-0.89 ms).
        SQLite's BEGIN costs no round trip and gives the read one snapshot."""
        if self.dialect == "postgresql":
            with self.engine.connect() as conn:
                return fn(conn.execution_options(isolation_level="AUTOCOMMIT"), *args)
        with self.engine.connect() as conn, conn.begin(), self._sqlite_limits(conn):
            return fn(conn, *args)

    @contextmanager
    def _sqlite_limits(self, conn: Connection, budget_seconds: float = 0) -> Iterator[Callable[[], bool]]:
        """SQLite: a read that runs past `statement_timeout_seconds` (all its statements
        together) is interrupted, as PostgreSQL stops a statement (kit.errors answers 503).
        SQLite calls the check every `SQLITE_PROGRESS_STEPS` virtual-machine steps, about a
        millisecond of work, so a page of a list never reaches it. With `budget_seconds` the
        read is also interrupted once it has used that much of this thread's CPU, checked every
        `SQLITE_BUDGET_STEPS`: what this yields tells whether the budget stopped it."""
        if self.dialect != "sqlite" or not (self.statement_timeout_seconds or budget_seconds):
            yield lambda: False
            return
        raw: Any = conn.connection.dbapi_connection
        deadline = (
            time.monotonic() + self.statement_timeout_seconds if self.statement_timeout_seconds else math.inf
        )
        budget_end = time.thread_time() + budget_seconds if budget_seconds else math.inf
        overran = False

        def stop() -> bool:
            nonlocal overran
            if time.monotonic() > deadline:
                return True
            overran = budget_seconds > 0 and time.thread_time() > budget_end
            return overran

        raw.set_progress_handler(stop, SQLITE_BUDGET_STEPS if budget_seconds else SQLITE_PROGRESS_STEPS)
        try:
            yield lambda: overran
        finally:
            raw.set_progress_handler(None, 0)

    def write_sync(self, fn: Callable[..., T], *args: Any) -> T:
        """Run `fn` in one write transaction: all of it is committed, or none of it."""
        with self.engine.connect() as conn:
            conn.execution_options(sqlite_begin="IMMEDIATE")
            with conn.begin():
                return fn(conn, *args)

    async def _hop(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, *args)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._hop(self.read_sync, fn, *args)

    async def read_bounded(self, fn: Callable[..., T], *args: Any) -> T:
        """A read whose cost the caller bounds (a page of a plain list): on SQLite, on the event
        loop's own thread. SQLite works inside this process, and for such a read the hop cost
        more than it saved: under load the loop and the database threads took turns holding the
        GIL (1M conversations, wrk against two workers, alternating with the hop: the largest
        folder's p99 24-36 -> 17.5-27 ms, page 1's 20.5-23 -> 16-19 ms, req/s within the noise).
        A read nobody bounds takes the hop, so that it
        never holds the loop: with every read on the loop, one client asking for reports raised
        the list's p99 beside it from 30 to 145-160 ms. PostgreSQL's reads wait on the network
        and always take the hop."""
        if self.dialect == "sqlite":
            return self.read_sync(fn, *args)
        return await self.read(fn, *args)

    async def read_budgeted(self, key: Hashable, fn: Callable[..., T], *args: Any) -> T:
        """A read nobody bounds (a text search, a deep page): on SQLite it is tried on the event
        loop first, and interrupted when it runs past `loop_budget_seconds`; then it is read
        again through the hop. Most searches take a millisecond or two, of which the hop was
        0.2-0.4 ms (1M conversations, in process); a heavy one holds the loop no longer than
        the budget. A request (`key`) that keeps overrunning goes to the hop at once for a
        while, a second after its second overrun in a row and twice as long after each next
        one (up to `OVERRAN_SECONDS`), so that a search whose first reads were slow only
        because the process was new, or because they counted its total, is soon tried again.
        `fn` must only read: the first try is rolled back and may run twice."""
        if self.dialect != "sqlite" or not self.loop_budget_seconds or self._overran_lately(key):
            return await self.read(fn, *args)
        read = self._read_within_budget(fn, *args)
        if read is not _OVERRAN:
            self._overran.pop(key, None)
            return read  # type: ignore[return-value]
        self._remember_overrun(key)
        return await self.read(fn, *args)

    def _remember_overrun(self, key: Hashable) -> None:
        times, _ = self._overran.pop(key, (0, 0.0))
        times += 1
        hop_for = min(2.0 ** (times - OVERRAN_TIMES), OVERRAN_SECONDS) if times >= OVERRAN_TIMES else 0.0
        self._overran[key] = (times, time.monotonic() + hop_for)
        if len(self._overran) > OVERRAN_KEPT:
            self._overran.popitem(last=False)

    def _overran_lately(self, key: Hashable) -> bool:
        _, hop_until = self._overran.get(key, (0, 0.0))
        return time.monotonic() < hop_until

    def _read_within_budget(self, fn: Callable[..., T], *args: Any) -> T | object:
        """`fn` read on this thread, or `_OVERRAN` when it ran past the budget (SQLite's
        progress handler interrupts it; its transaction is rolled back). The budget counts this
        thread's CPU time, not the clock's: under load a cheap read also waits for a core and
        for the GIL, which says nothing of what it costs. The time limit still applies, and
        comes first when it is the shorter."""
        with self.engine.connect() as conn, self._sqlite_limits(conn, self.loop_budget_seconds) as overran:
            try:
                with conn.begin():
                    return fn(conn, *args)
            except Exception:
                if overran():
                    return _OVERRAN
                raise

    async def read_report(self, fn: Callable[..., T], *args: Any) -> T:
        """A read that aggregates many rows: on PostgreSQL it may use parallel workers."""
        return await self._hop(self._report_sync, fn, *args)

    def _report_sync(self, fn: Callable[..., T], *args: Any) -> T:
        with self.engine.connect() as conn, conn.begin(), self._sqlite_limits(conn):
            if self.dialect == "postgresql":
                # The server's own value, for this transaction only: nothing to read or put
                # back (`postgres_settings` read pg_settings and restored the value, three
                # round trips and ~0.6 ms of the server per drilldown).
                conn.exec_driver_sql("SET LOCAL max_parallel_workers_per_gather TO DEFAULT")
            return fn(conn, *args)

    async def write(self, fn: Callable[..., T], *args: Any) -> T:
        return await self._hop(self.write_sync, fn, *args)

    def dispose(self) -> None:
        self._threads.shutdown(wait=True)
        self.engine.dispose()
