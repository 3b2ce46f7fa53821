"""GET /v2/reports/conversations: totals, previous range and deltas, top lists, busiest times.

Every expected number is counted by hand from `january_history` (see its docstring): the
January bucket is A, B, E, F, G; December's is B, C, D.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.reports.history import (
    DEC,
    JAN,
    conversation,
    customer_of,
    january_history,
    mark_spam,
    page_of,
    report,
)
from tests.support.api import Api


class TestOverall:
    def test_current_numbers_without_previous(self, api: Api) -> None:
        h = january_history(api)
        body = report(api, **JAN)
        assert list(body) == [
            "filterTags",
            "busiestDay",
            "busyTimeStart",
            "busyTimeEnd",
            "current",
            "tags",
            "customers",
            "replies",
            "workflows",
        ]
        assert body["filterTags"] == [{"name": "billing", "id": h.billing}, {"name": "vip", "id": h.vip}]
        assert body["current"] == {
            "startDate": "2015-01-01T00:00:00Z",
            "endDate": "2015-01-31T23:59:59Z",
            "totalConversations": 5,  # A, B, E, F, G
            "conversationsCreated": 4,  # A, E, F, G
            "newConversations": 4,
            "customers": 3,  # alice (A, F), bob (B, G), carol (E)
            "conversationsPerDay": 0,  # 5 / 31 days = 0.16
        }
        # New: A Mon 10h, F Thu 0h, G Fri 15h, E Sat 23h: one each, so Monday wins the tie;
        # the busiest two hours are 23h-1h (E at 23h, F at 0h).
        assert body["busiestDay"] == {"day": 1, "hour": 10, "count": 1}
        assert (body["busyTimeStart"], body["busyTimeEnd"]) == (23, 1)
        tags: list[dict[str, Any]] = sorted(
            [{"id": h.vip, "name": "vip", "count": 2}, {"id": h.billing, "name": "billing", "count": 2}],
            key=lambda e: e["id"],
        )
        assert body["tags"] == {"count": 2, "top": [{**e, "percent": 40.0} for e in tags]}
        assert body["customers"] == {
            "count": 5,
            "top": [
                {"id": h.alice, "name": "Alice Smith", "count": 2, "percent": 40.0},
                {"id": h.bob, "name": "Bob Brown", "count": 2, "percent": 40.0},
                {"id": h.carol, "name": "Carol White", "count": 1, "percent": 20.0},
            ],
        }
        assert body["replies"] == {
            "count": 2,  # A's Refund reply and B's Shipping reply; G's and D's fall outside
            "top": [
                {
                    "id": h.refund,
                    "name": "Refund policy",
                    "mailboxId": h.mailbox,
                    "count": 1,
                    "percent": 20.0,
                },
                {
                    "id": h.shipping,
                    "name": "Shipping times",
                    "mailboxId": h.mailbox,
                    "count": 1,
                    "percent": 20.0,
                },
            ],
        }
        assert body["workflows"] == {"count": 0, "top": []}

    def test_previous_range_and_deltas(self, api: Api) -> None:
        h = january_history(api)
        body = report(api, **JAN, **DEC)
        assert body["previous"] == {
            "startDate": "2014-12-01T00:00:00Z",
            "endDate": "2014-12-31T23:59:59Z",
            "totalConversations": 3,  # B, C, D
            "conversationsCreated": 3,
            "newConversations": 3,
            "customers": 3,
            "conversationsPerDay": 0,
        }
        assert body["deltas"] == {
            "newConversations": pytest.approx(33.3333333333),  # (4 - 3) / 3
            "totalConversations": pytest.approx(66.6666666667),  # (5 - 3) / 3
            "customers": 0.0,
            "conversationsCreated": pytest.approx(33.3333333333),
            "conversationsPerDay": 0.0,  # 0 then and now
        }
        by_id = {e["id"]: e for e in body["tags"]["top"]}
        # vip: A, B now (2 of 5); B, C, D before (3 of 3).
        assert by_id[h.vip] == {
            "id": h.vip,
            "name": "vip",
            "count": 2,
            "previousCount": 3,
            "percent": 40.0,
            "previousPercent": 100.0,
            "deltaPercent": -60.0,
        }
        assert by_id[h.billing] == {
            "id": h.billing,
            "name": "billing",
            "count": 2,
            "previousCount": 0,
            "percent": 40.0,
            "previousPercent": 0.0,
            "deltaPercent": 40.0,
        }
        customers = body["customers"]["top"]
        assert [
            (e["id"], e["previousCount"], e["previousPercent"], e["deltaPercent"]) for e in customers
        ] == [
            (h.alice, 1, 33.333, 6.667),  # C before; 40 - 33.333
            (h.bob, 1, 33.333, 6.667),  # B before
            (h.carol, 1, 33.333, -13.333),  # D before; 20 - 33.333
        ]
        assert [(e["previousCount"], e["deltaPercent"]) for e in body["replies"]["top"]] == [
            (0, 20.0),
            (0, 20.0),
        ]

    def test_top_counts_equal_fields_drilldown_counts(self, api: Api) -> None:
        january_history(api)
        body = report(api, **JAN, **DEC)
        fields = {"tags": "tagid", "customers": "customerid", "replies": "replyid", "workflows": "workflowid"}
        checked = 0
        for kind, field in fields.items():
            for entry in body[kind]["top"]:
                now = page_of(api, "/fields-drilldown", **JAN, field=field, fieldid=entry["id"])
                then = page_of(
                    api,
                    "/fields-drilldown",
                    start=DEC["previousStart"],
                    end=DEC["previousEnd"],
                    field=field,
                    fieldid=entry["id"],
                )
                assert now["count"] == entry["count"], (kind, entry)
                assert then["count"] == entry["previousCount"], (kind, entry)
                checked += 1
        assert checked == 7  # 2 tags, 3 customers, 2 saved replies

    def test_saved_replies_follow_their_conversations_status(self, api: Api) -> None:
        """S's Refund reply counts once S is no longer spam, and again not once it is: the
        unfiltered lists tell the conversations they leave out from the activity rows, which
        follow each change of status. A filter that keeps every conversation reads them by
        another path, to the same lists."""
        h = january_history(api)

        def replies(**filters: str) -> dict[int, int]:
            return {e["id"]: e["count"] for e in report(api, **JAN, **filters)["replies"]["top"]}

        assert replies() == {h.refund: 1, h.shipping: 1}
        active = {"op": "replace", "path": "/status", "value": "active"}
        assert api.patch(f"/v2/conversations/{h.s}", active).status_code == 204
        assert replies() == replies(mailboxes=str(h.mailbox)) == {h.refund: 2, h.shipping: 1}
        mark_spam(api, h.s)
        assert replies() == replies(mailboxes=str(h.mailbox)) == {h.refund: 1, h.shipping: 1}

    def test_the_top_customers_are_ten_and_ties_go_to_the_lowest_id(self, api: Api) -> None:
        """Twelve customers: two with three conversations in March, nine with two, one with one.
        The top ten are the two, then the eight of the nine with the lowest ids; the previous
        range is counted for those ten (the first customer had one conversation in February)."""
        mailbox = api.mailbox()
        counts = [2, 3, 2, 2, 1, 2, 2, 3, 2, 2, 2, 2]
        ids: list[int] = []
        for n, count in enumerate(counts):
            email = f"top{n}@example.com"
            ids.append(customer_of(api, conversation(api, mailbox, "2015-03-02T10:00:00Z", email=email)))
            for day in range(1, count):
                created = f"2015-03-0{2 + day}T10:00:00Z"
                conversation(api, mailbox, created, email=email, customer_id=ids[-1])
        conversation(api, mailbox, "2015-02-10T10:00:00Z", email="top0@example.com", customer_id=ids[0])
        march = {"start": "2015-03-01T00:00:00Z", "end": "2015-03-31T23:59:59Z"}
        body = report(api, **march, previousStart="2015-02-01T00:00:00Z", previousEnd="2015-02-28T23:59:59Z")
        expected = sorted(zip(ids, counts, strict=True), key=lambda entry: (-entry[1], entry[0]))[:10]
        assert body["current"]["customers"] == 12
        assert body["customers"]["count"] == 25  # conversations with a customer
        top = body["customers"]["top"]
        assert [(entry["id"], entry["count"]) for entry in top] == expected
        assert {entry["id"]: entry["previousCount"] for entry in top} == {
            customer: int(customer == ids[0]) for customer, _ in expected
        }
        assert body["current"]["totalConversations"] == sum(counts) == 25
        assert body["current"]["conversationsCreated"] == 25
        # Each customer's first conversation on Monday 2 March at 10h, the others later in the week.
        assert body["busiestDay"] == {"day": 1, "hour": 10, "count": 12}

    def test_conversations_per_day_rounds_half_up(self, api: Api) -> None:
        mailbox = api.mailbox()
        for n in range(7):
            api.conversation(mailbox, imported=True, createdAt=f"2015-03-0{1 + n % 2}T10:00:00Z")
        body = report(api, start="2015-03-01T00:00:00Z", end="2015-03-02T23:59:59Z")
        assert body["current"]["totalConversations"] == 7
        assert body["current"]["conversationsPerDay"] == 4  # 7 / 2 days = 3.5
        three_days = report(api, start="2015-03-01T00:00:00Z", end="2015-03-03T12:00:00Z")
        assert three_days["current"]["conversationsPerDay"] == 2  # 7 / 3 days (a partial day counts) = 2.33

    def test_empty_range(self, api: Api) -> None:
        january_history(api)
        body = report(api, start="2030-01-01T00:00:00Z", end="2030-01-01T00:00:00Z", **DEC)
        assert body["current"]["totalConversations"] == 0
        assert body["busiestDay"] is None and body["busyTimeStart"] is None and body["busyTimeEnd"] is None
        assert body["deltas"]["totalConversations"] == -100.0
        for kind in ("tags", "customers", "replies", "workflows"):
            assert body[kind] == {"count": 0, "top": []}
        # From nothing to something: no relative change can be given.
        reverse = report(api, **JAN, previousStart="2030-01-01T00:00:00Z", previousEnd="2030-01-02T00:00:00Z")
        assert reverse["deltas"]["totalConversations"] is None
        assert reverse["tags"]["top"][0]["previousPercent"] == 0.0
