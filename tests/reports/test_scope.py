"""Filters (mailboxes, tags, types, folders) and access: a user counts only their mailboxes."""

from __future__ import annotations

from tests.reports.history import JAN, Person, conversation, ids_of, mark_spam, page_of, report, tag_ids
from tests.support.api import Api


class TestFilters:
    def test_each_filter_narrows_the_bucket(self, api: Api) -> None:
        one, two = api.mailbox(), api.mailbox()
        red = conversation(api, one, "2015-01-05T10:00:00Z", email="r@example.com", tags=["red"])
        blue_chat = conversation(
            api, one, "2015-01-06T10:00:00Z", email="b@example.com", tags=["blue"], type="chat"
        )
        plain_phone = conversation(api, two, "2015-01-07T10:00:00Z", email="p@example.com", type="phone")
        closed = conversation(api, two, "2015-01-08T10:00:00Z", email="c@example.com", tags=["red", "blue"])
        response = api.patch(
            f"/v2/conversations/{closed}", {"op": "replace", "path": "/status", "value": "closed"}
        )
        assert response.status_code == 204
        red_id, blue_id = tag_ids(api, closed)["red"], tag_ids(api, closed)["blue"]
        folders = {
            f["type"]: f["id"] for f in api.get(f"/v2/mailboxes/{two}/folders").json()["_embedded"]["folders"]
        }
        # `closed` was modified now (the PATCH): it sorts first.
        assert ids_of(api, **JAN) == [closed, plain_phone, blue_chat, red]
        assert ids_of(api, **JAN, mailboxes=str(one)) == [blue_chat, red]
        assert ids_of(api, **JAN, mailboxes=f"{one},{two}") == [closed, plain_phone, blue_chat, red]
        assert ids_of(api, **JAN, tags=str(red_id)) == [closed, red]
        assert ids_of(api, **JAN, tags=f"{red_id},{blue_id}") == [closed, blue_chat, red]  # any of them
        assert ids_of(api, **JAN, types="chat,phone") == [plain_phone, blue_chat]
        assert ids_of(api, **JAN, folders=str(folders["closed"])) == [closed]
        assert ids_of(api, **JAN, folders=str(folders["closed"]), types="email", mailboxes=str(one)) == []
        # The same filters drive every report of the family.
        assert report(api, **JAN, types="phone")["current"]["totalConversations"] == 1
        volume = report(api, "/volume-by-channel", **JAN, mailboxes=str(one))["current"]
        assert sum(day["chat"] for day in volume) == 1 and sum(day["email"] for day in volume) == 1
        assert sum(day["phone"] for day in volume) == 0
        assert (
            page_of(api, "/fields-drilldown", **JAN, field="tagid", fieldid=red_id, types="email")["count"]
            == 2
        )
        overall = report(api, **JAN, tags=str(blue_id))
        assert {t["id"]: t["count"] for t in overall["tags"]["top"]} == {blue_id: 2, red_id: 1}


class TestAccess:
    def test_user_counts_only_their_mailboxes(self, api: Api) -> None:
        mine, theirs = api.mailbox(), api.mailbox()
        shared: Person = {"email": "both@example.com", "first": "Both", "last": "Sides"}
        a = conversation(api, mine, "2015-01-05T10:00:00Z", **shared, tags=["vip"])
        b = conversation(api, mine, "2015-01-06T10:00:00Z", email="m2@example.com", type="chat")
        conversation(api, theirs, "2015-01-07T10:00:00Z", **shared, tags=["vip"])
        conversation(api, theirs, "2015-01-08T10:00:00Z", email="t2@example.com", tags=["vip"])
        conversation(api, theirs, "2015-01-09T10:00:00Z", email="t3@example.com", type="phone")
        vip = tag_ids(api, a)["vip"]
        customer = api.get(f"/v2/conversations/{a}").json()["primaryCustomer"]["id"]
        agent = api.as_user(api.user("user", [mine]))

        assert report(api, **JAN)["current"]["totalConversations"] == 5
        mine_only = report(agent, **JAN)
        assert mine_only["current"]["totalConversations"] == 2
        assert mine_only["tags"]["top"] == [{"id": vip, "name": "vip", "count": 1, "percent": 50.0}]
        assert mine_only["customers"]["top"][0] == {
            "id": customer,
            "name": "Both Sides",
            "count": 1,
            "percent": 50.0,
        }
        assert ids_of(agent, **JAN) == [b, a]
        assert ids_of(agent, **JAN, mailboxes=str(theirs)) == []
        assert ids_of(agent, **JAN, mailboxes=f"{mine},{theirs}") == [b, a]
        assert ids_of(agent, "/fields-drilldown", **JAN, field="customerid", fieldid=customer) == [a]
        assert page_of(api, "/fields-drilldown", **JAN, field="customerid", fieldid=customer)["count"] == 2
        assert sum(s["count"] for s in report(agent, "/busy-times", **JAN)) == 2
        assert sum(d["phone"] for d in report(agent, "/volume-by-channel", **JAN)["current"]) == 0
        assert sum(d["count"] for d in report(agent, "/received-messages", **JAN)["current"]) == 2

        nothing = api.as_user(api.user("user", []))
        assert report(nothing, **JAN)["current"]["totalConversations"] == 0
        assert page_of(nothing, **JAN)["count"] == 0

    def test_spam_is_never_counted(self, api: Api) -> None:
        mailbox = api.mailbox()
        kept = conversation(api, mailbox, "2015-01-05T10:00:00Z", email="k@example.com")
        spam = conversation(api, mailbox, "2015-01-05T11:00:00Z", email="s@example.com")
        mark_spam(api, spam)
        assert ids_of(api, **JAN) == [kept]
        assert sum(s["count"] for s in report(api, "/busy-times", **JAN)) == 1
        assert sum(d["count"] for d in report(api, "/received-messages", **JAN)["current"]) == 1
        assert sum(d["count"] for d in report(api, "/new", **JAN)["current"]) == 1
