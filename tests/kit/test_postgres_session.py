"""PostgreSQL session settings: parallel workers off for small reads, settings scoped to a block."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest
from sqlalchemy import Connection

from tidings.kit.db import Database, postgres_settings


def _workers(conn: Connection) -> str:
    return str(conn.exec_driver_sql("SHOW max_parallel_workers_per_gather").scalar_one())


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_reads_run_without_parallel_workers_and_reports_with_them(db_url: str) -> None:
    db = Database(db_url, threads=1)
    try:
        with db.engine.connect() as conn:
            server_default = conn.exec_driver_sql(
                "SELECT reset_val FROM pg_settings WHERE name = 'max_parallel_workers_per_gather'"
            ).scalar_one()
        assert server_default != "0"
        assert anyio.run(db.read, _workers) == "0"
        assert anyio.run(db.read_report, _workers) == server_default
        # SET LOCAL: the pooled connection's next read is back to none.
        assert anyio.run(db.read, _workers) == "0"
    finally:
        db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_settings_hold_for_the_block_then_come_back(db_url: str) -> None:
    db = Database(db_url, threads=1)
    try:

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
    finally:
        db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_none_stands_for_the_server_value(db_url: str) -> None:
    """A connection turns parallel workers off; a block can ask for the server's value back."""
    db = Database(db_url, threads=1)
    try:

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
    finally:
        db.dispose()


def test_postgres_settings_do_nothing_on_sqlite(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'plain.db'}", threads=1)
    try:

        def run(conn: Connection) -> int:
            with postgres_settings(conn, work_mem="48MB"):
                return int(conn.exec_driver_sql("SELECT 1").scalar_one())

        assert db.read_sync(run) == 1
    finally:
        db.dispose()
