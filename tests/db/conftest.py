"""An engine on the test's database (SQLite file or the suite's PostgreSQL), for the schema and
migration tests that work below the app."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import Engine

from tidings.kit.db import create_db_engine


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()
