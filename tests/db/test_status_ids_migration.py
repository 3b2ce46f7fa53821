"""Migration 0027 indexes the ids of the active and of the pending conversations on SQLite
(partial indexes, `search.compile.status_probe`); its downgrade drops them. PostgreSQL's
documents carry their status and get no such index."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from tests.db.test_migration_0012_reverts import _downgrade_to
from tidings.db.migrate import upgrade
from tidings.demo.generator import generate
from tidings.search.compile import STATUS_ID_INDEXES

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def _indexed_ids(engine: Engine) -> dict[str, list[int]]:
    """Each status index's ids, read through the index itself (SQLite)."""
    found = {}
    with engine.connect() as conn:
        for status, name in STATUS_ID_INDEXES.items():
            rows = conn.exec_driver_sql(
                f"SELECT id FROM conversations INDEXED BY {name} "
                f"WHERE state = 'published' AND status = '{status}' ORDER BY id"
            )
            found[status] = list(rows.scalars())
    return found


def _status_indexes(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index'").scalars()
        else:
            names = conn.exec_driver_sql("SELECT indexname FROM pg_indexes").scalars()
        return set(names) & set(STATUS_ID_INDEXES.values())


def test_0027_indexes_the_ids_of_the_active_and_pending_conversations(engine: Engine, dialect: str) -> None:
    upgrade(engine)
    if dialect == "postgresql":
        assert _status_indexes(engine) == set()
        return
    assert _status_indexes(engine) == set(STATUS_ID_INDEXES.values())
    generate(engine, conversations=40, seed=3, now=NOW, batch_size=10)
    with engine.connect() as conn:
        expected = {
            status: list(
                conn.exec_driver_sql(
                    "SELECT id FROM conversations WHERE state = 'published' AND status = ? ORDER BY id",
                    (status,),
                ).scalars()
            )
            for status in STATUS_ID_INDEXES
        }
    assert all(expected.values()), expected  # the demo has conversations of both statuses
    assert _indexed_ids(engine) == expected
    _downgrade_to(engine, "0026")
    assert _status_indexes(engine) == set()
    upgrade(engine)
    assert _indexed_ids(engine) == expected
