"""Secondary indexes dropped for a bulk load into empty tables and built once at the end.

Keeping an index in order row by row costs a B-tree descent per row, in random key order for
most of them; building it after the load sorts the keys once (with the other bulk-load changes,
a fresh load of a million conversations went from 555 s to 400 s on SQLite: bench/README.md).

Only plain secondary indexes are deferred: primary keys and unique indexes stay, so a load
still cannot write a duplicate. Each dropped index's own `CREATE INDEX` statement (from
`sqlite_master`, or PostgreSQL's own spelling from `pg_indexes`: the same index, partial and
expression ones included) is recorded in `deferred_indexes` in the transaction that drops it,
as are the statements that put back FTS5's merge setting; `restore` runs whatever is recorded.
The server start (`tidings migrate`/`serve`/`demo`) calls it, so a load killed half-way cannot
leave a database without its indexes.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence

from sqlalchemy import Connection, delete, insert, literal_column, select, text

from tidings.db.tables import deferred_indexes

SQLITE_SORT_THREADS = 4
POSTGRESQL_SORT_MEMORY = "256MB"

# In the order SQLite made them (a new schema row takes the next rowid), which `restore` keeps:
# among indexes its planner costs alike (without statistics, every index on `state` for
# `state = ?`) SQLite takes the one made last. Rebuilt by name, a fresh load of 1M
# conversations counted `attachments:true` through `ix_conversations_state_waiting`, every
# conversation's row read (851 ms), not its partial index (0017, made last by the migrations).
_SQLITE_INDEXES = text(
    "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = :table "
    "AND sql IS NOT NULL AND upper(sql) NOT LIKE 'CREATE UNIQUE%' ORDER BY rowid"
)
# Indexes behind a constraint (primary key, unique, exclusion) cannot be dropped on their own.
_POSTGRESQL_INDEXES = text(
    """SELECT i.indexname, i.indexdef FROM pg_indexes i
    WHERE i.schemaname = current_schema() AND i.tablename = :table
      AND i.indexdef NOT LIKE 'CREATE UNIQUE%'
      AND NOT EXISTS (SELECT 1 FROM pg_constraint c
                      WHERE c.conindid = format('%I.%I', i.schemaname, i.indexname)::regclass)
    ORDER BY i.indexname"""
)


def secondary_indexes(conn: Connection, table: str) -> list[tuple[str, str]]:
    """(name, CREATE INDEX statement) of each plain secondary index of `table`."""
    query = _SQLITE_INDEXES if conn.dialect.name == "sqlite" else _POSTGRESQL_INDEXES
    return [(name, ddl) for name, ddl in conn.execute(query, {"table": table})]


def defer(conn: Connection, tables: Sequence[str]) -> list[str]:
    """Drop the secondary indexes of `tables` in one transaction, recording how to rebuild them."""
    dropped: list[str] = []
    with conn.begin():
        for table in tables:
            for name, ddl in secondary_indexes(conn, table):
                record(conn, name, table, ddl)
                conn.exec_driver_sql(f'DROP INDEX "{name}"')
                dropped.append(name)
    return dropped


def record(conn: Connection, name: str, table: str, statement: str) -> None:
    """Remember a statement that `restore` must run, in the caller's transaction.

    Also for other settings a bulk load changes and must put back (the FTS5 merge setting).
    """
    conn.execute(insert(deferred_indexes).values(name=name, table_name=table, ddl=statement))


def restore(conn: Connection, names: Collection[str] | None = None) -> list[str]:
    """Run every recorded statement (or those of `names`) in the order recorded, one transaction
    each, and forget it.

    Returns the names it ran.
    """
    # As recorded (SQLite: in the order the indexes were made, see `_SQLITE_INDEXES`).
    recorded = literal_column("rowid") if conn.dialect.name == "sqlite" else deferred_indexes.c.name
    query = select(deferred_indexes.c.name, deferred_indexes.c.ddl).order_by(recorded)
    if names is not None:
        query = query.where(deferred_indexes.c.name.in_(list(names)))
    with conn.begin():
        pending = conn.execute(query).all()
    if not pending:
        return []
    with _sort_settings(conn):
        for name, ddl in pending:
            with conn.begin():
                conn.exec_driver_sql(ddl)
                conn.execute(delete(deferred_indexes).where(deferred_indexes.c.name == name))
    return [name for name, _ in pending]


@contextlib.contextmanager
def _sort_settings(conn: Connection) -> Iterator[None]:
    """More sort memory or threads for the rebuild, on this connection only and only meanwhile.

    SQLite sorts an index's keys on one thread unless `threads` allows helpers (measured on 5M
    threads: 4.8 s -> 3.1 s for one index); PostgreSQL's default `maintenance_work_mem` (64 MB)
    spills the sort of millions of keys to disk.
    """
    if conn.dialect.name == "sqlite":
        read, write, value = "PRAGMA threads", "PRAGMA threads = {}", str(SQLITE_SORT_THREADS)
    else:
        read, write = "SHOW maintenance_work_mem", "SET maintenance_work_mem = '{}'"
        value = POSTGRESQL_SORT_MEMORY
    saved = conn.exec_driver_sql(read).scalar()
    conn.exec_driver_sql(write.format(value))
    conn.commit()
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        conn.exec_driver_sql(write.format(saved))
        conn.commit()


@contextlib.contextmanager
def deferred(conn: Connection, tables: Sequence[str]) -> Iterator[list[str]]:
    """Run a bulk load with the secondary indexes of `tables` dropped, then rebuild them.

    The rebuild also runs when the load fails, so a failed load leaves what it committed indexed.
    """
    dropped = defer(conn, tables)
    try:
        yield dropped
    finally:
        if conn.in_transaction():
            conn.rollback()
        restore(conn)
