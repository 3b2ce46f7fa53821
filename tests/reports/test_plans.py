"""Every report statement reads its rows by index ranges: no full pass over a large table.

At a million conversations one full pass over `conversations`, `threads`, `conversation_tags` or
`conversation_activity` costs hundreds of milliseconds, which is what the reports used to do
(walking every published conversation by state and testing each against the interval).

The statements each report endpoint runs are captured and explained on SQLite, whose plans are
the same whatever the data size (it has no statistics here), so a test database shows the plan
a million conversations get. PostgreSQL plans by statistics: on a test database's few rows it
rightly reads whole tiny tables, so its plans prove nothing here; they were read at 1M
conversations instead (the activity index, the partial thread indexes and primary keys).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import event

from tests.reports.history import DEC, JAN, january_history, report, run_workflow, workflow
from tests.support.api import Api

LARGE = ("conversations", "threads", "conversation_tags", "conversation_activity")
# "SCAN conversations" and "SCAN conversations USING [COVERING] INDEX …" both read it all.
FULL = re.compile(rf"\bSCAN ({'|'.join(LARGE)})\b")


@pytest.fixture
def captured(app: FastAPI) -> Iterator[list[tuple[str, Any]]]:
    statements: list[tuple[str, Any]] = []

    def keep(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool) -> None:
        if any(name in statement for name in LARGE):
            statements.append((statement, parameters))

    engine = app.state.db.engine
    event.listen(engine, "before_cursor_execute", keep)
    yield statements
    event.remove(engine, "before_cursor_execute", keep)


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_no_report_statement_reads_a_large_table_whole(
    api: Api, app: FastAPI, captured: list[tuple[str, Any]]
) -> None:
    h = january_history(api)
    flow = workflow(api, h.mailbox, "Escalate")
    run_workflow(api, flow, [h.a])
    captured.clear()
    both = {**JAN, **DEC}
    report(api, **both)
    report(api, **JAN, mailboxes=str(h.mailbox), tags=str(h.vip), types="email,chat")
    for path in ("/new", "/received-messages", "/volume-by-channel"):
        report(api, path, **both)
    report(api, "/busy-times", **JAN)
    for path in ("/drilldown", "/new-drilldown"):
        report(api, path, **JAN)
    for field, value in (
        ("tagid", h.vip),
        ("replyid", h.refund),
        ("workflowid", flow),
        ("customerid", h.alice),
    ):
        report(api, "/fields-drilldown", **JAN, field=field, fieldid=value)
    statements = list(captured)  # the EXPLAINs below are captured too
    assert len(statements) >= 20
    with app.state.db.engine.connect() as conn:
        for statement, parameters in statements:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plan = "\n".join(str(row[-1]) for row in rows)
            assert not FULL.search(plan), f"{statement}\n\n{plan}"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_the_bucket_seeks_each_day_below_the_start(
    api: Api, app: FastAPI, captured: list[tuple[str, Any]]
) -> None:
    """The bucket's reads of the day index bound `previous_at` within each day, so the rows of a
    conversation's later days in the interval are never read (`in_bucket`'s `day_by_day`); the
    tags' shares over every tag read each tag's range of days whole, and over the previous
    interval's chosen tags day by day; neither sorts its rows to group them by tag."""
    h = january_history(api)
    captured.clear()
    report(api, **JAN, **DEC)
    report(api, "/drilldown", **JAN)
    report(api, "/fields-drilldown", **JAN, field="tagid", fieldid=h.vip)
    seeks = re.compile(
        r"USING COVERING INDEX ix_conversation(_tag)?_activity_(day|tag) "
        r"\((tag_id=\? AND )?day=\? AND previous_at<\?\)"
    )
    plans = []
    with app.state.db.engine.connect() as conn:
        for statement, parameters in list(captured):
            if "_activity" not in statement or "_threads" in statement:
                continue  # not a bucket read: the thread lists are the next test's
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans.append((statement, "\n".join(str(row[-1]) for row in rows)))
    per_tag = "conversation_tag_activity.tag_id = tags.id"
    shares = [(statement, plan) for statement, plan in plans if per_tag in statement]
    bucket_reads = [plan for statement, plan in plans if per_tag not in statement]
    assert len(shares) == 2 and len(bucket_reads) == 4, plans  # summary ×2, drilldown, tag drilldown
    for plan in bucket_reads:
        assert seeks.search(plan), plan
    for statement, plan in shares:
        assert "TEMP B-TREE" not in plan, plan
        chosen_tags = "tags.id IN" in statement
        assert bool(seeks.search(plan)) == chosen_tags, plan
        assert ("(tag_id=? AND day>? AND day<?)" in plan) != chosen_tags, plan


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unfiltered_thread_lists_look_no_conversation_up(
    api: Api, app: FastAPI, captured: list[tuple[str, Any]]
) -> None:
    """Without filters, the saved-reply and workflow lists leave out the threads of the
    conversations reports do not count, listed from their activity rows' own index, instead of
    looking each thread's conversation up; with a filter they look it up."""
    h = january_history(api)
    flow = workflow(api, h.mailbox, "Escalate")
    run_workflow(api, flow, [h.a])
    captured.clear()
    report(api, **JAN, **DEC)
    unfiltered = list(captured)
    captured.clear()
    report(api, **JAN, mailboxes=str(h.mailbox))
    filtered = list(captured)

    def list_plans(statements: list[tuple[str, Any]]) -> list[str]:
        plans = []
        with app.state.db.engine.connect() as conn:
            for statement, parameters in statements:
                if "_threads" in statement:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    plans.append("\n".join(str(row[-1]) for row in rows))
        return plans

    now_and_before = list_plans(unfiltered)
    # Saved replies now and before; workflows now only (the run is today's, not January's, so
    # there is no top entry to count before).
    assert len(now_and_before) == 3, now_and_before
    for plan in now_and_before:
        assert "USING COVERING INDEX ix_conversation_activity_unreported (day>? AND day<?)" in plan, plan
        assert "conversations" not in plan.replace("conversation_activity", ""), plan
    with_filter = list_plans(filtered)
    assert len(with_filter) == 2, with_filter
    for plan in with_filter:
        assert "SEARCH conversations USING INTEGER PRIMARY KEY" in plan, plan


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_unfiltered_received_messages_look_no_conversation_up(
    api: Api, app: FastAPI, captured: list[tuple[str, Any]]
) -> None:
    """The received messages are counted from the threads' index, the uncounted conversations
    left out as in the thread lists (previous test); with a filter, each is looked up."""
    h = january_history(api)
    plans: dict[str, str] = {}
    for name, filters in (("unfiltered", {}), ("filtered", {"mailboxes": str(h.mailbox)})):
        captured.clear()
        report(api, "/received-messages", **JAN, **filters)
        (statement, parameters), *others = [(s, p) for s, p in captured if "FROM threads" in s]
        assert others == [], others
        with app.state.db.engine.connect() as conn:
            rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            plans[name] = "\n".join(str(row[-1]) for row in rows)
    assert "COVERING INDEX ix_conversation_activity_unreported" in plans["unfiltered"], plans
    assert "conversations" not in plans["unfiltered"].replace("conversation_activity", ""), plans
    assert "SEARCH conversations USING INTEGER PRIMARY KEY" in plans["filtered"], plans


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_new_conversations_seek_each_counted_status(
    api: Api, app: FastAPI, captured: list[tuple[str, Any]]
) -> None:
    """Unfiltered, the counts of conversations created in an interval read (state, status,
    created_at) alone, one range of creation times per status reports count, not each row for
    its status. The statements that read the rows anyway (by type, the new-drilldown's page
    sorted by modification time) or filter on other columns read (state, created_at)'s one
    range in order; the new-drilldown's walk reads the most recently modified instead."""
    h = january_history(api)
    seeks = re.compile(
        r"COVERING INDEX ix_conversations_state_status_created "
        r"\(state=\? AND status=\? AND created_at>\? AND created_at<\?\)"
    )
    in_order = "INDEX ix_conversations_state_created (state=? AND created_at>? AND created_at<?)"
    walked = "INDEX ix_conversations_state_modified (state=? AND modified_at>?)"

    def plans(path: str, **params: Any) -> list[tuple[str, str]]:
        captured.clear()
        report(api, path, **JAN, **params)
        found = []
        with app.state.db.engine.connect() as conn:
            for statement, parameters in list(captured):  # the EXPLAINs are captured too
                if "conversations.created_at BETWEEN" in statement:
                    rows = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
                    found.append((statement, "\n".join(str(row[-1]) for row in rows)))
        return found

    for path, filters, index_only in (
        ("/new", {}, True),
        ("/busy-times", {}, True),
        ("/new", {"mailboxes": str(h.mailbox)}, False),
        ("/volume-by-channel", {}, False),
    ):
        ((_, plan),) = plans(path, **filters)
        assert bool(seeks.search(plan)) == index_only, (path, filters, plan)
        assert (in_order in plan) != index_only, (path, filters, plan)
    # The walk holds the first page of one row (then the matches are counted); not one of 25.
    (_, walk), (count, plan) = plans("/new-drilldown", rows=1)
    assert walked in walk and count.startswith("SELECT count(*)") and seeks.search(plan), (walk, plan)
    (_, walk), (_, plan) = plans("/new-drilldown")
    assert walked in walk and in_order in plan and not seeks.search(plan), (walk, plan)
