"""PostgreSQL's log of data-changing transactions: every data table feeds it, the rate limit
does not, and pruning it never makes a later stamp look like an earlier one."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from itertools import count
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, Engine, func, insert, select

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tidings.app import create_app
from tidings.auth.service import bootstrap
from tidings.db import change_log
from tidings.db.tables import data_change_epochs, data_changes, tags
from tidings.kit import ratelimit
from tidings.kit.config import Settings
from tidings.kit.db import Database, create_db_engine, normalise_url
from tidings.kit.reuse import DataStamp

NOW = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC)
only_postgresql = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
_names = count()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    found = create_db_engine(normalise_url(db_url))
    yield found
    found.dispose()


def _stamp(engine: Engine) -> Any:
    with engine.connect() as conn:
        return DataStamp().read(conn)


def _add_tag(conn: Connection) -> None:
    name = f"tag-{next(_names)}"
    conn.execute(insert(tags).values(name=name, slug=name, created_at=NOW, updated_at=NOW))


def _commit_tags(engine: Engine, transactions: int) -> None:
    for _ in range(transactions):
        with engine.begin() as conn:
            _add_tag(conn)


def _logged(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(data_changes)).scalar_one())


@only_postgresql
def test_every_table_but_the_excluded_ones_has_the_trigger(engine: Engine) -> None:
    """A table added by a later migration without `change_log.trigger_on` fails here."""
    with engine.connect() as conn:
        every = set(
            conn.exec_driver_sql(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
            ).scalars()
        )
        triggered = set(
            conn.exec_driver_sql(
                "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE t.tgname = %s",
                (change_log.TRIGGER,),
            ).scalars()
        )
    assert "conversations" in triggered and "conversation_search" in triggered
    assert triggered == every - change_log.NOT_DATA
    assert change_log.NOT_DATA - {"alembic_version"} <= every


@only_postgresql
def test_a_statement_on_any_data_table_moves_the_stamp(engine: Engine) -> None:
    """Even one that changes no row: a statement trigger fires for the statement."""
    with engine.connect() as conn:
        tables = change_log.data_tables(conn)
    assert len(tables) > 20
    for table in tables:
        before = _stamp(engine)
        with engine.begin() as conn:
            conn.exec_driver_sql(f"DELETE FROM {table} WHERE false")
            conn.exec_driver_sql(f"UPDATE {table} SET {_first_column(conn, table)} = NULL WHERE false")
        assert _stamp(engine) != before, table


def _first_column(conn: Connection, table: str) -> str:
    return str(
        conn.exec_driver_sql(
            "SELECT column_name FROM information_schema.columns WHERE table_name = %s "
            "ORDER BY ordinal_position",
            (table,),
        )
        .scalars()
        .first()
    )


@only_postgresql
def test_one_transaction_is_one_row_however_many_statements(engine: Engine) -> None:
    before = _logged(engine)
    with engine.begin() as conn:
        for _ in range(5):
            _add_tag(conn)
    assert _logged(engine) == before + 1


@only_postgresql
def test_a_rolled_back_transaction_leaves_no_row(engine: Engine) -> None:
    before = _stamp(engine)
    with engine.connect() as conn:
        _add_tag(conn)
        conn.rollback()
    assert _stamp(engine) == before


def test_the_rate_limits_count_leaves_the_stamp_alone(engine: Engine, db_url: str) -> None:
    """On both databases: the count is a commit, and not a change to any answer."""
    db = Database(db_url, threads=1)
    counts = ratelimit.count_database(db)
    stamps = DataStamp()
    try:
        with engine.connect() as conn:
            before = stamps.read(conn)
            conn.rollback()
            for cost in (1, 1, 2):
                counts.write_sync(ratelimit.hit, ratelimit.ACCOUNT, 1_700_000_040, cost)
            assert stamps.read(conn) == before
            conn.rollback()
            _commit_tags(engine, 1)
            assert stamps.read(conn) != before
    finally:
        if counts is not db:
            counts.dispose()
        db.dispose()


@only_postgresql
def test_pruning_waits_for_enough_rows(engine: Engine) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM data_changes")
    _commit_tags(engine, change_log.PRUNE_AT - 1)
    before = _stamp(engine)
    with engine.begin() as conn:
        assert not change_log.prune(conn)
    assert _stamp(engine) == before
    assert _logged(engine) == change_log.PRUNE_AT - 1


@only_postgresql
def test_a_pruned_log_never_repeats_an_earlier_stamp(engine: Engine) -> None:
    """The count starts again from zero, and the epoch tells the two runs of counts apart."""
    with engine.begin() as conn:
        conn.exec_driver_sql("DELETE FROM data_changes")
    seen = [_stamp(engine)]
    for _ in range(change_log.PRUNE_AT):
        _commit_tags(engine, 1)
        seen.append(_stamp(engine))
    with engine.begin() as conn:
        assert change_log.prune(conn)
    assert _logged(engine) == 0
    for _ in range(3):
        seen.append(_stamp(engine))
        _commit_tags(engine, 1)
    seen.append(_stamp(engine))
    assert len(set(seen)) == len(seen)  # every read had a commit or the prune before it


@only_postgresql
def test_a_transaction_open_during_a_prune_still_moves_the_stamp(engine: Engine) -> None:
    _commit_tags(engine, change_log.PRUNE_AT)
    with engine.connect() as open_during:
        _add_tag(open_during)
        with engine.begin() as conn:
            assert change_log.prune(conn)
        after_prune = _stamp(engine)
        open_during.commit()
    assert _stamp(engine) != after_prune
    assert _logged(engine) == 1


@only_postgresql
def test_one_pruner_at_a_time(engine: Engine) -> None:
    _commit_tags(engine, change_log.PRUNE_AT)
    with engine.begin() as first, engine.begin() as second:
        assert change_log.prune(first)
        assert not change_log.prune(second)


@only_postgresql
def test_a_serving_app_prunes_the_log(
    settings: Settings, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(change_log, "PRUNE_EVERY_SECONDS", 0.05)
    monkeypatch.setattr(change_log, "PRUNE_AT", 1_000_000)
    with engine.connect() as conn:
        epoch = conn.execute(select(data_change_epochs.c.epoch)).scalar_one()
    app = create_app(settings)
    app.state.db.write_sync(bootstrap, settings)
    with TestClient(app) as client:
        api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
        for _ in range(3):
            api.mailbox()
        # Only now may the pruner act: had it pruned between the writes, the last write's row
        # would stay below the threshold and the log would never empty.
        monkeypatch.setattr(change_log, "PRUNE_AT", 3)
        deadline = time.monotonic() + 10
        while _logged(engine) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _logged(engine) == 0
    with engine.connect() as conn:
        assert conn.execute(select(data_change_epochs.c.epoch)).scalar_one() > epoch
