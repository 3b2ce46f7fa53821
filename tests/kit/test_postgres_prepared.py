"""PostgreSQL server-side prepared statements follow TIDINGS_PG_PREPARE_THRESHOLD."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from tidings.conversations.listing import _simple_compiled
from tidings.db.tables import tags
from tidings.kit.config import Settings
from tidings.kit.db import Database
from tidings.kit.prepared import Prepared, any_id

TAGS_BY_ID = Prepared(select(tags.c.id).where(any_id(tags.c.id)))


def test_the_default_prepares_like_psycopg() -> None:
    assert Settings().pg_prepare_threshold == 5


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize(("threshold", "prepared"), [(0, False), (2, True)])
def test_postgres_prepares_repeated_statements_only_when_configured(
    db_url: str, threshold: int, prepared: bool
) -> None:
    db = Database(db_url, threads=1, pg_prepare_threshold=threshold)
    try:
        with db.engine.connect() as connection:
            for _ in range(4):
                TAGS_BY_ID.rows(connection, ids=[1, 2])
            count = connection.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar_one()
            assert (count > 0) is prepared
    finally:
        db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_statements_built_per_request_are_never_prepared(db_url: str) -> None:
    """They are planned for their own values: a generic plan made for a rare word (or tag)
    took seconds on a common one. Only the fixed statements are prepared (and may keep one)."""
    db = Database(db_url, threads=1, pg_prepare_threshold=1)
    try:
        with db.engine.connect() as connection:
            for name in ("espresso", "the", "refund", "the"):
                connection.execute(select(tags.c.id).where(tags.c.name == name)).all()
            connection.exec_driver_sql("SELECT 1").scalar_one()
            prepared = "SELECT statement FROM pg_prepared_statements"
            assert connection.exec_driver_sql(prepared).all() == []
            TAGS_BY_ID.rows(connection, ids=[1, 2])
            TAGS_BY_ID.rows(connection, ids=[3])
            statements = connection.exec_driver_sql(prepared).scalars().all()
            assert len(statements) == 1
            assert "tags.id" in statements[0]
    finally:
        db.dispose()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_plain_lists_first_page_is_prepared_with_its_values_and_later_pages_never(db_url: str) -> None:
    """A generic plan reads neither the offset nor the filter's values (a mailbox + status + tag
    page took 100-150 ms with one at 1M conversations, 1-2 ms planned for its values): page 1
    is prepared with every value written in, other pages are planned on each run."""
    db = Database(db_url, threads=1, pg_prepare_threshold=1)
    simple = _simple_compiled(
        "postgresql", None, "7", "closed", "billing", None, None, "published", "number", "asc"
    )
    assert simple.prepared is not None and simple.prepared.first_page is not None
    try:
        with db.engine.connect() as connection:
            for offset in (0, 0, 25, 25):
                assert simple.prepared.run(connection, offset) == (0, [])
            statements = (
                connection.exec_driver_sql("SELECT statement FROM pg_prepared_statements").scalars().all()
            )
    finally:
        db.dispose()
    pages = [s for s in statements if "ORDER BY conversations.number" in s]
    assert len(pages) == 1, statements
    assert "$" not in pages[0] and "'billing'" in pages[0] and "OFFSET 0" in pages[0]
