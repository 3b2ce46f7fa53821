"""conversation_activity, which the report bucket is read from, stays exactly what it stands for.

* After every kind of API write (new threads, imported history, status, spam, delete, mailbox
  and customer changes, assignment, publishing a draft, sending a scheduled reply, workflow
  runs) the table equals a rebuild from `conversations` and `threads`. The rows are kept by two
  hands, `refresh_derived` and the triggers on `conversations`; deleting is the write that only
  a trigger sees.
* After a bulk load by the demo generator, likewise.
* The bucket it gives equals the definition — published, not spam, with an instant (creation or
  any thread) in [start, end] — worked out here by brute force, for every interval cut at the
  boundaries that matter: each instant, a second either side, and the UTC midnights around them
  (before 1970 included, where integer division rounds the other way).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from itertools import combinations_with_replacement
from typing import Any

import pytest
from sqlalchemy import Engine, delete, select, text

from tests.reports.history import JAN, conversation, mark_spam, note, reply
from tests.reports.history import delete as delete_conversation
from tests.support.api import Api
from tidings.db.tables import (
    conversation_activity,
    conversation_tag_activity,
    conversation_tags,
    conversations,
    threads,
)
from tidings.demo.generator import generate
from tidings.kit.db import create_db_engine
from tidings.reports import queries
from tidings.reports.activity import REBUILD_ALL, TAG_COLUMNS
from tidings.reports.queries import Interval, Scope

EVERYONE = Scope(visible_mailboxes=None)
ACTIVITY = conversation_activity.c


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


def _rows(engine: Engine) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        query = select(conversation_activity).order_by(ACTIVITY.conversation_id, ACTIVITY.day)
        return [tuple(row) for row in conn.execute(query)]


def _rebuilt(engine: Engine) -> list[tuple[Any, ...]]:
    """The rows a rebuild from scratch writes (computed in a transaction that is rolled back)."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            conn.execute(delete(conversation_activity))
            conn.execute(text(REBUILD_ALL))
            query = select(conversation_activity).order_by(ACTIVITY.conversation_id, ACTIVITY.day)
            return [tuple(row) for row in conn.execute(query)]
        finally:
            transaction.rollback()


def _tag_rows(engine: Engine) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """`conversation_tag_activity` as kept, and as the join of its two sources says it must be."""
    kept = conversation_tag_activity.c
    columns = [kept[name] for name in TAG_COLUMNS]
    joined = select(conversation_tags.c.tag_id, *(ACTIVITY[name] for name in TAG_COLUMNS[1:])).join_from(
        conversation_activity,
        conversation_tags,
        conversation_tags.c.conversation_id == ACTIVITY.conversation_id,
    )
    with engine.connect() as conn:
        as_kept = conn.execute(select(*columns).order_by(*columns)).all()
        as_joined = conn.execute(joined.order_by(*joined.selected_columns)).all()
    return [tuple(row) for row in as_kept], [tuple(row) for row in as_joined]


def assert_kept(engine: Engine, step: str) -> None:
    kept = _rows(engine)
    assert kept, step
    assert kept == _rebuilt(engine), step
    tag_rows, joined = _tag_rows(engine)
    assert tag_rows == joined, step


def ok(response: Any) -> None:
    assert response.status_code in (200, 201, 204), response.text


