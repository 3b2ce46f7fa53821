"""A plain list's early pages are read on the event loop on SQLite (`Database.read_bounded`); any
other list is tried there under a budget and read again through the hop to a database thread
when it runs past it (`Database.read_budgeted`); on PostgreSQL every read takes the hop."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import Api
from tidings.kit import db as db_module

only_sqlite = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


@pytest.fixture
def hops(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the database ran through the hop (which still runs them)."""
    db = app.state.db
    seen: list[str] = []
    hop = db._hop

    async def counted(fn: Callable[..., Any], *args: Any) -> Any:
        seen.append(getattr(args[0], "__name__", repr(args[0])) if args else fn.__name__)
        return await hop(fn, *args)

    monkeypatch.setattr(db, "_hop", counted)
    return seen


@pytest.fixture
def listed(api: Api, answers_computed: None) -> None:
    mailbox = api.mailbox()
    for n in range(3):
        api.conversation(mailbox, subject=f"espresso {n}", tags=["vip"])


BOUNDED = [
    "",
    "?status=all&sortField=subject",
    "?tag=vip&status=all&sortOrder=asc",
    "?status=closed&page=40",
    "?embed=threads",
]
UNBOUNDED = [
    "?query=espresso",
    "?page=41",
    "?status=all&modifiedSince=2020-01-01T00:00:00Z",
    "?tag=vip,other",
    "?number=1",
]


@pytest.mark.parametrize("query", BOUNDED)
def test_a_plain_page_is_read_without_the_hop_on_sqlite(
    api: Api, listed: None, hops: list[str], dialect: str, query: str
) -> None:
    response = api.get(f"/v2/conversations{query}")
    assert response.status_code == 200, response.text
    assert hops == ([] if dialect == "sqlite" else ["_list_for_token"])


@pytest.mark.parametrize("query", UNBOUNDED)
def test_any_other_list_is_tried_on_the_loop_on_sqlite(
    app: FastAPI, api: Api, listed: None, hops: list[str], dialect: str, query: str
) -> None:
    app.state.db.loop_budget_seconds = 60.0  # where it is read, not how long it may take
    response = api.get(f"/v2/conversations{query}")
    assert response.status_code == 200, response.text
    assert hops == ([] if dialect == "sqlite" else ["_list_for_token"])


@pytest.mark.parametrize("query", UNBOUNDED)
def test_without_a_budget_any_other_list_takes_the_hop(
    app: FastAPI, api: Api, listed: None, hops: list[str], query: str
) -> None:
    app.state.db.loop_budget_seconds = 0
    response = api.get(f"/v2/conversations{query}")
    assert response.status_code == 200, response.text
    assert hops == ["_list_for_token"]


