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

Each process keeps the days it read, with the data stamp they were read under
(`kit.anchors.KeptDays`), and a later page of the same list begins at its day without reading
them again while the stamp holds (SQLite: the stamp read before the request's transaction and
after its page; PostgreSQL: the stamp its page statement read in its own snapshot). Reading the
days was most of a deep page's cost: page 16,000 of every status 3.05 ms a request against
2.36 for page 1,000 (SQLite, in process), PostgreSQL's statement 3.1 ms, the page alone ~1.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
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
    cast,
    func,
    literal,
    select,
)
from sqlalchemy.sql.elements import UnaryExpression

from tidings.conversations.created_days import DAY_SECONDS, state_and_statuses
from tidings.conversations.deep_pages import Seek
from tidings.db import change_log
from tidings.db.tables import conversation_day_counts, conversations
from tidings.kit.anchors import KeptDays, RunningDays
from tidings.kit.prepared import Prepared
from tidings.kit.sql import out_of_reach

# From this offset on, a page of such a list starts at its day: below it the OFFSET's walk of the
# index costs about as little as reading the days. At 1M conversations, whole requests in
# process: SQLite page 101 (offset 2,500) 1.27 -> 1.29 ms of the active ones, 1.26 -> 1.20 of
# every status, 2.34 -> 1.30 of the open ones, page 400 2.26 -> 1.21 ms; PostgreSQL page 101
# 2.90 -> 3.09 ms, page 201 3.16 -> 2.88, page 400 of every status 3.66 -> 3.70, page 2,000
# 7.9 -> 3.6. With the days kept (below) PostgreSQL's page is 1.7 ms of SQL against the OFFSET's
# 8.4 at page 400: it starts from 2,500 too (page 400 of the active ones 8.6-9.3 -> 7.4-7.5 ms).
DAY_PAGES_FROM = {"sqlite": 2_500, "postgresql": 2_500}
# Past every day an instant can fall on (a bound for the page when the day is not used).
_NO_BOUND = 2**62
# SQLite reads the days this many rows past the page it serves, for the pages that follow it.
DAYS_READ_AHEAD = 100_000
_STAMP_COLUMNS = tuple(column.name for column in change_log.stamp_columns())


