"""Plain lists of a tag, assignee or folder read from their matches, sorted, when those are few
(conversations/sparse_lists.py): the same pages as walking the sort's index gives, and chosen
by the kept counts."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI

from tests.support.api import Api
from tests.support.sql import statements
from tidings.conversations import sparse_lists
from tidings.conversations.listing import SORT_FIELDS
from tidings.conversations.sparse_lists import lists_the_matches
from tidings.demo.generator import generate

# Only the sorted matches write the sort's key out of the indexes' reach.
LISTED_MARK = "conversations.created_at + "
CENSUS_MARK = "SELECT (SELECT coalesce(sum("


@pytest.fixture
def many(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """~260 generated conversations; every answer computed (none kept), every census read again."""
    generate(
        app.state.db.engine, conversations=260, seed=5, now=datetime(2026, 11, 1, tzinfo=UTC), batch_size=64
    )
    monkeypatch.setattr(app.state, "reuse", None)
    monkeypatch.setattr(sparse_lists, "CENSUS_SECONDS", 0.0)


def _every_conversation(api: Api) -> list[dict]:
    found: list[dict] = []
    page = 1
    while True:
        body = api.get(f"/v2/conversations?status=all&page={page}").json()
        found += body["_embedded"]["conversations"]
        if page >= body["page"]["totalPages"]:
            return found
        page += 1


def _filters(api: Api) -> dict[str, Counter]:
    """How many conversations each tag, assignee and folder has."""
    listed = _every_conversation(api)
    return {
        "tag": Counter(t["tag"] for c in listed for t in c["tags"]),
        "assigned_to": Counter(c["assignee"]["id"] for c in listed if c.get("assignee")),
        "folder": Counter(c["folderId"] for c in listed),
    }


def _pages(api: Api, query: str) -> list[tuple[int, list[int]]]:
    """Every page of the list, and one past its end."""
    pages = []
    page = 1
    while True:
        response = api.get(f"/v2/conversations?{query}&page={page}")
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append((body["page"]["totalElements"], [c["id"] for c in body["_embedded"]["conversations"]]))
        if not pages[-1][1]:
            return pages
        page += 1


def _forced(monkeypatch: pytest.MonkeyPatch, listed: bool) -> None:
    monkeypatch.setattr(sparse_lists, "lists_the_matches", lambda total, allowed, rows_wanted: listed)


class TestSamePages:
    @pytest.mark.parametrize("sort", [(f, o) for f in SORT_FIELDS for o in ("asc", "desc")], ids=str)
    @pytest.mark.parametrize("kind", ["tag", "assigned_to", "folder"])
    def test_listed_matches_equal_the_walk(
        self, app: FastAPI, api: Api, many: None, monkeypatch: pytest.MonkeyPatch, kind: str, sort: tuple
    ) -> None:
        value, count = _filters(api)[kind].most_common(1)[0]
        assert count > 25, "more than a page"
        field, order = sort
        query = f"{kind}={value}&status=all&sortField={field}&sortOrder={order}"
        _forced(monkeypatch, False)
        walked = _pages(api, query)
        _forced(monkeypatch, True)
        with statements(app) as seen:
            listed = _pages(api, query)
        assert listed == walked
        assert walked[0][0] == count
        assert sum(len(ids) for _, ids in walked) == count
        if field == "createdAt":
            assert sum(LISTED_MARK in s for s in seen) == len(listed)

    def test_with_a_mailbox_and_a_status(
        self, app: FastAPI, api: Api, many: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        listed = _every_conversation(api)
        tag = _filters(api)["tag"].most_common(1)[0][0]
        tagged = Counter(c["mailboxId"] for c in listed if any(t["tag"] == tag for t in c["tags"]))
        mailbox = tagged.most_common(1)[0][0]
        for query in (f"tag={tag}&mailbox={mailbox}&status=all", f"tag={tag}&status=closed", f"tag={tag}"):
            _forced(monkeypatch, False)
            walked = _pages(api, query)
            _forced(monkeypatch, True)
            assert _pages(api, query) == walked
            assert walked[0][0] > 0


class TestChosenByCounts:
    def test_a_rare_tag_is_listed_and_a_dense_folder_walked(self, app: FastAPI, api: Api, many: None) -> None:
        counts = _filters(api)
        everything = api.get("/v2/conversations?status=all").json()["page"]["totalElements"]
        rare, rare_count = min(counts["tag"].items(), key=lambda item: (item[1], item[0]))
        folder, folder_count = counts["folder"].most_common(1)[0]
        assert lists_the_matches(rare_count, everything, 25)
        assert not lists_the_matches(folder_count, everything, 25)
        for query, total, listed in (
            (f"tag={rare}&status=all", rare_count, True),
            (f"folder={folder}", folder_count, False),
        ):
            with statements(app) as seen:
                body = api.get(f"/v2/conversations?{query}&sortField=createdAt").json()
            assert body["page"]["totalElements"] == total
            assert any(LISTED_MARK in s for s in seen) is listed, query

    def test_a_list_without_tag_assignee_or_folder_never_is(self, app: FastAPI, api: Api, many: None) -> None:
        with statements(app) as seen:
            api.get("/v2/conversations?status=all&page=3")
        assert not any(LISTED_MARK in s or CENSUS_MARK in s for s in seen)

    def test_the_census_is_read_once_a_while(
        self, app: FastAPI, api: Api, many: None, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        tag = _filters(api)["tag"].most_common(1)[0][0]
        monkeypatch.setattr(sparse_lists, "CENSUS_SECONDS", 3600.0)
        with statements(app) as seen:
            for page in (1, 2, 1):
                api.get(f"/v2/conversations?tag={tag}&status=closed&sortField=number&page={page}")
        assert sum(CENSUS_MARK in s for s in seen) <= 1
        monkeypatch.setattr(sparse_lists, "CENSUS_SECONDS", 0.0)
        with statements(app) as seen:
            for page in (1, 2):
                api.get(f"/v2/conversations?tag={tag}&status=closed&sortField=number&page={page}")
        assert sum(CENSUS_MARK in s for s in seen) == 2


@pytest.mark.parametrize(
    ("total", "allowed", "rows_wanted", "listed"),
    [
        (975, 1_000_000, 25, True),  # a rare tag among every conversation
        (35_828, 61_755, 25, False),  # a common tag of a mailbox: the walk finds a page at once
        (5_000, 1_000_000, 25, False),
        (5_000, 1_000_000, 1_000, True),  # deeper, the walk passes more than the matches
        (0, 1_000_000, 25, False),
        (30, 30, 25, False),
    ],
)
def test_the_cheaper_read(total: int, allowed: int, rows_wanted: int, listed: bool) -> None:
    assert lists_the_matches(total, allowed, rows_wanted) is listed
