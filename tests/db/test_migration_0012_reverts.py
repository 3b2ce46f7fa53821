"""Migration 0012 (the tag activity rows) can be undone and done again: its downgrade drops what
its upgrade made (table, index, triggers and, on PostgreSQL, their functions, which a second
CREATE FUNCTION would otherwise refuse), leaves every other trigger, and the upgrade then runs
again to the tables module's schema."""

from __future__ import annotations

import warnings

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect

from tests.db.test_schema_matches_tables import _expected
from tidings.db import change_log
from tidings.db.migrate import alembic_config, upgrade
from tidings.db.tables import metadata
from tidings.kit.db import create_db_engine


def _downgrade_to(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)
        conn.commit()


def _triggers(engine: Engine) -> set[str]:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"
        return {name for (name,) in conn.exec_driver_sql(query)}


def test_migration_0012_reverts_and_reapplies(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade(engine)
        assert "conversation_tag_activity" in inspect(engine).get_table_names()
        with_it = _triggers(engine)
        _downgrade_to(engine, "0011")
        assert "conversation_tag_activity" not in inspect(engine).get_table_names()
        assert not {name for name in _triggers(engine) if name.startswith("conversation_tag_activity")}
        # Going back to 0011 also reverts 0015, whose change-log trigger is on every table, 0020,
        # whose triggers keep the counts per day, and 0023, whose trigger keeps the documents'
        # state and status (PostgreSQL).
        reverted_later = (change_log.TRIGGER, "conversation_day_counts", "conversation_search_listed")
        assert {
            name for name in with_it if not name.startswith(("conversation_tag_activity", *reverted_later))
        } == _triggers(engine)
        upgrade(engine)
        assert _triggers(engine) == with_it
        with engine.connect() as conn, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
        assert [d for d in differences if not _expected(d)] == []
    finally:
        engine.dispose()
