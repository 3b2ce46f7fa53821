"""Schemathesis over /openapi.json: every operation, with an authorised token, against the real
app on a seeded database: no 5xx, responses that match the document, vnd.error on every 4xx.

CI runs a few examples per operation (TIDINGS_FUZZ_EXAMPLES, default 8); `make fuzz` runs the
same test with enough examples for more than 10,000 cases. (Schemathesis' own pytest fixture
integration does not work with pytest 9, so each operation's strategy is driven here.)

Every default check runs except "schema-valid requests are accepted": the document states types,
enums, lengths and patterns, but not the rules a schema cannot say (an id must exist, a snooze
must be in the future, `refresh_token` is needed for that grant only), and those answer a
vnd.error 400 or 404 by design, which `_vnd_errors` checks.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tidings.app import create_app
from tidings.kit.config import Settings

EXAMPLES = int(os.environ.get("TIDINGS_FUZZ_EXAMPLES", "8"))
COUNT_FILE = os.environ.get("TIDINGS_FUZZ_COUNT_FILE")  # `make fuzz` sums the cases run


def _operations() -> list[tuple[str, str]]:
    """The document's operations, read once at collection (the document needs no database)."""
    app = create_app(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/collect.db"))
    document = app.openapi()
    app.state.db.dispose()
    return [(method.upper(), path) for path, ops in document["paths"].items() for method in ops]


OPERATIONS = _operations()


def _vnd_errors(response: Any) -> None:
    if response.status_code >= 400:
        values = response.headers.get("content-type") or [""]
        content_type = values[0] if isinstance(values, list) else values
        assert content_type.startswith("application/vnd.error+json"), (response.status_code, content_type)
        body = response.json()
        assert body.get("logRef") and body.get("message"), body


@pytest.fixture
def seeded(app, client: TestClient) -> tuple[Any, str]:  # type: ignore[no-untyped-def]
    api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
    mailbox = api.mailbox()
    api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": "Plan", "type": "number"})
    for n in range(3):
        cid = api.conversation(mailbox, tags=["fuzz"])
        api.post(f"/v2/conversations/{cid}/notes", {"text": f"note {n}"})
    return schemathesis.openapi.from_asgi("/openapi.json", app), api.token


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation(seeded: tuple[Any, str], method: str, path: str) -> None:
    schema, token = seeded
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {token}"}
    calls = 0

    @given(case=operation.as_strategy())
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    def run(case: Any) -> None:
        nonlocal calls
        calls += 1
        response = case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])
        _vnd_errors(response)

    run()
    if COUNT_FILE:
        with open(COUNT_FILE, "a") as counts:
            counts.write(f"{calls}\n")
