"""GET /v2/conversations sends a kept answer again only while nothing it shows has changed."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, update

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tests.support.sql import statements, token_lookups
from tidings.app import create_app
from tidings.auth.secrets import token_hash
from tidings.auth.service import bootstrap
from tidings.db.tables import conversations, tokens
from tidings.kit import timefmt
from tidings.kit.config import Settings
from tidings.kit.db import normalise_url


class Clock:
    """`timefmt.now` for the whole app, moved by the test."""

    def __init__(self, start: datetime) -> None:
        self.value = start

    def __call__(self) -> datetime:
        return self.value

    def advance(self, seconds: int) -> None:
        self.value += timedelta(seconds=seconds)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    found = Clock(timefmt.now())
    monkeypatch.setattr(timefmt, "now", found)
    return found


def _listed(api: Api, app: FastAPI, path: str = "/v2/conversations", **headers: str) -> tuple[dict, bool]:
    """The list's document, and whether it was read from the database (not sent again)."""
    with statements(app) as seen:
        response = api.get(path, headers=headers or None)
    assert response.status_code == 200, response.text
    read = any("FROM conversations" in " ".join(s.split()) for s in seen)
    return response.json(), read


def _subjects(document: dict) -> list[str]:
    return [c["subject"] for c in document["_embedded"]["conversations"]]


@pytest.fixture
def mailbox(api: Api) -> Iterator[int]:
    yield api.mailbox()


def test_an_unchanged_list_is_sent_again_without_reading_it(api: Api, app: FastAPI, mailbox: int) -> None:
    api.conversation(mailbox, subject="Kept")
    first, first_read = _listed(api, app)
    again, again_read = _listed(api, app)
    assert first_read and not again_read
    assert again == first
    assert _subjects(again) == ["Kept"]


