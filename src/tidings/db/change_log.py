"""PostgreSQL: which transactions changed data, so that a kept answer's stamp (kit/reuse.py)
moves with data commits and with nothing else.

`pg_current_snapshot()` changes when any transaction that wrote ends, and the rate limit's count
is such a transaction: at the default limit every request writes it, so no kept answer was ever
sent again; far from the limit a process writes it about once per 100 requests, each time
staling every answer of every process. A statement trigger on every table except the rate
limit's (`NOT_DATA`) adds the writing transaction's id to `data_changes`, once per transaction,
and the stamp is the epoch and the number of rows, read in one statement. Within an epoch rows
are only added, and a transaction's row becomes visible together with its data, so a later
statement that counts as many rows sees the same rows: no data commit lies between. `prune`
deletes the rows and moves the epoch in one transaction; each server process tries every
`PRUNE_EVERY_SECONDS`, and only once `PRUNE_AT` rows have gathered (a prune stales every kept
answer once, as a commit does).

SQLite needs none of this: the main file's `data_version` does not see the rate limit, whose
counts live in a file of their own (`kit.ratelimit.count_database`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql

from tidings.db.tables import data_change_epochs, data_changes
from tidings.kit.db import Database
from tidings.kit.prepared import Prepared

log = logging.getLogger(__name__)

TRIGGER = "data_changed"
# Tables whose writes change no answer the API gives: the limiter's counts, this log itself,
# the webhook sender's bookkeeping and Alembic's version row.
NOT_DATA = frozenset(
    {"rate_limit_windows", "data_changes", "data_change_epochs", "webhook_deliveries", "alembic_version"}
)
PRUNE_AT = 100
PRUNE_EVERY_SECONDS = 5.0
_PRUNE_LOCK = 0x7469_6469_6E67  # pg_try_advisory_xact_lock key: one pruner at a time

FUNCTION = """CREATE FUNCTION note_data_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO data_changes (txid) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$"""


def trigger_on(table: str) -> str:
    """The statement trigger that notes a write to `table` (a migration adding a table adds it)."""
    return (
        f"CREATE TRIGGER {TRIGGER} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION note_data_change()"
    )


def data_tables(conn: Connection) -> list[str]:
    """Every table of the schema whose writes can change an answer."""
    names = conn.exec_driver_sql(
        "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename"
    ).scalars()
    return [name for name in names if name not in NOT_DATA]


def stamp_columns() -> tuple[ColumnElement[Any], ColumnElement[Any]]:
    """The stamp's two numbers as columns of any statement: read in that statement's snapshot."""
    return (
        select(data_change_epochs.c.epoch).scalar_subquery().label("stamp_epoch"),
        select(func.count()).select_from(data_changes).scalar_subquery().label("stamp_changes"),
    )


STAMP = Prepared(
    select(data_change_epochs.c.epoch, select(func.count()).select_from(data_changes).scalar_subquery())
)


def stamp_sql() -> str:
    """`STAMP` as PostgreSQL's text, for a connection SQLAlchemy does not hold (kit/reuse's own)."""
    return str(STAMP.statement.compile(dialect=postgresql.dialect()))


def prune(conn: Connection) -> bool:
    """Start a new epoch without the rows gathered so far, when there are `PRUNE_AT` of them and
    no other process is pruning. Run in a write transaction; True when it pruned."""
    if conn.dialect.name != "postgresql":
        return False
    if conn.execute(select(func.count()).select_from(data_changes)).scalar_one() < PRUNE_AT:
        return False
    if not conn.execute(select(func.pg_try_advisory_xact_lock(_PRUNE_LOCK))).scalar_one():
        return False
    conn.execute(delete(data_changes))
    conn.execute(update(data_change_epochs).values(epoch=data_change_epochs.c.epoch + 1))
    return True


@asynccontextmanager
async def pruned_while_serving(db: Database) -> AsyncIterator[None]:
    """While the block runs (a server process's life), try `prune` every PRUNE_EVERY_SECONDS."""
    if db.dialect != "postgresql":
        yield
        return

    async def keep_pruning() -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY_SECONDS)
            try:
                await db.write(prune)
            except Exception:  # a failed prune leaves the log longer; the next one tries again
                log.exception("pruning data_changes failed")

    task = asyncio.create_task(keep_pruning())
    try:
        yield
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