class TestKeptOnWrite:
    def test_every_write_path_leaves_the_rebuild(self, api: Api, engine: Engine) -> None:
        mailbox, other_mailbox = api.mailbox(), api.mailbox()
        agent = api.user("user", [mailbox, other_mailbox])
        live = api.conversation(mailbox)
        assert_kept(engine, "a new conversation (now)")
        ok(api.put(f"/v2/conversations/{live}/tags", {"tags": ["urgent"]}))
        assert_kept(engine, "tagged")

        old = conversation(api, mailbox, "2015-01-05T10:00:00Z", email="old@example.com", tags=["vip"])
        reply(api, old, "2015-01-06T09:00:00Z")
        note(api, old, "2015-01-06T23:59:59Z")
        assert_kept(engine, "imported history: creation, a reply and a note on the next day")

        body = {
            "subject": "Older threads than the conversation",
            "type": "email",
            "mailboxId": mailbox,
            "status": "active",
            "imported": True,
            "createdAt": "2015-01-08T10:00:00Z",
            "customer": {"email": "early@example.com"},
            "threads": [
                {"type": "customer", "text": "first", "createdAt": "2015-01-04T10:00:00Z"},
                {"type": "reply", "text": "second", "createdAt": "2015-01-10T00:00:00Z"},
            ],
        }
        early = api.created_id(api.post("/v2/conversations", body))
        assert_kept(engine, "imported threads before and after the conversation's createdAt")

        for step, change in [
            ("status closed (a line item now)", {"op": "replace", "path": "/status", "value": "closed"}),
            ("assigned (folder)", {"op": "replace", "path": "/assignTo", "value": agent}),
            ("moved to another mailbox", {"op": "replace", "path": "/mailboxId", "value": other_mailbox}),
            (
                "another primary customer",
                {"op": "replace", "path": "/primaryCustomer.id", "value": _customer(api, live)},
            ),
        ]:
            ok(api.patch(f"/v2/conversations/{old}", change))
            assert_kept(engine, step)
        ok(api.put(f"/v2/conversations/{old}/tags", {"tags": ["billing"]}))
        assert_kept(engine, "tags replaced")
        assert {row[0] for row in _tag_rows(engine)[0] if row[1] == old} == {_tag_id(api, "billing")}

        mark_spam(api, early)
        assert_kept(engine, "marked as spam")
        delete_conversation(api, live)
        assert_kept(engine, "deleted (no thread written: only the trigger sees it)")

        draft_body = {
            "subject": "A draft",
            "type": "email",
            "mailboxId": mailbox,
            "status": "active",
            "customer": {"email": "draft@example.com"},
            "threads": [{"type": "reply", "text": "not yet", "draft": True}],
        }
        draft = api.created_id(api.post("/v2/conversations", draft_body))
        assert_kept(engine, "a draft conversation")
        ok(api.patch(f"/v2/conversations/{draft}", {"op": "replace", "path": "/draft", "value": False}))
        assert_kept(engine, "the draft published")

        later = api.created_id(
            api.post(
                f"/v2/conversations/{old}/reply",
                {"text": "later", "draft": True, "imported": True, "createdAt": "2015-01-20T10:00:00Z"},
            )
        )
        assert_kept(engine, "an imported draft reply")
        schedule = f"/v2/conversations/{old}/threads/{later}/schedule"
        ok(api.put(schedule, {"scheduledFor": "2099-01-01T00:00:00Z"}))
        ok(api.patch(schedule, {"op": "replace", "path": "/state", "value": "published"}))
        assert_kept(engine, "the scheduled reply sent now (its createdAt moves to now)")

        flow = api.created_id(
            api.post("/v2/workflows", {"mailboxId": other_mailbox, "name": "Escalate", "type": "manual"})
        )
        ok(api.post(f"/v2/workflows/{flow}/run", {"conversationIds": [old]}))
        assert_kept(engine, "a workflow run")

    def test_the_bucket_follows_the_writes(self, api: Api) -> None:
        """What the table is for: the same conversation enters and leaves the January bucket."""
        mailbox = api.mailbox()
        december = conversation(api, mailbox, "2014-12-20T08:00:00Z", email="d@example.com")
        drill = {**JAN, "rows": 50}

        def january() -> list[int]:
            page = api.get("/v2/reports/conversations/drilldown", params=drill).json()["conversations"]
            return [r["id"] for r in page["results"]]

        assert january() == []
        draft = api.created_id(
            api.post(
                f"/v2/conversations/{december}/reply",
                {"text": "later", "draft": True, "imported": True, "createdAt": "2015-01-20T10:00:00Z"},
            )
        )
        assert january() == [december]  # a draft is a thread: behaviour §8 counts any thread
        schedule = f"/v2/conversations/{december}/threads/{draft}/schedule"
        ok(api.put(schedule, {"scheduledFor": "2099-01-01T00:00:00Z"}))
        ok(api.patch(schedule, {"op": "replace", "path": "/state", "value": "published"}))
        assert january() == []  # sent now: the thread's createdAt is now, outside January
        note(api, december, "2015-01-31T23:59:59Z")
        assert january() == [december]
        mark_spam(api, december)
        assert january() == []
        ok(
            api.patch(
                f"/v2/conversations/{december}", {"op": "replace", "path": "/status", "value": "active"}
            )
        )
        assert january() == [december]
        delete_conversation(api, december)
        assert january() == []