def _database_reads(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the requests that reach a database thread (the real reads still run)."""
    calls: list[int] = []
    db = app.state.db
    read = db.read

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await read(*args)

    monkeypatch.setattr(db, "read", counted)
    return calls


def test_a_kept_list_is_sent_without_a_database_thread(
    api: Api, app: FastAPI, mailbox: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stamp reads on the event loop (SQLite's watcher, PostgreSQL's connection of its own)
    and the token's caller is known under it."""
    api.conversation(mailbox, subject="Kept")
    _listed(api, app)
    reads = _database_reads(app, monkeypatch)
    document, read = _listed(api, app)
    assert not read
    assert _subjects(document) == ["Kept"]
    assert reads == []


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_list_computed_after_the_event_loop_read_the_stamp_does_not_read_it_again(
    api: Api, app: FastAPI, mailbox: int
) -> None:
    """A new token's first list: the stamp read on the event loop is the one the list is kept
    under; the database thread reads the token and the page, not the stamp again."""
    api.conversation(mailbox, subject="Kept")
    with statements(app) as seen:
        first = api.get("/v2/conversations")
    assert first.status_code == 200
    flat = [" ".join(statement.split()) for statement in seen]
    assert any("FROM conversations" in statement for statement in flat)
    assert not any("data_changes" in statement for statement in flat)
    document, read = _listed(api, app)
    assert not read
    assert document == first.json()


def test_a_new_list_for_a_caller_known_under_the_stamp_does_not_look_up_the_token(
    api: Api, app: FastAPI, mailbox: int
) -> None:
    """The event loop knew whom the token stands for: a list it has not kept is computed
    without asking for the token again."""
    api.conversation(mailbox, subject="Kept")
    _listed(api, app)
    with statements(app) as seen:
        response = api.get("/v2/conversations?status=all")
    assert response.status_code == 200, response.text
    assert _subjects(response.json()) == ["Kept"]
    assert any("FROM conversations" in " ".join(s.split()) for s in seen)
    assert token_lookups(seen) == 0
    other = Api.for_app(api.client, BOOT_APP_ID, BOOT_APP_SECRET)
    with statements(app) as first_seen:
        assert other.get("/v2/conversations").status_code == 200
    assert token_lookups(first_seen) == 1, "a token not known yet is looked up"


def test_a_known_agent_s_new_list_shows_only_their_mailboxes(api: Api, app: FastAPI, mailbox: int) -> None:
    hidden = api.mailbox()
    api.conversation(mailbox, subject="Shared")
    api.conversation(hidden, subject="Hidden")
    agent = api.as_user(api.user(mailbox_ids=[mailbox]))
    _listed(agent, app)
    with statements(app) as seen:
        response = agent.get("/v2/conversations?status=all&sortField=subject")
    assert response.status_code == 200, response.text
    assert token_lookups(seen) == 0
    assert _subjects(response.json()) == ["Shared"]


def test_a_revoked_token_is_refused_a_list_never_asked_for_before(
    api: Api, app: FastAPI, mailbox: int, db_url: str
) -> None:
    api.conversation(mailbox)
    _listed(api, app)
    _set_token(db_url, api.token, revoked=True)
    assert api.get("/v2/conversations?status=all").status_code == 401


def _set_token(db_url: str, token: str, **values: Any) -> None:
    """Change the token's row from another connection, as a revocation by another process."""
    other = create_engine(normalise_url(db_url))
    try:
        with other.begin() as conn:
            conn.execute(update(tokens).where(tokens.c.token_hash == token_hash(token)).values(**values))
    finally:
        other.dispose()


def test_a_revoked_token_is_refused_though_its_list_was_kept(
    api: Api, app: FastAPI, mailbox: int, db_url: str
) -> None:
    api.conversation(mailbox)
    _listed(api, app)
    _, read = _listed(api, app)
    assert not read
    _set_token(db_url, api.token, revoked=True)
    refused = api.get("/v2/conversations")
    assert refused.status_code == 401
    report = api.get("/v2/reports/conversations?start=2026-01-01T00:00:00Z&end=2026-02-01T00:00:00Z")
    assert report.status_code == 401


def test_a_revoked_token_is_refused_though_another_token_of_its_caller_kept_the_list(
    api: Api, app: FastAPI, client: TestClient, mailbox: int, db_url: str
) -> None:
    """Two tokens of one app stand for the same caller and share kept answers: the list kept for
    the live one after the revocation must not be sent to the revoked one."""
    api.conversation(mailbox)
    _listed(api, app)
    _listed(api, app)
    other = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
    _set_token(db_url, api.token, revoked=True)
    _listed(other, app)
    _, read = _listed(other, app)
    assert not read
    assert api.get("/v2/conversations").status_code == 401


def test_a_token_that_expires_is_refused_though_its_list_was_kept(
    api: Api, app: FastAPI, mailbox: int, db_url: str, clock: Clock
) -> None:
    """The caller is remembered only until its token expires, whatever the stamp says."""
    api.conversation(mailbox)
    _set_token(db_url, api.token, expires_at=clock.value + timedelta(seconds=30))
    _listed(api, app)
    _, read = _listed(api, app)
    assert not read
    clock.advance(29)
    _, read = _listed(api, app)
    assert not read
    clock.advance(1)
    assert api.get("/v2/conversations").status_code == 401


def test_a_write_through_the_api_is_seen_by_the_next_list(api: Api, app: FastAPI, mailbox: int) -> None:
    conversation = api.conversation(mailbox, subject="Before")
    _listed(api, app)
    _listed(api, app)
    changed = api.patch(
        f"/v2/conversations/{conversation}", {"op": "replace", "path": "/subject", "value": "After"}
    )
    assert changed.status_code == 204, changed.text
    document, read = _listed(api, app)
    assert read
    assert _subjects(document) == ["After"]


def test_a_write_by_another_connection_is_seen_by_the_next_list(
    api: Api, app: FastAPI, mailbox: int, db_url: str
) -> None:
    """Another process (a CLI import, another API worker) writes through its own connection."""
    conversation = api.conversation(mailbox, subject="Before")
    _listed(api, app)
    _, read = _listed(api, app)
    assert not read
    other = create_engine(normalise_url(db_url))
    try:
        with other.begin() as conn:
            conn.execute(
                update(conversations).where(conversations.c.id == conversation).values(subject="Elsewhere")
            )
    finally:
        other.dispose()
    document, read = _listed(api, app)
    assert read
    assert _subjects(document) == ["Elsewhere"]


def test_callers_who_see_different_mailboxes_do_not_share_answers(
    api: Api, app: FastAPI, mailbox: int
) -> None:
    hidden = api.mailbox()
    api.conversation(mailbox, subject="Shared")
    api.conversation(hidden, subject="Hidden")
    agent = api.as_user(api.user(mailbox_ids=[mailbox]))
    owner_view, _ = _listed(api, app)
    agent_view, _ = _listed(agent, app)
    assert sorted(_subjects(owner_view)) == ["Hidden", "Shared"]
    assert _subjects(agent_view) == ["Shared"]


def test_links_follow_the_host_each_request_names(api: Api, app: FastAPI, mailbox: int) -> None:
    api.conversation(mailbox)
    _listed(api, app, host="one.example")
    document, _ = _listed(api, app, host="two.example")
    assert document["_links"]["self"]["href"].startswith("http://two.example/")
    assert document["_embedded"]["conversations"][0]["_links"]["self"]["href"].startswith(
        "http://two.example/"
    )


def test_waiting_wording_is_read_again_when_it_would_change(
    api: Api, app: FastAPI, mailbox: int, clock: Clock
) -> None:
    api.conversation(mailbox)  # a customer's thread: waiting since now
    clock.advance(30)
    document, _ = _listed(api, app)
    assert document["_embedded"]["conversations"][0]["customerWaitingSince"]["friendly"] == "Just now"
    clock.advance(29)
    document, read = _listed(api, app)
    assert not read
    assert document["_embedded"]["conversations"][0]["customerWaitingSince"]["friendly"] == "Just now"
    clock.advance(1)
    document, read = _listed(api, app)
    assert read
    assert document["_embedded"]["conversations"][0]["customerWaitingSince"]["friendly"] == "1 minute ago"


def test_a_snooze_that_ends_is_seen_when_it_ends(api: Api, app: FastAPI, mailbox: int, clock: Clock) -> None:
    conversation = api.conversation(mailbox)
    # Half past: the waiting wording ("2 hours ago") turns over on the hour, not then.
    until = timefmt.fmt(clock.value + timedelta(hours=2, minutes=30))
    snoozed = api.put(
        f"/v2/conversations/{conversation}/snooze", {"snoozedUntil": until, "unsnoozeOnCustomerReply": False}
    )
    assert snoozed.status_code == 204, snoozed.text
    clock.advance(2 * 3600 + 30 * 60 - 1)
    document, _ = _listed(api, app)
    assert document["_embedded"]["conversations"][0]["snooze"]["snoozedUntil"] == until
    clock.advance(1)
    document, read = _listed(api, app)
    assert read
    assert "snooze" not in document["_embedded"]["conversations"][0]


def test_a_query_that_names_now_is_read_again_the_next_second(
    api: Api, app: FastAPI, mailbox: int, clock: Clock
) -> None:
    api.conversation(mailbox, subject="Fresh")
    path = "/v2/conversations?query=(createdAt:[NOW-10SECONDS TO NOW])"
    document, _ = _listed(api, app, path)
    assert _subjects(document) == ["Fresh"]
    _, read = _listed(api, app, path)
    assert not read
    clock.advance(11)
    document, read = _listed(api, app, path)
    assert read
    assert _subjects(document) == []


def test_nothing_is_sent_again_after_a_minute(api: Api, app: FastAPI, mailbox: int, clock: Clock) -> None:
    """The bound on any kept answer: an estimated text-search total lives as long."""
    api.conversation(mailbox)
    clock.advance(25 * 3600)  # waiting for over a day: a date, whose wording never changes
    _listed(api, app, "/v2/conversations?status=all")
    clock.advance(59)
    _, read = _listed(api, app, "/v2/conversations?status=all")
    assert not read
    clock.advance(1)
    _, read = _listed(api, app, "/v2/conversations?status=all")
    assert read


def test_a_bad_parameter_is_refused_even_after_a_kept_answer(api: Api, app: FastAPI, mailbox: int) -> None:
    api.conversation(mailbox)
    _listed(api, app, "/v2/conversations?page=1")
    refused = api.get("/v2/conversations?page=0")
    assert refused.status_code == 400
    assert refused.headers["content-type"].startswith("application/vnd.error+json")


@pytest.mark.usefixtures("answers_computed")
def test_without_entries_every_list_is_read(api: Api, app: FastAPI, mailbox: int) -> None:
    api.conversation(mailbox)
    _, first_read = _listed(api, app)
    _, again_read = _listed(api, app)
    assert first_read and again_read


def test_the_rate_limits_count_does_not_stale_a_kept_list(settings: Settings) -> None:
    """At the default limit every request writes its count, and kept answers still hold."""
    settings.rate_limit_per_minute = 400
    limited = create_app(settings)
    limited.state.db.write_sync(bootstrap, settings)
    with TestClient(limited) as client:
        api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
        api.conversation(api.mailbox(), subject="Kept")
        remaining, reads = [], []
        for _ in range(3):
            with statements(limited) as seen:
                response = api.get("/v2/conversations")
            assert response.status_code == 200, response.text
            remaining.append(int(response.headers["x-ratelimit-remaining-minute"]))
            reads.append(any("FROM conversations" in " ".join(s.split()) for s in seen))
        assert reads == [True, False, False]
        assert remaining == [remaining[0], remaining[0] - 1, remaining[0] - 2]
        assert _subjects(response.json()) == ["Kept"]
