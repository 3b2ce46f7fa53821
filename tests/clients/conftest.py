"""Fixtures for the third-party client tests: a real `tidings serve` process per test module and
database kind, and a plain-httpx seeder that writes test data through the server's own API.

The root `db_url` fixture is function-scoped, so a server started from it would restart for every
test. `server_db_url` below is its module-scoped twin, built from the same session helpers
(`sqlite_template`, `pg_server`): each module runs once against SQLite and once against
PostgreSQL, with one server process each.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import _drop_pg_database, _fresh_pg_database
from tests.support.pgserver import PgServer, free_port

APP_ID = "clients-app-id"
APP_SECRET = "clients-app-secret"
OWNER_EMAIL = "owner@clients.example"
START_DEADLINE_SECONDS = 30.0
STOP_TIMEOUT_SECONDS = 10.0
_seq = itertools.count(1)


def _tidings_executable() -> str:
    """The `tidings` script of the virtualenv running the tests."""
    beside_python = Path(sys.executable).parent / "tidings"
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which("tidings")
    if found is None:
        raise RuntimeError("the `tidings` command is not installed in this environment")
    return found


@dataclass
class TidingsServer:
    """A running `tidings serve` process and what a client needs to reach it."""

    base_url: str
    app_id: str
    app_secret: str
    owner_email: str
    log_path: Path
    process: subprocess.Popen[bytes] = field(repr=False)

    def log(self) -> str:
        """Everything the server wrote to stdout and stderr so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


def _wait_until_ready(server: TidingsServer) -> None:
    """Poll GET /v2/users/me until it answers 401 (up, migrated, auth wired) or fail with the log."""
    deadline = time.monotonic() + START_DEADLINE_SECONDS
    last = "no answer"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(
                f"tidings serve exited with {server.process.returncode} before answering:\n{server.log()}"
            )
        try:
            response = httpx.get(f"{server.base_url}/v2/users/me", timeout=2.0)
        except httpx.TransportError as exc:
            last = repr(exc)
        else:
            if response.status_code == 401:
                return
            last = f"{response.status_code} {response.text[:500]}"
        time.sleep(0.1)
    pytest.fail(
        f"tidings serve did not answer 401 within {START_DEADLINE_SECONDS} s (last: {last}):\n{server.log()}"
    )


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after a timeout; the process group is ours (start_new_session)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=STOP_TIMEOUT_SECONDS)
    # Granian's worker lives in the same process group: make sure none outlives its parent.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server_db_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path
) -> Iterator[str]:
    """A migrated, empty database of each kind, for one test module."""
    if request.param == "sqlite":
        target = tmp_path_factory.mktemp("clients-db") / "tidings.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite:///{target}"
        return
    server: PgServer = request.getfixturevalue("pg_server")
    name = _fresh_pg_database(server)
    yield server.database_url(name)
    _drop_pg_database(server, name)


@pytest.fixture(scope="module")
def tidings(server_db_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TidingsServer]:
    """A real `tidings serve` process on a free port, bootstrapped with a known app."""
    port = free_port()
    log_path = tmp_path_factory.mktemp("clients-server") / "server.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("TIDINGS_")}
    env.update(
        TIDINGS_BOOTSTRAP_APP_ID=APP_ID,
        TIDINGS_BOOTSTRAP_APP_SECRET=APP_SECRET,
        TIDINGS_BOOTSTRAP_EMAIL=OWNER_EMAIL,
    )
    command = [
        _tidings_executable(),
        "serve",
        "--database",
        server_db_url,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--rate-limit",
        "0",
    ]
    with log_path.open("wb") as log_file:
        process = subprocess.Popen(
            command, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = TidingsServer(f"http://127.0.0.1:{port}", APP_ID, APP_SECRET, OWNER_EMAIL, log_path, process)
    try:
        _wait_until_ready(server)
        yield server
    finally:
        _stop(process)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """Attach the server's log to the report of a failing client test."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    server = getattr(item, "funcargs", {}).get("tidings")
    if report.failed and isinstance(server, TidingsServer):
        report.sections.append(("tidings server log", server.log()[-20_000:] or "(empty)"))


class Seeder:
    """Writes test data through the server's own API with plain httpx, as the bootstrap owner."""

    def __init__(self, server: TidingsServer) -> None:
        self.server = server
        self.http = httpx.Client(base_url=server.base_url, timeout=30.0)
        token = self.http.post(
            "/v2/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": server.app_id,
                "client_secret": server.app_secret,
            },
        )
        assert token.status_code == 200, token.text
        self.http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"

    def close(self) -> None:
        self.http.close()

    def created_id(self, response: httpx.Response) -> int:
        """The `Resource-ID` of a 201 answer."""
        assert response.status_code == 201, f"{response.status_code} {response.text}"
        return int(response.headers["Resource-ID"])

    def get(self, path: str, **params: Any) -> dict[str, Any]:
        """GET a JSON document, asserting 200."""
        response = self.http.get(path, params=params)
        assert response.status_code == 200, f"{response.status_code} {response.text}"
        body: dict[str, Any] = response.json()
        return body

    def mailbox(self) -> int:
        n = next(_seq)
        return self.created_id(
            self.http.post("/v2/mailboxes", json={"name": f"Clients {n}", "email": f"clients{n}@example.com"})
        )

    def conversation(
        self,
        mailbox_id: int,
        subject: str,
        *,
        email: str | None = None,
        text: str = "Hello, I need help.",
        status: str = "active",
        tags: list[str] | None = None,
    ) -> int:
        """A conversation started by a customer thread; returns its id."""
        n = next(_seq)
        email = email or f"customer{n}@example.com"
        body: dict[str, Any] = {
            "subject": subject,
            "type": "email",
            "mailboxId": mailbox_id,
            "status": status,
            "customer": {"email": email, "firstName": "Cust", "lastName": f"Omer{n}"},
            "threads": [{"type": "customer", "customer": {"email": email}, "text": text}],
        }
        if tags:
            body["tags"] = tags
        return self.created_id(self.http.post("/v2/conversations", json=body))

    def tag_id(self, name: str) -> int:
        """The id of a tag, by name (walks every page of GET /v2/tags)."""
        page = 1
        while True:
            body = self.get("/v2/tags", page=page)
            for tag in body["_embedded"]["tags"]:
                if tag["name"] == name:
                    return int(tag["id"])
            if page >= body["page"]["totalPages"]:
                raise AssertionError(f"tag {name!r} not found")
            page += 1


@pytest.fixture(scope="module")
def seed(tidings: TidingsServer) -> Iterator[Seeder]:
    seeder = Seeder(tidings)
    yield seeder
    seeder.close()


@pytest.fixture
def mailbox_id(seed: Seeder) -> int:
    """A fresh mailbox per test, so tests of one module never see each other's conversations."""
    return seed.mailbox()
