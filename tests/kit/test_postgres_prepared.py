"""PostgreSQL server-side prepared statements follow TIDINGS_PG_PREPARE_THRESHOLD."""

from __future__ import annotations

import pytest
from sqlalchemy import select

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
def test_prepared_statements_are_still_planned_for_their_values(db_url: str) -> None:
    """A generic plan made for a rare word (or tag) took seconds on a common one."""
    db = Database(db_url, threads=1, pg_prepare_threshold=5)
    try:
        with db.engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW plan_cache_mode").scalar_one() == "force_custom_plan"
    finally:
        db.dispose()
