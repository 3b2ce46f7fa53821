"""PostgreSQL session settings: parallel workers off for small reads, settings scoped to a block."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from sqlalchemy import Connection

from tidings.kit.db import Database, postgres_settings


def _workers(conn: Connection) -> str:
    return str(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar_one())


@pytest.fixture
def db(db_url: str) -> Iterator[Database]:
    """A PostgreSQL `Database` with one connection, so that consecutive reads share it."""
    database = Database(db_url, threads=1)
    yield database
    database.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_reads_run_without_parallel_workers_and_reports_with_them(db: Database) -> None:
    with db.engine.connect() as conn:
        server_default = conn.exec_driver_sql(
            "SELECT reset_val FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'"
        ).scalar_one()
    assert server_default != "0"
    assert anyio.run(db.read, _workers) == "0"
    assert anyio.run(db.read_report, _workers) == server_default
    # SET LOCAL: the pooled connection's next read is back to none.
    assert anyio.run(db.read, _workers) == "0"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_settings_hold_for_the_block_then_come_back(db: Database) -> None:
    def inside_and_after(conn: Connection) -> tuple[str, str, str]:
        before = str(conn.exec_driver_sql("SHOW work_mem").scalar_one())
        with postgres_settings(conn, work_mem="48MB", enable_seqscan="off"):
            inside = str(conn.exec_driver_sql("SHOW work_mem").scalar_one())
            assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "off"
        assert conn.exec_driver_sql("SHOW enable_seqscan").scalar_one() == "on"
        return before, inside, str(conn.exec_driver_sql("SHOW work_mem").scalar_one())

    before, inside, after = db.read_sync(inside_and_after)
    assert inside == "48MB"
    assert after == before != "48MB"


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_none_stands_for_the_server_value(db: Database) -> None:
    """A connection turns parallel workers off; a block can ask for the server's value back."""

    def inside_and_after(conn: Connection) -> tuple[str, str, str]:
        server = str(
            conn.exec_driver_sql(
                "SELECT reset_val FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'"
            ).scalar_one()
        )
        with postgres_settings(conn, max_parallel_workers_per_gather=None):
            inside = _workers(conn)
        return server, inside, _workers(conn)

    server, inside, after = db.read_sync(inside_and_after)
    assert (inside, after) == (server, "0")
    assert server != "0"


def test_postgres_settings_do_nothing_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'plain.db'}", threads=1)
    try:

        def run(conn: Connection) -> int:
            with postgres_settings(conn, work_mem="48MB"):
                return int(conn.exec_driver_sql("SELECT 1").scalar_one())

        assert db.read_sync(run) == 1
    finally:
        db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_read_runs_each_statement_in_its_own_transaction(db: Database) -> None:
    """No BEGIN and COMMIT around a read on PostgreSQL (two round trips): a statement's
    transaction starts with it, as `now()` shows, where one transaction would keep its start."""

    def second_statement_started_its_transaction(conn: Connection) -> bool:
        conn.exec_driver_sql("SELECT pg_sleep(0.02)")
        return bool(conn.exec_driver_sql("SELECT now() = statement_timestamp()").scalar_one())

    assert db.read_sync(second_statement_started_its_transaction) is True

    def in_one_transaction(conn: Connection) -> bool:
        return second_statement_started_its_transaction(conn)

    assert db.write_sync(in_one_transaction) is False


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_settings_in_a_read_get_a_transaction_of_their_own(db: Database) -> None:
    """Behind a pooler in transaction mode only a transaction stays on one server session: the
    block's statements share one (`now()` keeps its start), the read's others do not."""

    def same_transaction(conn: Connection) -> bool:
        conn.exec_driver_sql("SELECT pg_sleep(0.02)")
        return not conn.exec_driver_sql("SELECT now() = statement_timestamp()").scalar_one()

    def inside_and_after(conn: Connection) -> tuple[bool, bool]:
        with postgres_settings(conn, work_mem="48MB"):
            inside = same_transaction(conn)
        return inside, same_transaction(conn)

    assert db.read_sync(inside_and_after) == (True, False)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_settings_of_a_failed_read_do_not_reach_the_next_one(db: Database) -> None:
    """The block's transaction ends with it, failed or not, so the pooled connection's next
    read has its own settings."""

    def fails_inside(conn: Connection) -> None:
        with postgres_settings(conn, work_mem="48MB", enable_seqscan="off"):
            assert conn.exec_driver_sql("SHOW work_mem").scalar_one() == "48MB"
            raise LookupError("the block failed")

    with pytest.raises(LookupError):
        db.read_sync(fails_inside)

    def settings(conn: Connection) -> tuple[str, str]:
        return (
            str(conn.exec_driver_sql("SHOW work_mem").scalar_one()),
            str(conn.exec_driver_sql("SHOW enable_seqscan").scalar_one()),
        )

    work_mem, seqscan = db.read_sync(settings)
    assert work_mem != "48MB"
    assert seqscan == "on"
