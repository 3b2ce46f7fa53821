"""Every list sort is read in index order on both databases: no sort of the whole match set.

At a million conversations a sort over the matches is what turns a 1 ms page into seconds
(waitingSince on PostgreSQL did exactly that before it had its own descending index).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, select

from tidings.auth.caller import Caller
from tidings.conversations.listing import SORT_FIELDS, ListParams, build
from tidings.db.tables import conversations
from tidings.kit import timefmt
from tidings.kit.db import create_db_engine

EVERYONE = Caller(user_id=1, role="owner", app_id=1, mailbox_ids=None)


def _plan(engine: Engine, params: ListParams) -> str:
    with engine.connect() as conn, conn.begin():
        compiled = build(conn, EVERYONE, params, timefmt.now())
        page = select(conversations).where(compiled.condition).order_by(*compiled.order).limit(25)
        sql = str(page.compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            return "\n".join(str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))


@pytest.mark.parametrize("field", [f for f in SORT_FIELDS if f != "score"])
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_each_sort_reads_an_index_in_order(db_url: str, field: str, order: str) -> None:
    engine = create_db_engine(db_url)
    try:
        plan = _plan(engine, ListParams(status="all", sortField=field, sortOrder=order))  # type: ignore[arg-type]
    finally:
        engine.dispose()
    assert "TEMP B-TREE FOR ORDER BY" not in plan, plan
    assert not any(
        line.strip().startswith(("Sort", "->  Sort", "Incremental Sort")) for line in plan.split("\n")
    ), plan


def test_the_check_sees_a_sort(db_url: str) -> None:
    """Without its index, the waitingSince sort must show up as a sort in the plan."""
    engine = create_db_engine(db_url)
    try:
        with engine.begin() as conn:
            for name in ("ix_conversations_state_waiting_desc", "ix_conversations_state_waiting"):
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
        plan = _plan(engine, ListParams(status="all", sortField="waitingSince", sortOrder="desc"))
    finally:
        engine.dispose()
    assert "TEMP B-TREE FOR ORDER BY" in plan or "Sort" in plan, plan


@pytest.mark.parametrize("status", ["active", "all"])
def test_a_customers_conversations_are_read_through_the_customer_index(db_url: str, status: str) -> None:
    """`customerIds:` beside the list's state and status: without statistics SQLite preferred the
    state and status index and read every active conversation's row to find a customer's few."""
    plan = _planned(db_url, ListParams(query="customerIds:100", status=status), _plan)  # type: ignore[arg-type]
    assert "ix_conversations_customer" in plan, plan


def _planned(db_url: str, params: ListParams, plan_of: Callable[[Engine, ListParams], str]) -> str:
    engine = create_db_engine(db_url)
    try:
        return plan_of(engine, params)
    finally:
        engine.dispose()


def _condition_sql(engine: Engine, params: ListParams) -> str:
    with engine.connect() as conn:
        return str(build(conn, EVERYONE, params, timefmt.now()).condition.compile(conn))


def _count_plan(engine: Engine, params: ListParams) -> str:
    """The plan of the list's COUNT (the page's plan is `_plan`), its values bound as the API
    binds them (SQLite plans again for the values a partial index's predicate depends on)."""
    with engine.connect() as conn, conn.begin():
        compiled = build(conn, EVERYONE, params, timefmt.now())
        count = (
            select(func.count())
            .select_from(conversations)
            .where(compiled.condition)
            .compile(conn, compile_kwargs={"render_postcompile": True})
        )
        if conn.dialect.name == "sqlite":
            values = tuple(count.params[name] for name in count.positiontup or ())
            plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(count), values)
            return "\n".join(str(row[-1]) for row in plan)
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + str(count), count.params))


@pytest.mark.parametrize("status", ["active", "all"])
def test_conversations_with_attachments_are_counted_from_their_partial_index(
    db_url: str, status: str
) -> None:
    """`attachments:true` had no index: its count read every conversation's row (572 ms at 1M
    on SQLite with every status). The partial index holds only those conversations; SQLite uses
    it only while its predicate is written as the query writes the test."""
    plan = _planned(db_url, ListParams(query="attachments:true", status=status), _count_plan)  # type: ignore[arg-type]
    assert "ix_conversations_attachments" in plan, plan


def test_a_users_replies_are_read_through_their_partial_index(db_url: str) -> None:
    """`replyUserIds:` read every thread for a user's replies (5M at 1M conversations, 0.9 s a
    statement on SQLite). The predicate's values are in the SQL, not bound: SQLite then reads
    the conversation ids from the index alone (bound, it tested each thread's row again, 4x
    slower for a busy agent, with the same plan text)."""
    plan = _planned(db_url, ListParams(query="replyUserIds:7", status="all"), _count_plan)
    sql = _planned(db_url, ListParams(query="replyUserIds:7"), _condition_sql)
    assert "ix_threads_reply_user" in plan, plan
    assert "threads.type = 'message'" in sql and "threads.created_by_type = 'user'" in sql, sql
