"""A plain list's early pages are read on the event loop on SQLite (`Database.read_bounded`); every
read whose cost is not bounded by the page takes the hop to a database thread."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tests.support.api import Api


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
def test_any_other_list_takes_the_hop(api: Api, listed: None, hops: list[str], query: str) -> None:
    response = api.get(f"/v2/conversations{query}")
    assert response.status_code == 200, response.text
    assert hops == ["_list_for_token"]


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
    client: TestClient, api: Api, hops: list[str]
) -> None:
    bad_token = client.get("/v2/conversations?page=abc", headers={"Authorization": "Bearer nope"})
    assert bad_token.status_code == 401
    bad_page = api.get("/v2/conversations?page=abc")
    assert bad_page.status_code == 400
    assert bad_page.headers["content-type"].startswith("application/vnd.error+json")
    assert "page" in bad_page.text
    assert hops == ["_list_for_token", "_list_for_token"], "invalid parameters take the hop"


def test_reads_of_one_resource_and_the_token_lookup_skip_the_hop_on_sqlite(
    api: Api, listed: None, hops: list[str], dialect: str
) -> None:
    conversation = api.get("/v2/conversations?status=all").json()["_embedded"]["conversations"][0]
    paths = [
        f"/v2/conversations/{conversation['id']}?embed=threads",
        f"/v2/conversations/{conversation['id']}/threads",
        f"/v2/customers/{conversation['primaryCustomer']['id']}",
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
