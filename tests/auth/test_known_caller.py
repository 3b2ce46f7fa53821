"""A GET whose token the event loop knows under the data stamp skips the token's lookup, and
every change that could alter the answer (a revocation, a role, the mailboxes granted, the
token's expiry) is still seen at once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine, insert, update

from tests.support.api import Api
from tests.support.sql import statements, token_lookups
from tidings.auth.secrets import token_hash
from tidings.db.tables import tokens, user_mailboxes, users
from tidings.kit import timefmt
from tidings.kit.db import normalise_url


def _lookups(app: FastAPI, api: Api, path: str) -> tuple[int, int]:
    """The response's status and how many times it looked a token up."""
    with statements(app) as seen:
        status = api.get(path).status_code
    return status, token_lookups(seen)


def _elsewhere(db_url: str, statement: object) -> None:
    """Commit a change through another connection, as another process would."""
    other = create_engine(normalise_url(db_url))
    try:
        with other.begin() as conn:
            conn.execute(statement)  # type: ignore[call-overload]
    finally:
        other.dispose()


def test_a_known_reader_is_not_looked_up_again(api: Api, app: FastAPI) -> None:
    assert _lookups(app, api, "/v2/users/me") == (200, 1)
    assert _lookups(app, api, "/v2/users/me") == (200, 0)
    assert _lookups(app, api, "/v2/mailboxes") == (200, 0)


def test_a_write_looks_the_token_up(api: Api, app: FastAPI) -> None:
    api.get("/v2/users/me")
    with statements(app) as seen:
        created = api.post("/v2/mailboxes", {"name": "Known", "email": "known@example.com"})
    assert created.status_code == 201, created.text
    assert token_lookups(seen) == 1


def test_a_revoked_token_is_refused_at_once(api: Api, app: FastAPI, db_url: str) -> None:
    assert _lookups(app, api, "/v2/users/me") == (200, 1)
    revoke = update(tokens).where(tokens.c.token_hash == token_hash(api.token)).values(revoked=True)
    _elsewhere(db_url, revoke)
    assert _lookups(app, api, "/v2/users/me") == (401, 1)


def test_a_changed_role_is_seen_at_once(api: Api, app: FastAPI, db_url: str) -> None:
    admin_id = api.user(role="admin")
    admin = api.as_user(admin_id)
    assert _lookups(app, admin, "/v2/webhooks")[0] == 200
    assert _lookups(app, admin, "/v2/webhooks") == (200, 0)
    _elsewhere(db_url, update(users).where(users.c.id == admin_id).values(role="user"))
    assert _lookups(app, admin, "/v2/webhooks") == (403, 1)


def test_granted_mailboxes_are_seen_at_once(api: Api, app: FastAPI, db_url: str) -> None:
    first, second = api.mailbox(), api.mailbox()
    agent_id = api.user(mailbox_ids=[first])
    agent = api.as_user(agent_id)
    agent.get(f"/v2/mailboxes/{first}")
    hidden, lookups = _lookups(app, agent, f"/v2/mailboxes/{second}")
    assert (hidden, lookups) == (404, 0)
    _elsewhere(db_url, insert(user_mailboxes).values(user_id=agent_id, mailbox_id=second))
    assert _lookups(app, agent, f"/v2/mailboxes/{second}") == (200, 1)


def test_a_known_token_is_refused_once_it_expires(
    api: Api, app: FastAPI, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = timefmt.now()
    _elsewhere(
        db_url,
        update(tokens)
        .where(tokens.c.token_hash == token_hash(api.token))
        .values(expires_at=int((start + timedelta(seconds=30)).timestamp())),
    )
    monkeypatch.setattr(timefmt, "now", lambda: start + timedelta(seconds=29))
    assert _lookups(app, api, "/v2/users/me")[0] == 200
    assert _lookups(app, api, "/v2/users/me") == (200, 0)
    monkeypatch.setattr(timefmt, "now", lambda: start + timedelta(seconds=30))
    assert _lookups(app, api, "/v2/users/me")[0] == 401
