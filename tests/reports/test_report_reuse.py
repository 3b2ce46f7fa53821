"""A report asked for again while the data is unchanged is sent again, not computed again."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from tests.reports.history import JAN, conversation, report
from tests.support.api import Api


def test_an_unchanged_report_is_not_computed_again(api: Api, app: FastAPI) -> None:
    mailbox = api.mailbox()
    conversation(api, mailbox, "2015-01-10T10:00:00Z", email="a@example.com")
    flights = app.state.report_flights
    first = report(api, **JAN)
    computed = flights.computations
    assert report(api, **JAN) == first
    assert report(api, "/fields-drilldown", field="customerid", fieldid=1, **JAN) is not None
    assert report(api, **JAN) == first
    assert flights.computations == computed + 1  # only the drilldown, asked for once


def test_a_write_makes_the_next_report_count_it(api: Api, app: FastAPI) -> None:
    mailbox = api.mailbox()
    conversation(api, mailbox, "2015-01-10T10:00:00Z", email="a@example.com")
    assert report(api, **JAN)["current"]["totalConversations"] == 1
    assert report(api, **JAN)["current"]["totalConversations"] == 1
    conversation(api, mailbox, "2015-01-12T10:00:00Z", email="b@example.com")
    assert report(api, **JAN)["current"]["totalConversations"] == 2


def test_callers_who_see_other_mailboxes_get_their_own_report(api: Api) -> None:
    mailbox, other = api.mailbox(), api.mailbox()
    conversation(api, mailbox, "2015-01-10T10:00:00Z", email="a@example.com")
    agent = api.as_user(api.user("user", [other]))
    assert report(api, **JAN)["current"]["totalConversations"] == 1
    assert report(agent, **JAN)["current"]["totalConversations"] == 0


def test_a_kept_report_is_sent_without_a_database_thread(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As a kept list (tests/conversations/test_list_reuse.py): the caller known under the
    stamp read on the event loop."""
    mailbox = api.mailbox()
    conversation(api, mailbox, "2015-01-10T10:00:00Z", email="a@example.com")
    first = report(api, **JAN)
    db = app.state.db
    read, calls = db.read, []

    async def counted(*args: Any) -> Any:
        calls.append(1)
        return await read(*args)

    monkeypatch.setattr(db, "read", counted)
    assert report(api, **JAN) == first
    assert calls == []
    assert api.get("/v2/reports/conversations?start=2015-01-01T00:00:00Z&end=nonsense").status_code == 400


def test_a_kept_report_is_sent_without_its_parameters_read_again(
    api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its key is the request as sent and the mailboxes the caller sees: only a valid request's
    answer is kept, so nothing is parsed to find it. Asked in other words, the same report is
    computed under its own key and reads the same."""
    from tidings.reports import router

    mailbox = api.mailbox()
    conversation(api, mailbox, "2015-01-10T10:00:00Z", email="a@example.com")
    read, parsed = router.read_query_model, []

    def counted(model: Any, request: Any) -> Any:
        parsed.append(model)
        return read(model, request)

    monkeypatch.setattr(router, "read_query_model", counted)
    first = report(api, **JAN)
    assert len(parsed) == 1
    assert report(api, **JAN) == first
    assert len(parsed) == 1, "the kept answer was found without parsing"
    reordered = dict(reversed(list(JAN.items())))
    assert list(reordered) != list(JAN)
    assert report(api, **reordered) == first
    assert len(parsed) == 2
