"""Migration 0008 rebuilds every search document as text: a database whose documents were
built from the HTML of its bodies (as revisions 0005-0007 built them) searches as text after it."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime

from sqlalchemy import Connection, Engine, select, text, update

from tidings.db import deferred_indexes
from tidings.db.migrate import upgrade
from tidings.db.tables import deferred_indexes as deferred_table
from tidings.db.tables import threads
from tidings.demo.generator import generate

NOW = datetime(2026, 11, 22, tzinfo=UTC)
HTML_BODY = "<p>Le caf&eacute; <span>est</span> pr&ecirc;t</p>"
OLD_GIN = "CREATE INDEX ix_conversation_search_document ON conversation_search USING gin (document)"
OLD = importlib.import_module("tidings.db.migrations.versions.0005_conversation_search")


def _matches(conn: Connection, word: str) -> int:
    if conn.dialect.name == "sqlite":
        query = "SELECT count(*) FROM conversation_search WHERE conversation_search MATCH :word"
    else:
        query = "SELECT count(*) FROM conversation_search WHERE document @@ to_tsquery('simple', :word)"
    return int(conn.execute(text(query), {"word": word}).scalar_one())


def _as_if_a_bulk_load_died(conn: Connection, dialect: str) -> None:
    """What a load killed half-way leaves: the text index dropped or its merge not done, recorded."""
    if dialect == "postgresql":
        conn.exec_driver_sql("DROP INDEX ix_conversation_search_document")
        deferred_indexes.record(conn, "ix_conversation_search_document", "conversation_search", OLD_GIN)
    else:
        optimize = "INSERT INTO conversation_search (conversation_search) VALUES ('optimize')"
        deferred_indexes.record(conn, "conversation_search optimize", "conversation_search", optimize)


def test_0008_rebuilds_documents_built_from_html(engine: Engine, dialect: str) -> None:
    generate(engine, conversations=30, seed=3, now=NOW, batch_size=10)
    with engine.begin() as conn:
        first_thread = conn.execute(select(threads.c.id).order_by(threads.c.id).limit(1)).scalar_one()
        conn.execute(update(threads).where(threads.c.id == first_thread).values(body=HTML_BODY))
        conn.exec_driver_sql("DELETE FROM conversation_search")
        old_rebuild = OLD.REBUILD_SQLITE if dialect == "sqlite" else OLD.REBUILD_POSTGRESQL
        conn.exec_driver_sql(old_rebuild + " FROM conversations c")
        conn.exec_driver_sql("UPDATE alembic_version SET version_num = '0007'")
        _as_if_a_bulk_load_died(conn, dialect)
        assert _matches(conn, "caf") == 1
        assert _matches(conn, "cafe") == 0
        documents_before = conn.exec_driver_sql("SELECT count(*) FROM conversation_search").scalar_one()
    upgrade(engine, "0008")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar_one() == "0008"
        assert _matches(conn, "caf") == 0
        assert _matches(conn, "cafe") == 1
        assert _matches(conn, "pret") == 1
        documents_after = conn.exec_driver_sql("SELECT count(*) FROM conversation_search").scalar_one()
        assert conn.execute(select(deferred_table.c.name)).scalars().all() == []
        if dialect == "postgresql":
            gin = "SELECT count(*) FROM pg_indexes WHERE indexname = 'ix_conversation_search_document'"
            assert conn.exec_driver_sql(gin).scalar_one() == 1
    assert documents_before == documents_after == 30
