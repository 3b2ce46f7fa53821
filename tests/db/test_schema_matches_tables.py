"""The migrations and `tidings.db.tables` describe the same schema: code reads through the tables
module, the databases are built by the migrations, and a difference between them (a column, an
index renamed in one place only) would otherwise show only as a slow or failing query."""

from __future__ import annotations

import warnings

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tidings.db.migrate import upgrade
from tidings.db.tables import metadata
from tidings.kit.db import create_db_engine

# Indexes the migrations write per dialect in SQL that metadata does not describe: the GIN
# indexes of the search documents and of their subjects, a DESC sort index (PostgreSQL),
# expression indexes (which alembic cannot reflect on SQLite, so there they are not compared)
# and the indexes of the ids of a status (SQLite, 0027).
WRITTEN_BY_MIGRATIONS_ONLY = {
    "ix_conversations_active_ids",
    "ix_conversations_pending_ids",
    "ix_conversation_search_document",
    "ix_conversation_search_subject",
    "ix_conversations_state_waiting_desc",
    "ix_customer_emails_domain",
    "ix_customers_full_name_lower",
}


def _expected(difference: tuple) -> bool:  # type: ignore[type-arg]
    """FTS5's own tables and the words of its index (SQLite, migration 0024), and the indexes
    above, exist in the database only."""
    kind, thing = difference[0], difference[1]
    if kind == "remove_table":
        return bool(thing.name.startswith("conversation_search") or thing.name == "search_words")
    return kind == "remove_index" and thing.name in WRITTEN_BY_MIGRATIONS_ONLY


def test_migrated_schema_matches_the_tables_module(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        upgrade(engine)
        with engine.connect() as conn, warnings.catch_warnings():
            # Expression indexes cannot be reflected on SQLite; alembic says so and skips them.
            warnings.simplefilter("ignore")
            differences = compare_metadata(MigrationContext.configure(conn), metadata)
    finally:
        engine.dispose()
    assert [d for d in differences if not _expected(d)] == []
