"""Deep pages of a plain list begun at an anchor (conversations/deep_pages.py, kit/anchors.py):
the same pages as an OFFSET gives, and an anchor never used across a data commit."""

from __future__ import annotations

import random
from collections.abc import Hashable
from datetime import UTC, datetime

import pytest
from fastapi import FastAPI
from sqlalchemy import Connection, update

from tests.support.api import Api
from tests.support.sql import statements
from tidings.conversations import deep_pages, listing
from tidings.conversations.listing import SORT_FIELDS
from tidings.db import change_log
from tidings.db.tables import conversations
from tidings.demo.generator import generate
from tidings.kit.anchors import Anchor, PageAnchors

ANCHORED = "after_anchor"
PAGES = 9  # 25 a page: ~220 conversations reach past page 8 with every filter below


@pytest.fixture
def many(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    """~260 generated conversations, pages read from page 2 on by the deep statements, and every
    anchor used whatever it leaves to skip; every answer computed (none kept)."""
    generate(
        app.state.db.engine, conversations=260, seed=11, now=datetime(2026, 11, 1, tzinfo=UTC), batch_size=64
    )
    monkeypatch.setattr(listing, "ANCHORED_FROM", 25)
    monkeypatch.setattr(deep_pages, "SKIP_SHARE", 1)
    monkeypatch.setattr(app.state, "reuse", None)


def _page(api: Api, query: str, page: int) -> tuple[int, list[int]]:
    response = api.get(f"/v2/conversations?{query}&page={page}")
    assert response.status_code == 200, response.text
    body = response.json()
    return body["page"]["totalElements"], [c["id"] for c in body["_embedded"]["conversations"]]


def _offset_pages(app: FastAPI, api: Api, query: str, pages: list[int]) -> dict[int, tuple[int, list[int]]]:
    """The pages read at their OFFSET (no anchors), each asked alone."""
    kept, app.state.anchors = app.state.anchors, None
    try:
        return {page: _page(api, query, page) for page in pages}
    finally:
        app.state.anchors = kept


def _stamp(app: FastAPI, conn: Connection) -> Hashable:
    """The data stamp as the deep pages read it: SQLite's watcher, PostgreSQL's change log."""
    if conn.dialect.name == "postgresql":
        return tuple(change_log.STAMP.rows(conn)[0])
    found = app.state.stamps.read_now(conn.engine)
    assert found is not None
    return found


QUERIES = [
    *(
        f"status=all&sortField={field}&sortOrder={order}"
        for field in SORT_FIELDS
        for order in ("asc", "desc")
    ),
    "status=closed&sortField=createdAt",
    "status=closed&sortField=subject&sortOrder=desc",
]


class TestSamePages:
    @pytest.mark.parametrize("query", QUERIES)
    def test_walked_in_order_and_at_random(self, app: FastAPI, api: Api, many: None, query: str) -> None:
        pages = list(range(1, PAGES + 1))
        expected = _offset_pages(app, api, query, pages)
        assert sum(len(ids) for _, ids in expected.values()) >= 150, "enough conversations for deep pages"
        with statements(app) as seen:
            walked = {page: _page(api, query, page) for page in pages}
        assert walked == expected
        anchored = sum(ANCHORED in statement for statement in seen)
        if "waitingSince" in query:  # its NULLs sort apart: never anchored
            assert anchored == 0
        else:
            assert anchored >= PAGES - 2, "pages 3 on begin at the anchor page 2 or later left"
        shuffled = pages[:]
        random.Random(query).shuffle(shuffled)
        assert {page: _page(api, query, page) for page in shuffled} == expected

    def test_a_mailbox_and_a_tag(self, app: FastAPI, api: Api, many: None) -> None:
        listed = api.get("/v2/conversations?status=all").json()["_embedded"]["conversations"]
        mailbox = listed[0]["mailboxId"]
        tag = next(c["tags"][0]["tag"] for c in listed if c["tags"])
        for query in (f"status=all&mailbox={mailbox}", f"status=all&tag={tag}&sortField=number"):
            expected = _offset_pages(app, api, query, [1, 2, 3, 4])
            assert [_page(api, query, page) for page in (2, 3, 4, 3)] == [expected[p] for p in (2, 3, 4, 3)]

    def test_off_reads_every_page_at_its_offset(self, app: FastAPI, api: Api, many: None) -> None:
        app.state.anchors = None
        with statements(app) as seen:
            for page in range(1, 5):
                _page(api, "status=all", page)
        assert not any(ANCHORED in statement for statement in seen)


class TestAcrossCommits:
    def test_a_commit_between_pages_leaves_the_anchor_unused(
        self, app: FastAPI, api: Api, many: None
    ) -> None:
        query = "status=all&sortField=createdAt&sortOrder=desc"
        _page(api, query, 2)
        _page(api, query, 3)  # its last row anchors page 4
        mailbox = api.get("/v2/mailboxes").json()["_embedded"]["mailboxes"][0]["id"]
        api.conversation(mailbox, subject="the newest of all")  # every later row moves down one
        expected = _offset_pages(app, api, query, [4])[4]
        assert _page(api, query, 4) == expected

    def test_an_anchor_of_another_stamp_is_never_trusted(self, app: FastAPI, api: Api, many: None) -> None:
        """A wrong anchor planted under a stale stamp (as if a commit had landed between the
        statement that found it and this one) is not used; under the current stamp it would be:
        the check is what keeps the page right."""
        query = "status=all&sortField=number&sortOrder=asc"
        expected = _offset_pages(app, api, query, [3, 4])
        _page(api, query, 2)  # the shape's statements exist and hold an anchor at 50
        shape = next(iter(app.state.anchors._shapes))
        with app.state.db.engine.connect() as conn:
            current = _stamp(app, conn)
            first_id = conn.execute(
                conversations.select()
                .with_only_columns(conversations.c.id, conversations.c.number)
                .where(conversations.c.state == "published")
                .order_by(conversations.c.number)
            ).first()
        assert first_id is not None
        wrong = Anchor(75, first_id.number, first_id.id)  # the first row, claimed to end page 3
        stale: Hashable = ("stale",) if app.state.db.dialect == "postgresql" else -1
        app.state.anchors.put(shape, stale, wrong)
        assert _page(api, query, 4) == expected[4]
        app.state.anchors.put(shape, current, wrong)
        assert _page(api, query, 4) != expected[4], "the planted anchor is used when its stamp holds"

    def test_a_commit_during_the_read_is_seen(self, app: FastAPI, api: Api, many: None, dialect: str) -> None:
        """A wrong anchor, kept under the stamp of the moment, then a commit before the page is
        read: SQLite's stamp read after the page differs from the one read before its first
        statement (the commit is made to land between them), PostgreSQL's page statement reads
        the stamp of its own snapshot; either way the anchor is not used, nor the page's last
        row kept under the old stamp."""
        query = "status=all&sortField=createdAt"
        expected = _offset_pages(app, api, query, [3])[3]
        _page(api, query, 2)
        shape = next(iter(app.state.anchors._shapes))
        near = app.state.anchors.nearest(shape, 50)
        assert near is not None
        stamp = near[0]
        app.state.anchors.put(shape, stamp, Anchor(50, datetime(2100, 1, 1, tzinfo=UTC), 1))  # page 1 again
        stamps = app.state.stamps
        original = stamps.read_now
        if dialect == "sqlite":
            reads = iter([stamp])
            stamps.read_now = lambda engine: next(reads, ("moved",))  # type: ignore[method-assign]
        else:
            api.put(f"/v2/conversations/{expected[1][0]}/tags", json={"tags": ["moved"]})
        try:
            assert _page(api, query, 3) == expected
        finally:
            stamps.read_now = original  # type: ignore[method-assign]
        kept = app.state.anchors.nearest(shape, 75)
        assert kept is not None and (kept[0] != stamp or kept[1].offset < 75), "page 3's end kept"


class TestAnchorStore:
    def test_nearest_before_and_at(self) -> None:
        anchors = PageAnchors()
        for offset in (50, 100, 150):
            anchors.put("s", 1, Anchor(offset, offset, offset))
        found = [anchors.nearest("s", offset) for offset in (25, 50, 99, 100, 1000)]
        assert [None if f is None else f[1].offset for f in found] == [None, 50, 50, 100, 150]

    def test_a_new_stamp_replaces_the_shapes_anchors(self) -> None:
        anchors = PageAnchors()
        anchors.put("s", 1, Anchor(50, "k", 7))
        anchors.put("s", 2, Anchor(100, "k", 8))
        assert anchors.nearest("s", 75) is None
        assert anchors.nearest("s", 100) == (2, Anchor(100, "k", 8))

    def test_bounded(self) -> None:
        anchors = PageAnchors(max_shapes=2, max_per_shape=3)
        for offset in range(10):
            anchors.put("s", 1, Anchor(offset * 25, None, offset))
        assert [anchors.nearest("s", o * 25) is not None for o in (6, 7, 9)] == [False, True, True]
        anchors.put("t", 1, Anchor(25, None, 1))
        anchors.put("u", 1, Anchor(25, None, 1))
        assert len(anchors) == 2
        assert anchors.nearest("s", 250) is None


def test_a_changed_key_moves_the_row(app: FastAPI, api: Api, many: None) -> None:
    """A subject changed between two pages (a commit) sorts its row elsewhere; the next page is
    read at its offset again and matches it."""
    query = "status=all&sortField=subject"
    _page(api, query, 2)
    _page(api, query, 3)
    with app.state.db.engine.begin() as conn:
        conn.execute(
            update(conversations)
            .values(subject="aaaa first")
            .where(conversations.c.id == _page(api, query, 5)[1][0])
        )
    expected = _offset_pages(app, api, query, [4])[4]
    assert _page(api, query, 4) == expected
