"""Deferred indexes: a bulk load drops plain secondary indexes and gets every one of them back,
exactly as it was, also when the load fails or the process dies half-way (SQLite and PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select

from tests.support.indexes import index_definitions
from tidings.cli import prepare_database
from tidings.db import deferred_indexes
from tidings.db.tables import deferred_indexes as deferred_table
from tidings.db.tables import tags
from tidings.kit.config import Settings
from tidings.search import index as search_index

NOW = datetime(2026, 11, 22, tzinfo=UTC)
TABLES = ("conversations", "threads", "conversation_search", "users", "tags")


def _indexes(engine: Engine) -> dict[str, list[tuple[str, str]]]:
    return index_definitions(engine, TABLES)


def _pending(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(deferred_table)).scalar_one())


def test_secondary_indexes_are_the_plain_ones(engine: Engine, dialect: str) -> None:
    found = _indexes(engine)
    names = {table: {name for name, _ in pairs} for table, pairs in found.items()}
    assert "ix_conversations_state_created" in names["conversations"]
    assert "ix_threads_received" in names["threads"]  # partial
    assert "ix_conversations_state_subject" in names["conversations"]  # on lower(subject)
    # unique indexes keep a load from writing duplicates: never deferred
    assert "uq_users_email_lower" not in names["users"]
    assert all("UNIQUE" not in ddl.upper() for pairs in found.values() for _, ddl in pairs)
    if dialect == "postgresql":
        assert names["conversation_search"] == {
            "ix_conversation_search_document",
            "ix_conversation_search_subject",
        }


def test_defer_then_restore_gives_back_the_same_indexes(engine: Engine) -> None:
    before = _indexes(engine)
    with engine.connect() as conn:
        dropped = deferred_indexes.defer(conn, TABLES)
    assert sorted(dropped) == sorted(name for pairs in before.values() for name, _ in pairs)
    assert all(pairs == [] for pairs in _indexes(engine).values())
    assert _pending(engine) == len(dropped)
    with engine.connect() as conn:
        assert sorted(deferred_indexes.restore(conn)) == sorted(dropped)
    assert _indexes(engine) == before
    assert _pending(engine) == 0


def test_a_restored_partial_index_is_still_chosen_by_the_planner(engine: Engine, dialect: str) -> None:
    with engine.connect() as conn:
        deferred_indexes.defer(conn, ["threads"])
        deferred_indexes.restore(conn)
        query = (
            "SELECT created_at, conversation_id FROM threads WHERE created_at >= 5 "
            "AND type IN ('customer', 'chat', 'phone') AND state = 'published'"
        )
        if dialect == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {query}"))
    assert "ix_threads_received" in plan


def test_the_planners_ties_fall_as_before_a_load(engine: Engine, dialect: str) -> None:
    """SQLite takes, among indexes it costs alike, the one made last: rebuilt in another order
    (by name, as before), `attachments:true` was counted through another index on `state` than
    its partial index, every conversation's row read. The indexes come back in their order."""
    before = _indexes(engine)
    with engine.connect() as conn:
        deferred_indexes.defer(conn, ["conversations"])
        deferred_indexes.restore(conn)
        query = "SELECT count(*) FROM conversations WHERE state = 'published' AND has_attachments IS "
        if dialect == "sqlite":
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}1"))
        else:
            conn.exec_driver_sql("SET enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql(f"EXPLAIN {query}true"))
    assert "ix_conversations_attachments" in plan, plan
    assert _indexes(engine) == before  # in the same order (SQLite: the order they were made)


def test_a_failed_load_still_gets_its_indexes_and_keeps_what_it_committed(engine: Engine) -> None:
    before = _indexes(engine)
    with (
        engine.connect() as conn,
        pytest.raises(RuntimeError, match="load failed"),
        deferred_indexes.deferred(conn, TABLES),
    ):
        with conn.begin():
            conn.execute(insert(tags).values(name="kept", slug="kept", created_at=NOW, updated_at=NOW))
        conn.begin()
        conn.execute(insert(tags).values(name="gone", slug="gone", created_at=NOW, updated_at=NOW))
        raise RuntimeError("load failed")
    assert _indexes(engine) == before
    assert _pending(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(tags.c.name)).scalars().all() == ["kept"]


def test_the_server_start_rebuilds_what_an_interrupted_load_dropped(db_url: str, engine: Engine) -> None:
    before = _indexes(engine)
    with engine.connect() as conn:
        deferred_indexes.defer(conn, TABLES)  # and the process dies: nothing restores them
    assert _pending(engine) > 0
    prepare_database(Settings(database_url=db_url, rate_limit_per_minute=0))
    assert _indexes(engine) == before
    assert _pending(engine) == 0


def test_the_server_start_puts_back_the_text_index_merging_of_an_interrupted_load(
    db_url: str, engine: Engine, dialect: str
) -> None:
    dies_inside_a_load = (
        "import os\n"
        "from tidings.kit.db import create_db_engine\n"
        "from tidings.search import index\n"
        f"with create_db_engine({db_url!r}).connect() as conn, index.bulk_loading(conn):\n"
        "    os._exit(3)\n"
    )
    assert subprocess.run([sys.executable, "-c", dies_inside_a_load], check=False).returncode == 3
    if dialect == "sqlite":
        assert _automerge(engine) == 0
        assert _pending(engine) == 2
    else:
        assert _pending(engine) == 0  # PostgreSQL's GIN index is a deferred index instead
    prepare_database(Settings(database_url=db_url, rate_limit_per_minute=0))
    assert _pending(engine) == 0
    if dialect == "sqlite":
        assert _automerge(engine) == search_index.FTS5_DEFAULT_AUTOMERGE


def _automerge(engine: Engine) -> int:
    query = "SELECT v FROM conversation_search_config WHERE k = 'automerge'"
    with engine.connect() as conn:
        return int(conn.exec_driver_sql(query).scalar_one())
