"""A deep page of a list in creation order, begun at the day that holds its first row.

A list filtered by state and status only, in `createdAt` order, is the order of the counts kept
per UTC day (`conversation_day_counts`, migration 0020): every conversation of a later day comes
before every conversation of an earlier one (descending; the reverse ascending). Summing the
days from the list's start until the sum passes the page's offset names the day of the page's
first row and how many rows come before that day; the page is then that day's rows onwards,
with an OFFSET of the rest, so its walk of the (state, status, createdAt) index is at most a
day or two of conversations instead of everything before the page. At 1M conversations, the
ids of page 16,000 of every status took 10.5 ms on SQLite and 27.5 ms on PostgreSQL by OFFSET,
1.2 and 0.9 ms from the days; an integration reading every page of its help desk in order
reads each one at the cost of the first, where the OFFSETs of all pages grew with their square.

The counts and the rows are read in one snapshot: on SQLite the request's transaction holds
both statements (the days are read first, newest first, stopping at the page's day); on
PostgreSQL, where each statement of a read has its own snapshot, one statement finds the day
and reads the page. Days are UTC days divided toward zero, so day 0 spans the two days around
1970-01-01: a page whose first row falls on day 0 or before is read by OFFSET as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import closing
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import UnaryExpression

from tidings.conversations.created_days import DAY_SECONDS, state_and_statuses
from tidings.db.tables import conversation_day_counts, conversations
from tidings.kit.prepared import Prepared
from tidings.kit.sql import out_of_reach

# From this offset on, a page of such a list starts at its day: below it the OFFSET's walk of the
# index costs about as little as reading the days. At 1M conversations, whole requests in
# process: SQLite page 101 (offset 2,500) 1.27 -> 1.29 ms of the active ones, 1.26 -> 1.20 of
# every status, 2.34 -> 1.30 of the open ones, page 400 2.26 -> 1.21 ms; PostgreSQL page 101
# 2.90 -> 3.09 ms, page 201 3.16 -> 2.88, page 400 of every status 3.66 -> 3.70, page 2,000
# 7.9 -> 3.6.
DAY_PAGES_FROM = {"sqlite": 2_500, "postgresql": 10_000}
# Past every day an instant can fall on (a bound for the page when the day is not used).
_NO_BOUND = 2**62


@dataclass(frozen=True)
class DayPages:
    """The statements of a list's pages begun at a day: `days` and `page` on SQLite,
    `combined` on PostgreSQL."""

    descending: bool
    days: Prepared | None = None
    page: Prepared | None = None
    combined: Prepared | None = None


def day_pages(
    dialect: str,
    counted: Sequence[tuple[str, Any]],
    columns: Sequence[ColumnElement[Any]],
    condition: ColumnElement[bool],
    order: Sequence[UnaryExpression[Any]],
    descending: bool,
    limit: int,
    guard: ColumnElement[bool] | None,
) -> DayPages | None:
    """The statements for a list whose kept counts name only its state and statuses (`counted`),
    sorted by createdAt (`order`, `descending`); None for any other list. `columns`: what the
    page reads of each row, `limit` how many; `guard`: a further condition of the page
    (PostgreSQL's stop past the total)."""
    known = state_and_statuses(counted)
    if known is None:
        return None
    state, statuses = known
    if dialect == "postgresql" and statuses is not None and len(statuses) > 1:
        # With the statuses in its reach PostgreSQL read every conversation of them before the
        # day's end through (state, status, createdAt) and sorted them (the open ones at 1M,
        # page 400: 15.7 ms); out of it, it walks (state, createdAt) back from the day's end
        # testing the status: 0.96 ms (21.6 by OFFSET). The list's condition is its state and
        # statuses alone (`state_and_statuses`).
        c = conversations.c
        condition = and_(c.state == state, out_of_reach(c.status).in_(statuses))
    days = conversation_day_counts.c
    kept: list[ColumnElement[bool]] = [days.state == state]
    if statuses is not None:
        kept.append(days.status.in_(statuses))
    per_day = select(days.day, func.sum(days.n).label("n")).where(*kept).group_by(days.day)
    created = conversations.c.created_at

    def page_from(boundary: ColumnElement[Any], skip: ColumnElement[Any]) -> Select[Any]:
        within = created < boundary if descending else created >= boundary
        ids = (
            select(conversations.c.id)
            .where(condition, within)
            .order_by(*order)
            .offset(skip)
            .limit(limit)
            .correlate(None)
        )
        page = select(*columns).where(conversations.c.id.in_(ids))
        if guard is not None:
            page = page.where(guard)
        return page.order_by(*order)

    if dialect == "sqlite":
        in_list_order = days.day.desc() if descending else days.day.asc()
        return DayPages(
            descending,
            days=Prepared(per_day.order_by(in_list_order)),
            page=Prepared(
                page_from(bindparam("boundary", type_=BigInteger), bindparam("skip", type_=Integer))
            ),
        )
    counts = per_day.subquery("per_day")
    through = func.sum(counts.c.n).over(order_by=counts.c.day.desc() if descending else counts.c.day.asc())
    running = select(counts.c.day, counts.c.n, through.label("through")).subquery("running")
    offset = bindparam("offset", type_=Integer)
    target = (
        select(running.c.day, (running.c.through - running.c.n).label("before"))
        .where(running.c.through > offset)
        .order_by(running.c.day.desc() if descending else running.c.day.asc())
        .limit(1)
        .cte("target")
    )
    usable = target.c.day >= 1
    first_second = target.c.day * DAY_SECONDS + (DAY_SECONDS if descending else 0)
    unbounded = _NO_BOUND if descending else -_NO_BOUND
    boundary = func.coalesce(
        select(case((usable, first_second))).scalar_subquery(), literal(unbounded, BigInteger)
    )
    before = func.coalesce(select(case((usable, target.c.before))).scalar_subquery(), 0)
    return DayPages(descending, combined=Prepared(page_from(boundary, offset - before)))


def read_day_page(conn: Connection, statements: DayPages, offset: int) -> list[dict[str, Any]] | None:
    """The page at `offset`, begun at its first row's day; None when the day cannot say (day 0 or
    before: read it by OFFSET), an empty list past the last row."""
    if statements.combined is not None:
        return statements.combined.dicts(conn, offset=offset)
    assert statements.days is not None and statements.page is not None, "SQLite's two statements"
    found = _day_of(statements.days, conn, offset)
    if found is None:
        return []
    day, before = found
    if day < 1:
        return None
    boundary = (day + 1) * DAY_SECONDS if statements.descending else day * DAY_SECONDS
    return statements.page.dicts(conn, boundary=boundary, skip=offset - before)


def _day_of(days: Prepared, conn: Connection, offset: int) -> tuple[int, int] | None:
    """The day holding the row at `offset` and how many rows its earlier days in the list hold,
    reading the days only that far (None: the list ends before `offset`)."""
    before = 0
    with closing(days.iterate(conn)) as rows:
        for day, count in rows:
            if before + count > offset:
                return int(day), before
            before += int(count)
    return None


__all__ = ["DAY_PAGES_FROM", "DayPages", "day_pages", "read_day_page"]
