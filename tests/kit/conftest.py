"""A connection to a migrated database of each kind holding 30 tags, for the SQL helpers' tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection

from tidings.db.tables import tags
from tidings.kit.db import create_db_engine

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    engine = create_db_engine(db_url)
    with engine.connect() as connection, connection.begin():
        connection.execute(
            tags.insert(),
            [
                {"name": f"tag {n}", "slug": f"tag-{n}", "color": None, "created_at": NOW, "updated_at": NOW}
                for n in range(1, 31)
            ],
        )
        yield connection
    engine.dispose()
