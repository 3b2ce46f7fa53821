"""Fixtures shared by every domain's tests: a real database per test (SQLite file or
PostgreSQL database cloned from a migrated template), the real ASGI app and an API client.

Every test that uses `db_url` (directly or through `app`/`client`/`api`) runs once on SQLite
and once on PostgreSQL. The PostgreSQL cluster is started once per test process from the
installed server binaries.
"""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.pgserver import PgServer
from tidings.app import create_app
from tidings.auth.service import bootstrap
from tidings.db.migrate import upgrade
from tidings.kit import reuse as reuse_module
from tidings.kit.config import Settings
from tidings.kit.db import create_db_engine

# Tests build their settings explicitly; configuration from the caller's environment must not leak in.
for _name in [
    n
    for n in os.environ
    if n.startswith("TIDINGS_")
    and n not in ("TIDINGS_FUZZ_EXAMPLES", "TIDINGS_FUZZ_COUNT_FILE", "TIDINGS_PG_BINDIR")
]:
    del os.environ[_name]

BOOT_APP_ID = "test-app-id"
BOOT_APP_SECRET = "test-app-secret"
BOOT_EMAIL = "owner@example.com"
_counter = itertools.count()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = create_db_engine(f"sqlite:///{path}")
    upgrade(engine)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    server = PgServer().start()
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute("CREATE DATABASE tidings_template")
    engine = create_db_engine(server.database_url("tidings_template"))
    upgrade(engine)
    engine.dispose()
    yield server
    server.stop()


def _fresh_pg_database(server: PgServer) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    name = f"t_{worker}_{next(_counter)}"
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE tidings_template')
    return name


def _drop_pg_database(server: PgServer, name: str) -> None:
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path) -> Iterator[str]:
    """A migrated, empty database of each kind."""
    if request.param == "sqlite":
        target = tmp_path / "tidings.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = _fresh_pg_database(server)
    yield server.database_url(name)
    _drop_pg_database(server, name)


@pytest.fixture
def dialect(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgresql"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(
        database_url=db_url,
        rate_limit_per_minute=0,
        bootstrap_app_id=BOOT_APP_ID,
        bootstrap_app_secret=BOOT_APP_SECRET,
        bootstrap_email=BOOT_EMAIL,
        # Tests send webhook deliveries when they choose (`app.state.webhook_sender.send_due`);
        # tests/webhooks/test_sender.py runs the background loop itself.
        webhook_poll_seconds=0,
    )


@pytest.fixture
def app(settings: Settings):  # type: ignore[no-untyped-def]
    application = create_app(settings)
    application.state.db.write_sync(bootstrap, settings)
    return application


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def api(client: TestClient) -> Api:
    """A client authenticated as the bootstrap owner, with factories for test data."""
    return Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)


@pytest.fixture
def answers_computed(app, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """Every request computed, none answered again from a kept answer (kit/reuse.py): for tests
    that ask one request more than once to see how each is computed, or of two code paths (a
    setting patched in between) to compare their answers, which a kept answer would make equal."""
    monkeypatch.setattr(app.state, "reuse", None)


@pytest.fixture
def patient_loop_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    """A stamp read on the event loop gives up after 1 s (the request then asks on a thread, and
    a request without a stamp shares no computation under way): on a loaded machine opening
    PostgreSQL's connection for a test's own event loop, or a held read and the test's commit,
    can take that long. For tests about what a read finds and who shares it, not its limit."""
    monkeypatch.setattr(reuse_module, "LOOP_READ_TIMEOUT_SECONDS", 60.0)