@dataclass(frozen=True)
class DayPages:
    """The statements of a list's pages begun at a day: `days` and `page` on SQLite; on
    PostgreSQL `combined`, or the days and the page each with the stamp of its snapshot
    (`days_stamped`, `page_stamped`) when the days are kept. `key`: the kept days'."""

    descending: bool
    key: Hashable
    days: Prepared | None = None
    page: Prepared | None = None
    combined: Prepared | None = None
    days_stamped: Prepared | None = None
    page_stamped: Prepared | None = None


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

    def page_from(
        boundary: ColumnElement[Any], skip: ColumnElement[Any], *also: ColumnElement[Any]
    ) -> Select[Any]:
        within = created < boundary if descending else created >= boundary
        ids = (
            select(conversations.c.id)
            .where(condition, within)
            .order_by(*order)
            .offset(skip)
            .limit(limit)
            .correlate(None)
        )
        page = select(*columns, *also).where(conversations.c.id.in_(ids))
        if guard is not None:
            page = page.where(guard)
        return page.order_by(*order)

    key = (state, statuses, descending)
    from_day = (bindparam("boundary", type_=BigInteger), bindparam("skip", type_=Integer))
    if dialect == "sqlite":
        in_list_order = days.day.desc() if descending else days.day.asc()
        page = Prepared(page_from(*from_day))
        return DayPages(descending, key, days=Prepared(per_day.order_by(in_list_order)), page=page)
    kept_days = per_day.with_only_columns(days.day, cast(func.sum(days.n), BigInteger).label("n")).subquery(
        "kept_days"
    )
    stamped_days = select(kept_days.c.day, kept_days.c.n, *change_log.stamp_columns()).order_by(
        kept_days.c.day.desc() if descending else kept_days.c.day.asc()
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
    return DayPages(
        descending,
        key,
        combined=Prepared(page_from(boundary, offset - before)),
        days_stamped=Prepared(stamped_days),
        page_stamped=Prepared(page_from(*from_day, *change_log.stamp_columns()), server_prepared=False),
    )


def read_day_page(
    conn: Connection, statements: DayPages, offset: int, seek: Seek | None = None
) -> list[dict[str, Any]] | None:
    """The page at `offset`, begun at its first row's day; None when the day cannot say (day 0 or
    before: read it by OFFSET), an empty list past the last row. With `seek`, the days are kept
    in its anchors for the pages that follow (see the module docstring)."""
    if statements.combined is not None:
        kept = seek.anchors.days if seek is not None else None
        found = _postgres_kept_page(conn, statements, offset, kept) if kept is not None else None
        return found if found is not None else statements.combined.dicts(conn, offset=offset)
    assert statements.days is not None and statements.page is not None, "SQLite's two statements"
    if seek is None or seek.before is None or seek.read_again is None:
        running = _running_days(statements.days, conn, offset + DAYS_READ_AHEAD)
        return _sqlite_page(conn, statements, running, offset)
    stamp, read_again = seek.before, seek.read_again
    kept_days = seek.anchors.days.get(statements.key)
    if kept_days is not None and kept_days[0] == stamp and kept_days[1].reaches(offset):
        rows = _sqlite_page(conn, statements, kept_days[1], offset)
        if read_again() == stamp:
            return rows
    running = _running_days(statements.days, conn, offset + DAYS_READ_AHEAD)
    rows = _sqlite_page(conn, statements, running, offset)
    if read_again() == stamp:
        seek.anchors.days.put(statements.key, stamp, running)
    return rows


def _sqlite_page(
    conn: Connection, statements: DayPages, running: RunningDays, offset: int
) -> list[dict[str, Any]] | None:
    assert statements.page is not None
    found = running.locate(offset)
    if found is None:
        return []
    day, before = found
    if day < 1:
        return None
    return statements.page.dicts(conn, boundary=_boundary(statements, day), skip=offset - before)


def _boundary(statements: DayPages, day: int) -> int:
    """The first instant past the page's day in the list's order."""
    return (day + 1) * DAY_SECONDS if statements.descending else day * DAY_SECONDS


def _postgres_kept_page(
    conn: Connection, statements: DayPages, offset: int, kept: KeptDays
) -> list[dict[str, Any]] | None:
    """PostgreSQL: the page begun at its day as the kept days (or the days read now, then kept)
    name it, when the page's own snapshot bears their stamp; None otherwise (day 0 or before,
    past the last row, or a commit between): the caller reads it with `combined`."""
    assert statements.days_stamped is not None and statements.page_stamped is not None
    found = kept.get(statements.key)
    if found is not None:
        placed = found[1].locate(offset)
        if placed is None or placed[0] < 1:
            return None
        rows = _stamped_page(conn, statements, placed, offset, found[0])
        if rows is not None:
            return rows
    days = statements.days_stamped.rows(conn)
    if not days:
        return None
    stamp: Hashable = tuple(days[0][2:])
    running = _running_of([(int(day), int(n)) for day, n, *_ in days], complete=True)
    kept.put(statements.key, stamp, running)
    placed = running.locate(offset)
    if placed is None or placed[0] < 1:
        return None
    return _stamped_page(conn, statements, placed, offset, stamp)


def _stamped_page(
    conn: Connection, statements: DayPages, placed: tuple[int, int], offset: int, stamp: Hashable
) -> list[dict[str, Any]] | None:
    """The page at `offset`, begun at the day `placed` names (and the rows of the days before
    it), if its statement's snapshot bears `stamp` (rows are needed to tell)."""
    assert statements.page_stamped is not None
    day, before = placed
    rows = statements.page_stamped.dicts(
        conn, boundary=_boundary(statements, day), skip=offset - before, offset=offset
    )
    if not rows or tuple(rows[0][name] for name in _STAMP_COLUMNS) != stamp:
        return None
    for row in rows:
        for name in _STAMP_COLUMNS:
            del row[name]
    return rows


def _running_days(days: Prepared, conn: Connection, through: int) -> RunningDays:
    """The list's days from its start until they hold more than `through` rows (or all)."""
    read: list[tuple[int, int]] = []
    held = 0
    with closing(days.iterate(conn)) as rows:
        for day, count in rows:
            read.append((int(day), int(count)))
            held += int(count)
            if held > through:
                return _running_of(read, complete=False)
    return _running_of(read, complete=True)


def _running_of(days: list[tuple[int, int]], *, complete: bool) -> RunningDays:
    through: list[int] = []
    held = 0
    for _, count in days:
        held += count
        through.append(held)
    return RunningDays(tuple(day for day, _ in days), tuple(through), complete)


__all__ = ["DAY_PAGES_FROM", "DayPages", "day_pages", "read_day_page"]