def _tag_id(api: Api, name: str) -> int:
    found = api.get("/v2/tags").json()["_embedded"]["tags"]
    return next(int(tag["id"]) for tag in found if tag["name"] == name)


def _customer(api: Api, conversation_id: int) -> int:
    return int(api.get(f"/v2/conversations/{conversation_id}").json()["primaryCustomer"]["id"])


class TestBulkLoad:
    def test_the_generator_writes_the_rebuild(self, engine: Engine) -> None:
        now = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
        generate(engine, conversations=300, seed=3, now=now, batch_size=64)
        assert len(_rows(engine)) >= 300
        assert_kept(engine, "after the bulk load")


# -- the bucket against its definition ---------------------------------------------------------

# (createdAt, thread times) of imported conversations; comments say which rule each one tests.
HISTORY: list[tuple[str, list[str]]] = [
    # Before 1970: negative timestamps, whose day must still be rounded down.
    ("1969-12-31T23:00:00Z", ["1970-01-01T01:00:00Z"]),
    # Three instants on one day, far apart: an interval between them touches nothing, though
    # the day's first instant is before it and the last after it.
    ("2015-01-05T01:00:00Z", ["2015-01-05T12:00:00Z", "2015-01-05T23:00:00Z"]),
    # Across midnight to the second, then a gap of days.
    ("2015-01-05T23:59:59Z", ["2015-01-06T00:00:00Z", "2015-01-09T10:00:00Z"]),
    # Threads before and after the conversation's own createdAt.
    ("2015-01-08T10:00:00Z", ["2015-01-04T10:00:00Z", "2015-01-10T00:00:00Z"]),
    # One instant only, at midnight.
    ("2015-01-07T00:00:00Z", []),
]
SPAM = ("2015-01-06T12:00:00Z", ["2015-01-07T12:00:00Z"])
DELETED = ("2015-01-06T13:00:00Z", ["2015-01-07T13:00:00Z"])


def _imported(api: Api, mailbox: int, created: str, later: list[str], n: int) -> int:
    cid = conversation(api, mailbox, created, email=f"c{n}@example.com")
    for at in later:
        note(api, cid, at)
    return cid


def _boundaries(instants: list[datetime]) -> list[datetime]:
    """Each instant and a second either side, and each of their days' midnights and a second before."""
    second = timedelta(seconds=1)
    points: set[datetime] = set()
    for at in instants:
        midnight = at.replace(hour=0, minute=0, second=0)
        points.update({at - second, at, at + second, midnight, midnight - second})
        points.update({midnight + timedelta(days=1), midnight + timedelta(days=1) - second})
    return sorted(points)


class TestBucketDefinition:
    def test_every_interval_between_boundaries(self, api: Api, engine: Engine) -> None:
        mailbox = api.mailbox()
        for n, (created, later) in enumerate(HISTORY):
            _imported(api, mailbox, created, later, n)
        mark_spam(api, _imported(api, mailbox, *SPAM, 100))
        delete_conversation(api, _imported(api, mailbox, *DELETED, 101))
        draft_body = {
            "subject": "draft",
            "type": "email",
            "mailboxId": mailbox,
            "status": "active",
            "customer": {"email": "draft@example.com"},
            "threads": [{"type": "reply", "text": "x", "draft": True}],
        }
        api.created_id(api.post("/v2/conversations", draft_body))  # state draft: never counted

        with engine.connect() as conn:
            counted = {
                row.id: {row.created_at}
                for row in conn.execute(
                    select(conversations.c.id, conversations.c.created_at).where(
                        conversations.c.state == "published", conversations.c.status != "spam"
                    )
                )
            }
            for row in conn.execute(select(threads.c.conversation_id, threads.c.created_at)):
                if row.conversation_id in counted:
                    counted[row.conversation_id].add(row.created_at)
            historic = [at for instants in counted.values() for at in instants if at.year < 2020]
            points = _boundaries(historic)
            checked = 0
            for start, end in combinations_with_replacement(points, 2):
                if end - start > timedelta(days=7):
                    continue
                interval = Interval(start, end)
                expected = sorted(
                    cid for cid, instants in counted.items() if any(start <= at <= end for at in instants)
                )
                count, ids = queries.kept_page_of(conn, "bucket", EVERYONE, interval, 0, 100)
                assert (count, sorted(ids)) == (len(expected), expected), (start, end)
                assert queries.summary(conn, EVERYONE, interval).total == len(expected), (start, end)
                checked += 1
        assert checked > 500