class _Clock:
    """`time` for kit.db with a monotonic clock the test moves (the budget's CPU clock stays
    real)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.thread_time = time.thread_time

    def monotonic(self) -> float:
        return self.now


@pytest.fixture
def overrunning(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> tuple[list[bool], _Clock]:
    """On SQLite, every list tried on the loop overruns its budget (checked at every step, a
    nanosecond long) until the test gives it a minute; returns the tries (True: it overran)."""
    db = app.state.db
    monkeypatch.setattr(db_module, "SQLITE_BUDGET_STEPS", 1)
    clock = _Clock()
    monkeypatch.setattr(db_module, "time", clock)
    db.loop_budget_seconds = 1e-9
    tries: list[bool] = []
    within = db._read_within_budget

    def counted(fn: Callable[..., Any], *args: Any) -> Any:
        read = within(fn, *args)
        tries.append(read is db_module._OVERRAN)
        return read

    monkeypatch.setattr(db, "_read_within_budget", counted)
    return tries, clock


@only_sqlite
def test_a_list_past_its_budget_is_read_again_through_the_hop(
    app: FastAPI, api: Api, listed: None, hops: list[str], overrunning: tuple[list[bool], _Clock]
) -> None:
    tries, _ = overrunning
    path = "/v2/conversations?query=espresso&sortField=subject&sortOrder=desc"
    overran = api.get(path)
    assert overran.status_code == 200, overran.text
    assert tries == [True]
    assert hops == ["_list_for_token"]
    app.state.db.loop_budget_seconds = 60.0
    on_loop = api.get(path)
    assert tries == [True, False]
    assert hops == ["_list_for_token"]
    assert [c["subject"] for c in overran.json()["_embedded"]["conversations"]] == [
        "espresso 2",
        "espresso 1",
        "espresso 0",
    ]
    assert overran.json() == on_loop.json()


@pytest.mark.parametrize("query", ["", "?query=espresso", "?page=2&sortField=firstName"])
def test_the_customer_list_is_tried_on_the_loop_on_sqlite(
    app: FastAPI, api: Api, listed: None, hops: list[str], dialect: str, query: str
) -> None:
    app.state.db.loop_budget_seconds = 60.0
    assert api.get(f"/v2/customers{query}").status_code == 200
    assert len(hops) == (0 if dialect == "sqlite" else 2), "on PostgreSQL the token's lookup and the list"
    app.state.db.loop_budget_seconds = 0
    hops.clear()
    assert api.get(f"/v2/customers{query}").status_code == 200
    assert hops == (["read"] if dialect == "sqlite" else ["_looked_up", "read"])


@only_sqlite
def test_a_customer_list_past_its_budget_is_read_again_through_the_hop(
    app: FastAPI, api: Api, listed: None, hops: list[str], overrunning: tuple[list[bool], _Clock]
) -> None:
    tries, _ = overrunning
    path = "/v2/customers?sortField=lastName&sortOrder=desc"
    overran = api.get(path)
    assert overran.status_code == 200, overran.text
    assert tries == [True] and hops == ["read"]
    app.state.db.loop_budget_seconds = 60.0
    on_loop = api.get(path)
    assert tries == [True, False] and hops == ["read"]
    names = [c["lastName"] for c in overran.json()["_embedded"]["customers"]]
    assert len(names) == 3 and names == sorted(names, reverse=True)
    assert overran.json() == on_loop.json()


@only_sqlite
def test_a_list_that_keeps_overrunning_goes_to_the_hop_at_once_for_a_while(
    app: FastAPI, api: Api, listed: None, hops: list[str], overrunning: tuple[list[bool], _Clock]
) -> None:
    tries, clock = overrunning
    path = "/v2/conversations?query=espresso"

    def asked(after_seconds: float) -> bool:
        """Whether the request was tried on the loop; a request not tried, or overrunning,
        is read through the hop."""
        clock.now += after_seconds
        before, hopped = len(tries), len(hops)
        response = api.get(path)
        assert response.status_code == 200, response.text
        assert response.json()["page"]["totalElements"] == 3
        tried = len(tries) > before
        assert len(hops) == hopped + (1 if not tried or tries[-1] else 0)
        return tried

    assert asked(0) and asked(0), "one overrun is forgiven: a new process's first reads are slow"
    assert not asked(0) and not asked(0.9), "after two in a row, a second on the hop at once"
    assert asked(0.2), "then it is tried again"
    assert not asked(1.9) and asked(0.2), "after a third, two seconds"
    assert not asked(3.9) and asked(0.2), "after a fourth, four"
    assert not asked(7.9), "after a fifth, eight"
    assert api.get("/v2/conversations?query=espresso%200").status_code == 200
    assert tries[-1] is True, "another request is still tried on the loop"
    app.state.db.loop_budget_seconds = 60.0
    assert asked(0.2) and tries[-1] is False, "read within its budget"
    app.state.db.loop_budget_seconds = 1e-9
    assert asked(0) and asked(0), "which forgave its earlier overruns"
    assert not asked(0)


def test_the_page_read_on_the_loop_is_the_page(
    app: FastAPI, api: Api, listed: None, hops: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    on_loop = api.get("/v2/conversations?status=all&sortField=subject&sortOrder=asc").json()
    monkeypatch.setattr(app.state.db, "read_bounded", app.state.db.read)
    through_hop = api.get("/v2/conversations?status=all&sortField=subject&sortOrder=asc").json()
    assert [c["subject"] for c in on_loop["_embedded"]["conversations"]] == [
        "espresso 0",
        "espresso 1",
        "espresso 2",
    ]
    assert on_loop == through_hop


def test_a_bad_token_is_401_before_bad_parameters_are_400(
    client: TestClient, api: Api, hops: list[str], dialect: str
) -> None:
    bad_token = client.get("/v2/conversations?page=abc", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    bad_page = api.get("/v2/conversations?page=abc")
    assert bad_page.status_code == 400
    assert bad_page.headers["content-type"].startswith("application/vnd.error+json")
    assert "page" in bad_page.text
    on_sqlite = dialect == "sqlite"
    assert hops == ([] if on_sqlite else ["_list_for_token", "_list_for_token"]), (
        "tried on the loop on SQLite"
    )


def test_reads_of_one_resource_and_the_token_lookup_skip_the_hop_on_sqlite(
    api: Api, listed: None, hops: list[str], dialect: str
) -> None:
    conversation = api.get("/v2/conversations?status=all").json()["_embedded"]["conversations"][0]
    paths = [
        f"/v2/conversations/{conversation['id']}?embed=threads",
        f"/v2/conversations/{conversation['id']}/threads",
        f"/v2/customers/{conversation['primaryCustomer']['id']}",
        f"/v2/customers/{conversation['primaryCustomer']['id']}/emails",
        f"/v2/mailboxes/{conversation['mailboxId']}",
        f"/v2/mailboxes/{conversation['mailboxId']}/folders",
        "/v2/users/me",
        f"/v2/tags/{conversation['tags'][0]['id']}",
    ]
    hops.clear()
    for path in paths:
        response = api.get(path)
        assert response.status_code == 200, (path, response.text)
    # Without kept answers each request looks its token up, then reads: both on the loop on
    # SQLite, both through the hop on PostgreSQL.
    assert len(hops) == (0 if dialect == "sqlite" else 2 * len(paths))
    hops.clear()
    missing = api.get("/v2/conversations/999999")
    assert missing.status_code == 404
    assert len(hops) == (0 if dialect == "sqlite" else 2)


def test_a_write_still_takes_the_hop(api: Api, listed: None, hops: list[str], dialect: str) -> None:
    conversation = api.get("/v2/conversations?status=all").json()["_embedded"]["conversations"][0]
    hops.clear()
    response = api.patch(
        f"/v2/conversations/{conversation['id']}", {"op": "replace", "path": "/subject", "value": "x"}
    )
    assert response.status_code == 204, response.text
    assert len(hops) == (1 if dialect == "sqlite" else 2), "the write; the token's lookup too on PostgreSQL"
