"""PostgreSQL parallel workers: off for the many small reads, back for a report's transaction."""

from __future__ import annotations

import anyio
import pytest
from sqlalchemy import Connection

from tidings.kit.db import Database


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
