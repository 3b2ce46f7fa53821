"""fields-drilldown, drilldown and new-drilldown: membership, ordering, paging, result items.

Membership is checked against `january_history`, whose conversations each sit just inside or
just outside one rule; the expected lists are written out by hand, newest change first.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI
from sqlalchemy import event

from tests.reports.history import (
    DEC,
    JAN,
    conversation,
    ids_of,
    january_history,
    mark_spam,
    note,
    number_of,
    page_of,
    report,
    run_workflow,
    tag_ids,
    workflow,
)
from tests.support.api import Api
from tidings.reports.queries import Interval, Scope, kept_page_of

RESULT_KEYS = [
    "id",
    "number",
    "type",
    "mailboxid",
    "attachments",
    "subject",
    "status",
    "threadCount",
    "preview",
    "customerName",
    "customerEmail",
    "customerIds",
    "modifiedAt",
    "assignedid",
    "tags",
    "assignedName",
]


def fields(api: Api, field: str, fieldid: int, **interval: str) -> list[int]:
    return ids_of(api, "/fields-drilldown", **(interval or JAN), field=field, fieldid=fieldid)


class TestFieldsDrilldown:
    def test_each_field_kind_with_near_misses(self, api: Api) -> None:
        h = january_history(api)
        # Modified: G 02-05, E 01-31, B 01-10, A 01-06, F 01-01.
        # vip is also on C (1 s before start), D (touched 1 s after end), S (spam), X (deleted).
        assert fields(api, "tagid", h.vip) == [h.b, h.a]
        assert fields(api, "tagid", h.billing) == [h.a, h.f]
        # Refund was also used on G after the end, on D after the end, on spam S and deleted X.
        assert fields(api, "replyid", h.refund) == [h.a]
        assert fields(api, "replyid", h.shipping) == [h.b]
        # alice also owns C, S and X.
        assert fields(api, "customerid", h.alice) == [h.a, h.f]
        assert fields(api, "customerid", h.bob) == [h.g, h.b]
        assert fields(api, "customerid", h.carol) == [h.e]
        # December: Refund reply on D came in February, so none; vip on D, B, C.
        dec = {"start": DEC["previousStart"], "end": DEC["previousEnd"]}
        assert fields(api, "replyid", h.refund, **dec) == []
        assert fields(api, "tagid", h.vip, **dec) == [h.d, h.b, h.c]
        # An id nothing carries: an empty page with true totals.
        assert page_of(api, "/fields-drilldown", **JAN, field="tagid", fieldid=999999) == {
            "pages": 0,
            "page": 1,
            "count": 0,
            "results": [],
        }

    def test_workflow_runs_inside_the_interval(self, api: Api) -> None:
        mailbox = api.mailbox()
        escalate = workflow(api, mailbox, "Escalate")
        close = workflow(api, mailbox, "Close")
        p, q, r, z = (api.conversation(mailbox) for _ in range(4))
        # O was created long ago; the run (now) touches it, so it is in today's bucket too.
        o = conversation(api, mailbox, "2015-01-10T10:00:00Z", email="old@example.com")
        run_workflow(api, escalate, [p, q, o])
        run_workflow(api, escalate, [p])  # a second run on P: one more run, not one more conversation
        run_workflow(api, close, [r])
        run_workflow(api, escalate, [z])
        mark_spam(api, z)
        now = datetime.now(UTC)
        today = {
            "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        assert sorted(fields(api, "workflowid", escalate, **today)) == sorted([p, q, o])
        assert fields(api, "workflowid", close, **today) == [r]
        body = report(api, **today)
        assert body["current"]["totalConversations"] == 4  # P, Q, R, O; Z is spam
        assert body["workflows"] == {
            "count": 5,  # runs: P twice, Q, O, R
            "top": [
                {"id": escalate, "name": "Escalate", "count": 3, "percent": 75.0},
                {"id": close, "name": "Close", "count": 1, "percent": 25.0},
            ],
        }
        # In January O is in the bucket (created then) but the run is not in January.
        assert report(api, **JAN)["current"]["totalConversations"] == 1
        assert fields(api, "workflowid", escalate) == []
        assert report(api, **JAN)["workflows"] == {"count": 0, "top": []}

    def test_result_items(self, api: Api) -> None:
        h = january_history(api)
        results = {
            r["id"]: r
            for r in page_of(api, "/fields-drilldown", **JAN, field="tagid", fieldid=h.billing)["results"]
        }
        f = results[h.f]
        assert list(f) == RESULT_KEYS
        assert f == {
            "id": h.f,
            "number": number_of(api, h.f),
            "type": "phone",
            "mailboxid": h.mailbox,
            "attachments": False,
            "subject": "About alice@example.com at 2015-01-01T00:00:00Z",
            "status": "active",
            "threadCount": 1,
            "preview": "Hello from alice@example.com",
            "customerName": "Alice Smith",
            "customerEmail": "alice@example.com",
            "customerIds": [h.alice],
            "modifiedAt": "2015-01-01T00:00:00Z",
            "assignedid": h.mary,
            "tags": [{"id": h.billing, "name": "billing", "color": "none"}],
            "assignedName": "Mary Jones",
        }
        a = results[h.a]
        assert a["attachments"] is True
        assert a["threadCount"] == 2  # the customer's email and the reply
        assert a["modifiedAt"] == "2015-01-06T09:00:00Z"
        assert a["assignedid"] is None and a["assignedName"] is None
        assert a["tags"] == [
            {"id": h.billing, "name": "billing", "color": "none"},
            {"id": h.vip, "name": "vip", "color": "none"},
        ]

    def test_customer_email_is_the_first_address_or_empty(self, api: Api) -> None:
        mailbox = api.mailbox()
        nameless = api.created_id(api.post("/v2/customers", {"firstName": "No", "lastName": "Mail"}))
        twice = api.created_id(
            api.post(
                "/v2/customers",
                {
                    "firstName": "Two",
                    "lastName": "Mails",
                    "emails": [{"value": "first@example.com"}, {"value": "second@example.com"}],
                },
            )
        )
        without = conversation(api, mailbox, "2015-01-03T00:00:00Z", email="-", customer_id=nameless)
        with_two = conversation(api, mailbox, "2015-01-02T00:00:00Z", email="-", customer_id=twice)
        results = page_of(api, **JAN)["results"]
        assert [r["id"] for r in results] == [without, with_two]
        assert (results[0]["customerEmail"], results[0]["customerName"]) == ("", "No Mail")
        assert results[0]["customerIds"] == [nameless]
        assert results[1]["customerEmail"] == "first@example.com"


class TestPagingAndOrder:
    def test_rows_pages_and_tie_order(self, api: Api) -> None:
        mailbox = api.mailbox()
        made = itertools.count(1)

        def bulk(created: str) -> int:
            return conversation(api, mailbox, created, email=f"p{next(made)}@example.com", tags=["bulk"])

        p1 = bulk("2015-03-01T10:00:00Z")
        p2 = bulk("2015-03-01T11:00:00Z")
        p3 = bulk("2015-03-01T11:00:00Z")
        p4 = bulk("2015-03-02T09:00:00Z")
        p5 = bulk("2015-03-02T09:00:00Z")
        p6 = bulk("2015-03-02T09:00:00Z")
        p7 = bulk("2015-02-27T09:00:00Z")
        note(api, p7, "2015-03-01T12:00:00Z")  # created before, touched inside: modified 03-01 12:00
        interval = {"start": "2015-03-01T00:00:00Z", "end": "2015-03-02T23:59:59Z"}
        everything = [p6, p5, p4, p7, p3, p2, p1]  # modifiedAt desc, then id desc
        assert ids_of(api, **interval) == everything
        bulk_tag = tag_ids(api, p1)["bulk"]
        for path, extra in (
            ("/drilldown", {}),
            ("/fields-drilldown", {"field": "tagid", "fieldid": bulk_tag}),
        ):
            pages = [page_of(api, path, **interval, **extra, rows=3, page=n) for n in (1, 2, 3, 4)]
            assert [[r["id"] for r in p["results"]] for p in pages] == [
                everything[:3],
                everything[3:6],
                [p1],
                [],
            ]
            assert [(p["pages"], p["page"], p["count"]) for p in pages] == [
                (3, 1, 7),
                (3, 2, 7),
                (3, 3, 7),
                (3, 4, 7),
            ]
        whole = page_of(api, **interval)
        assert (whole["pages"], whole["count"], len(whole["results"])) == (1, 7, 7)
        assert (page_of(api, **interval, rows=50)["pages"]) == 1
        assert ids_of(api, "/new-drilldown", **interval) == [p6, p5, p4, p3, p2, p1]


class TestDrilldownBuckets:
    def test_bucket_and_new(self, api: Api) -> None:
        h = january_history(api)
        assert ids_of(api, **JAN) == [h.g, h.e, h.b, h.a, h.f]
        assert ids_of(api, "/new-drilldown", **JAN) == [h.g, h.e, h.a, h.f]
        dec = {"start": DEC["previousStart"], "end": DEC["previousEnd"]}
        assert ids_of(api, **dec) == [h.d, h.b, h.c]
        # The bounds are inclusive to the second.
        assert ids_of(api, start="2015-01-31T23:59:59Z", end="2015-01-31T23:59:59Z") == [h.e]
        assert ids_of(api, start="2015-02-01T00:00:00Z", end="2015-02-01T00:00:00Z") == [h.d]
        assert ids_of(api, "/new-drilldown", start="2015-02-01T00:00:00Z", end="2015-02-01T00:00:00Z") == []


class TestWalkedPages:
    """The bucket, its new conversations and a tag's share find a page by walking the most
    recently modified conversations (`queries.kept_page_of`). A walk that does not reach the
    page's matches within its cap, here because conversations outside the interval were
    modified since, leaves the page to the sorted matches: the same page either way."""

    def test_a_walk_too_short_for_the_page_gives_way(self, api: Api, app: FastAPI) -> None:
        mailbox = api.mailbox()
        made = itertools.count(1)

        def at(created: str, *more_tags: str) -> int:
            email = f"w{next(made)}@example.com"
            return conversation(api, mailbox, created, email=email, tags=["walked", *more_tags])

        a = at("2015-01-05T10:00:00Z")
        b = at("2015-01-10T10:00:00Z")
        c = at("2015-01-20T10:00:00Z", "rare")
        for day in range(1, 5):  # modified after the interval: what a walk reads first
            at(f"2015-03-0{day}T10:00:00Z")
        tag = tag_ids(api, a)["walked"]
        january = Interval(datetime(2015, 1, 1, tzinfo=UTC), datetime(2015, 1, 31, 23, 59, 59, tzinfo=UTC))
        statements: list[str] = []

        def keep(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
            statements.append(statement)

        engine = app.state.db.engine
        event.listen(engine, "before_cursor_execute", keep)
        try:
            for kind, field_id in (("bucket", 0), ("new", 0), ("tagid", tag)):
                # (walk cap, offset, whether the walk holds the page): the 8 most recent hold
                # the first two matches; the 4 most recent hold none; no walk holds a fourth.
                for cap, offset, held in ((8, 0, True), (4, 0, False), (8, 2, False)):
                    statements.clear()
                    with engine.connect() as conn:
                        page = kept_page_of(
                            conn, kind, Scope(None), january, offset, 2, field_id, walk_cap=cap
                        )
                    assert page == (3, [c, b] if offset == 0 else [a]), (kind, cap, offset)
                    # PostgreSQL does not walk a tag's share (see `queries.WALKED_KINDS`).
                    walks = kind != "tagid" or engine.dialect.name == "sqlite"
                    walked = [s for s in statements if "min(recent.modified_at)" in s]
                    sorted_page = [s for s in statements if "total.n" in s]
                    assert len(walked) == int(walks), (kind, cap, offset, statements)
                    assert bool(sorted_page) != (held and walks), (kind, cap, offset, statements)
            # A tag on one conversation in seven: the 8 most recent would hold its first match,
            # but its share says a walk is unlikely to, and the page is sorted from its matches.
            statements.clear()
            with engine.connect() as conn:
                rare = tag_ids(api, c)["rare"]
                assert kept_page_of(conn, "tagid", Scope(None), january, 0, 1, rare, walk_cap=8) == (1, [c])
            assert [s for s in statements if "total.n" in s], statements
        finally:
            event.remove(engine, "before_cursor_execute", keep)
