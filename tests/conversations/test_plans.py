"""Every list sort is read in index order on both databases: no sort of the whole match set.

At a million conversations a sort over the matches is what turns a 1 ms page into seconds
(waitingSince on PostgreSQL did exactly that before it had its own descending index).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from sqlalchemy import Engine, func, insert, select

from tidings.auth.caller import Caller
from tidings.conversations import listing
from tidings.conversations.listing import SORT_FIELDS, ListParams, build
from tidings.db.tables import conversations, customers
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


# The sorts whose index holds the status after the id (0021), by that index.
SORTED_BY_AN_INDEX_ENDING_IN_STATUS = {
    "subject": "ix_conversations_state_subject",
    "customerName": "ix_conversations_state_customer_name",
    "customerEmail": "ix_conversations_state_customer_email",
    "waitingSince": "ix_conversations_state_waiting",
    "number": "ix_conversations_state_number",
}


def _page_ids_plan(engine: Engine, params: ListParams) -> list[tuple]:  # type: ignore[type-arg]
    """The plan of a deep page's ids (what a list reads before its rows): SQLite's bytecode with
    each cursor's table or index, PostgreSQL's plan lines (sorting and full scans off, so that
    it reads the sort's index in order, as it does at size)."""
    with engine.connect() as conn, conn.begin():
        compiled = build(conn, EVERYONE, params, timefmt.now())
        page = select(conversations.c.id).where(compiled.condition).order_by(*compiled.order)
        sql = str(page.limit(25).offset(1000).compile(conn, compile_kwargs={"literal_binds": True}))
        if conn.dialect.name == "sqlite":
            roots = dict(conn.exec_driver_sql("SELECT rootpage, name FROM sqlite_master").all())
            return [
                (row[1], row[2], row[3], roots.get(row[3]) if row[1] == "OpenRead" else None)
                for row in conn.exec_driver_sql("EXPLAIN " + sql)
            ]
        conn.exec_driver_sql("SET LOCAL enable_sort = off")
        conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
        return [(row[0],) for row in conn.exec_driver_sql("EXPLAIN " + sql)]


@pytest.mark.parametrize(("field", "index"), SORTED_BY_AN_INDEX_ENDING_IN_STATUS.items())
@pytest.mark.parametrize("order", ["asc", "desc"])
def test_a_list_of_one_status_tests_it_in_its_sort_index(
    db_url: str, field: str, index: str, order: str
) -> None:
    """Active conversations sorted by these fields: each index entry's status is read from the
    index itself, never from the conversation's row (at 1M conversations, page 200 by subject:
    226 -> 12 ms on SQLite)."""
    params = ListParams(status="active", sortField=field, sortOrder=order)  # type: ignore[arg-type]
    _assert_status_tested_in(db_url, params, index, status_position=3)  # state, key, id, status


@pytest.mark.parametrize(
    ("field", "index"),
    [
        ("createdAt", "ix_conversations_folder_state_created"),
        ("modifiedAt", "ix_conversations_folder_state_modified"),
    ],
)
def test_a_folders_list_of_one_status_tests_it_in_the_folder_index(
    db_url: str, field: str, index: str
) -> None:
    """A folder lists every status unless asked for one; asked, the folder's index answers."""
    params = ListParams(folder=2, status="pending", sortField=field)  # type: ignore[arg-type]
    _assert_status_tested_in(db_url, params, index, status_position=4)  # folder, state, key, id, status


def _assert_status_tested_in(db_url: str, params: ListParams, index: str, status_position: int) -> None:
    """The page reads `index` in order and tests the status in it: on SQLite the status column is
    read from the index's cursor and no column from the table's; on PostgreSQL the status is one
    of the index scan's conditions, never a filter on the rows."""
    engine = create_db_engine(db_url)
    try:
        plan = _page_ids_plan(engine, params)
    finally:
        engine.dispose()
    if engine.dialect.name == "sqlite":
        opened = {cursor: name for op, cursor, _, name in plan if op == "OpenRead"}
        read = {(cursor, column) for op, cursor, column, _ in plan if op == "Column"}
        index_cursors = {cursor for cursor, name in opened.items() if name == index}
        table_cursors = {cursor for cursor, name in opened.items() if name == "conversations"}
        assert index_cursors, plan
        assert any((cursor, status_position) in read for cursor in index_cursors), plan
        assert not any(cursor in table_cursors for cursor, _ in read), plan
    else:
        lines = [line for (line,) in plan]
        scans = [i for i, line in enumerate(lines) if "Index" in line and "Scan" in line]
        assert any(index in lines[i] for i in scans), lines
        conditions = " ".join(line for line in lines if "Index Cond" in line)
        assert "status" in conditions, lines
        assert not any("Filter" in line and "status" in line for line in lines), lines


@pytest.mark.parametrize("status", ["active", "all"])
def test_a_customers_conversations_are_read_through_the_customer_index(db_url: str, status: str) -> None:
    """`customerIds:` beside the list's state and status: without statistics SQLite preferred the
    state and status index and read every active conversation's row to find a customer's few."""
    plan = _planned(db_url, ListParams(query="customerIds:100", status=status), _plan)  # type: ignore[arg-type]
    assert "ix_conversations_customer" in plan, plan


@pytest.mark.parametrize("status", ["closed", "all"])
def test_a_customers_conversations_of_a_status_are_counted_from_the_customer_index_alone(
    db_url: str, status: str
) -> None:
    """The index holds (customer, state, status, createdAt, id) (0026): without the status
    SQLite walked every closed conversation testing its customer, or read each of the
    customer's conversations' rows for their status (`jo*&status=closed` at 1M: 1.2 s)."""
    plan = _planned(db_url, ListParams(query="customerIds:100", status=status), _count_plan)  # type: ignore[arg-type]
    assert "ix_conversations_customer_state_status" in plan, plan
    if db_url.startswith("sqlite"):
        assert "COVERING INDEX ix_conversations_customer_state_status" in plan, plan


def test_a_named_terms_customers_conversations_are_counted_from_the_customer_index_alone(
    db_url: str,
) -> None:
    """SQLite estimates a named term's total with its customers' conversations of the list's
    statuses (`listing._named_text_page`), counted from their index alone."""
    engine = create_db_engine(db_url)
    try:
        with engine.begin() as conn:
            now = timefmt.now()
            conn.execute(
                insert(customers).values(
                    first_name="Jolene", last_name="Parton", created_at=now, updated_at=now
                )
            )
        with engine.connect() as conn, conn.begin():
            compiled = build(conn, EVERYONE, ListParams(query="jo*", status="closed"), timefmt.now())  # type: ignore[arg-type]
            if conn.dialect.name != "sqlite":
                assert compiled.named is None
                return
            assert compiled.named is not None and compiled.requested is not None
            owned = select(conversations.c.id).where(listing._owned_by(compiled.named), compiled.requested)
            count = (
                select(func.count())
                .select_from(owned.subquery())
                .compile(conn, compile_kwargs={"render_postcompile": True})
            )
            values = tuple(count.params[name] for name in count.positiontup or ())
            plan = "\n".join(
                str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + str(count), values)
            )
    finally:
        engine.dispose()
    assert (
        "COVERING INDEX ix_conversations_customer_state_status (customer_id=? AND state=? AND status=?)"
        in plan
    ), plan


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
