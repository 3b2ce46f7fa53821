"""new, received-messages, volume-by-channel and busy-times: periods in the company time zone.

New York is UTC-5 until 2015-03-08 07:00Z and UTC-4 after; expected periods and slots below
are worked out by hand from those offsets.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from tests.reports.history import conversation, customer_thread, mark_spam, note, reply, report
from tests.support.api import Api

MARCH = {"start": "2015-03-01T00:00:00Z", "end": "2015-03-10T23:59:59Z"}
QUARTER = {"start": "2015-01-01T00:00:00Z", "end": "2015-03-31T23:59:59Z"}  # 90 days


def ny_days(counts: dict[str, int]) -> list[dict[str, Any]]:
    """The 12 New York days touching MARCH (Feb 28 .. Mar 10) as {start, count} items."""
    starts = ["2015-03-01T00:00:00Z"]  # Feb 28 local began earlier: clamped to the interval start
    starts += [f"2015-03-{d:02d}T05:00:00Z" for d in range(1, 9)]  # EST midnights
    starts += ["2015-03-09T04:00:00Z", "2015-03-10T04:00:00Z"]  # EDT midnights
    local = ["02-28", *[f"03-{d:02d}" for d in range(1, 11)]]
    return [{"start": s, "count": counts.get(day, 0)} for s, day in zip(starts, local, strict=True)]


class TestCounted:
    def test_received_messages_leave_out_spam_as_its_status_changes(self, api: Api) -> None:
        """Unfiltered, the received messages of spam are left out through the activity rows'
        copy of each conversation's status, which follows its changes; filtered, through the
        conversation itself: both count the same."""
        mailbox = api.mailbox()
        conversation(api, mailbox, "2015-03-02T12:00:00Z", email="kept@example.com")
        spam = conversation(api, mailbox, "2015-03-03T12:00:00Z", email="spam@example.com")
        customer_thread(api, spam, "2015-03-04T12:00:00Z", "spam@example.com")
        mark_spam(api, spam)

        def received(**filters: str) -> int:
            body = report(api, "/received-messages", **MARCH, viewBy="day", **filters)
            return sum(item["count"] for item in body["current"])

        assert received() == received(mailboxes=str(mailbox)) == 1
        active = {"op": "replace", "path": "/status", "value": "active"}
        assert api.patch(f"/v2/conversations/{spam}", active).status_code == 204
        assert received() == received(mailboxes=str(mailbox)) == 3


class TestTimeZone:
    def test_days_hours_and_channels_in_new_york(self, api: Api, app: FastAPI) -> None:
        app.state.settings.timezone = "America/New_York"
        mailbox = api.mailbox()
        # 03:00Z is 22:00 on Monday Mar 2 in New York: it counts on the previous local day.
        t1 = conversation(api, mailbox, "2015-03-03T03:00:00Z", email="t1@example.com")
        # 05:00Z is midnight starting Tuesday Mar 3.
        t2 = conversation(api, mailbox, "2015-03-03T05:00:00Z", email="t2@example.com", type="chat")
        # After the DST change 04:30Z is 00:30 on Monday Mar 9 (under EST it would be Mar 8).
        t3 = conversation(api, mailbox, "2015-03-09T04:30:00Z", email="t3@example.com", type="phone")
        customer_thread(api, t1, "2015-03-04T02:00:00Z", "t1@example.com")  # Mar 3, 21:00 local
        note(api, t2, "2015-03-05T12:00:00Z")  # not a message from a customer
        reply(api, t2, "2015-03-05T13:00:00Z")  # neither
        customer_thread(api, t3, "2015-03-11T05:00:00Z", "t3@example.com")  # after the end

        new = report(api, "/new", **MARCH, viewBy="day")
        assert new == {"current": ny_days({"03-02": 1, "03-03": 1, "03-09": 1})}
        received = report(api, "/received-messages", **MARCH, viewBy="day")
        assert received == {"current": ny_days({"03-02": 1, "03-03": 2, "03-09": 1})}

        volume = report(api, "/volume-by-channel", **MARCH)  # default view for 10 days: day
        expected_volume = [{"date": item["start"], "chat": 0, "email": 0, "phone": 0} for item in ny_days({})]
        expected_volume[2]["email"] = 1  # Mar 2 (index 0 is Feb 28)
        expected_volume[3]["chat"] = 1  # Mar 3
        expected_volume[9]["phone"] = 1  # Mar 9
        assert volume == {"current": expected_volume}

        busy = report(api, "/busy-times", **MARCH)
        assert len(busy) == 168
        assert busy[:2] == [{"day": 1, "hour": 0, "count": 1}, {"day": 1, "hour": 1, "count": 0}]
        assert [slot for slot in busy if slot["count"]] == [
            {"day": 1, "hour": 0, "count": 1},  # t3, Monday 00:30
            {"day": 1, "hour": 22, "count": 1},  # t1, Monday 22:00
            {"day": 2, "hour": 0, "count": 1},  # t2, Tuesday 00:00
        ]
        overall = report(api, **MARCH)
        # Monday has two; its hours 0 and 22 tie, so 0. Hours 23-1 and 0-2 both hold two: 0 first.
        assert overall["busiestDay"] == {"day": 1, "hour": 0, "count": 2}
        assert (overall["busyTimeStart"], overall["busyTimeEnd"]) == (0, 2)

        app.state.settings.timezone = "UTC"
        utc = report(api, "/new", **MARCH, viewBy="day")["current"]
        assert utc[0] == {"start": "2015-03-01T00:00:00Z", "count": 0}
        assert [(i["start"], i["count"]) for i in utc if i["count"]] == [
            ("2015-03-03T00:00:00Z", 2),
            ("2015-03-09T00:00:00Z", 1),
        ]
        assert len(utc) == 10

    def test_weeks_and_months(self, api: Api, app: FastAPI) -> None:
        mailbox = api.mailbox()
        made = iter(range(1, 100))

        def new(created: str) -> int:
            return conversation(api, mailbox, created, email=f"w{next(made)}@example.com")

        new("2015-01-01T03:00:00Z")  # Thursday; in New York still Dec 31
        new("2015-01-04T23:59:59Z")  # Sunday: the week of Mon Dec 29
        new("2015-01-05T00:00:00Z")  # Monday: the next week
        new("2015-02-15T00:00:00Z")  # Sunday: the week of Feb 9
        new("2015-03-31T12:00:00Z")  # Tuesday: the week of Mar 30
        new("2014-11-11T11:00:00Z")  # previous range only

        mondays = ["2015-01-01T00:00:00Z"]  # the week of Dec 29, clamped to the interval start
        mondays += [f"2015-01-{d:02d}T00:00:00Z" for d in (5, 12, 19, 26)]
        mondays += [f"2015-02-{d:02d}T00:00:00Z" for d in (2, 9, 16, 23)]
        mondays += [f"2015-03-{d:02d}T00:00:00Z" for d in (2, 9, 16, 23, 30)]
        weekly = {0: 2, 1: 1, 6: 1, 13: 1}
        expected_weeks = [{"start": s, "count": weekly.get(i, 0)} for i, s in enumerate(mondays)]
        assert report(api, "/new", **QUARTER, viewBy="week") == {"current": expected_weeks}
        assert report(api, "/new", **QUARTER) == {"current": expected_weeks}  # 90 days: week by default

        previous = {"previousStart": "2014-10-01T00:00:00Z", "previousEnd": "2014-12-31T23:59:59Z"}
        monthly = report(api, "/new", **QUARTER, **previous, viewBy="month")
        assert monthly == {
            "current": [
                {"start": "2015-01-01T00:00:00Z", "count": 3},
                {"start": "2015-02-01T00:00:00Z", "count": 1},
                {"start": "2015-03-01T00:00:00Z", "count": 1},
            ],
            "previous": [
                {"start": "2014-10-01T00:00:00Z", "count": 0},
                {"start": "2014-11-01T00:00:00Z", "count": 1},
                {"start": "2014-12-01T00:00:00Z", "count": 0},
            ],
        }
        volume = report(api, "/volume-by-channel", **QUARTER, **previous, viewBy="month")
        assert [v["email"] for v in volume["current"]] == [3, 1, 1]
        assert [v["email"] for v in volume["previous"]] == [0, 1, 0]
        assert [v["date"] for v in volume["previous"]] == [i["start"] for i in monthly["previous"]]

        app.state.settings.timezone = "America/New_York"
        assert report(api, "/new", **QUARTER, viewBy="month") == {
            "current": [
                {"start": "2015-01-01T00:00:00Z", "count": 1},  # Dec 31 local, clamped
                {"start": "2015-01-01T05:00:00Z", "count": 2},
                {"start": "2015-02-01T05:00:00Z", "count": 1},  # Feb 14 19:00 local
                {"start": "2015-03-01T05:00:00Z", "count": 1},
            ]
        }
