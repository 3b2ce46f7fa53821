"""The SQL of the reports: one grouped query per number, never conversations loaded to count.

Everything is built on two conditions over `conversations`:

* `scoped` — what any report may count: published, not spam, in a mailbox the caller sees,
  passing the `mailboxes`/`tags`/`types`/`folders` filters;
* `touched` — created in the interval, or with any thread (line items included) created in it.

Their conjunction is the report bucket (behaviour §8). Timestamps are integer epoch seconds, so
local (company time zone) days and hours are integer arithmetic on `ts + offset`, where the
offset is a CASE over the zone's UTC-offset changes inside the interval (months: a CASE over
the instants local months begin); the same SQL runs on SQLite and PostgreSQL. Grouped keys are
computed in a subquery and grouped by its column, so PostgreSQL never has to match two copies
of an expression with bound parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Connection,
    Select,
    and_,
    case,
    distinct,
    false,
    func,
    literal,
    or_,
    select,
    type_coerce,
)

from tidings.db.tables import (
    conversation_tags,
    conversations,
    customer_emails,
    customers,
    saved_replies,
    tags,
    threads,
    users,
    workflows,
)

c = conversations.c
t = threads.c

DAY = 86400
HOUR = 3600
# Added to local seconds before dividing so that integer division never meets a negative
# number (SQLite truncates, PostgreSQL truncates; floor is what we mean). A whole number of
# weeks, so weekday arithmetic is unchanged; covers timestamps back to 1870.
SHIFT_DAYS = 7 * 5300
SHIFT = SHIFT_DAYS * DAY
CUSTOMER_THREAD_TYPES = ("customer", "chat", "phone")


@dataclass(frozen=True)
class Scope:
    """Who is asking and which filters apply; the same for every number of one request."""

    visible_mailboxes: frozenset[int] | None  # None: every mailbox
    mailboxes: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()
    types: tuple[str, ...] = ()
    folders: tuple[int, ...] = ()


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime


# Offsets of the company time zone inside an interval: [(from_epoch, offset_seconds), ...],
# ascending; the first entry applies from the start of the interval.
Offsets = Sequence[tuple[int, int]]


# -- conditions -----------------------------------------------------------------------------


def scoped(scope: Scope) -> ColumnElement[bool]:
    conditions: list[ColumnElement[bool]] = [c.state == "published", c.status != "spam"]
    if scope.visible_mailboxes is not None:
        visible = sorted(scope.visible_mailboxes)
        conditions.append(c.mailbox_id.in_(visible) if visible else false())
    if scope.mailboxes:
        conditions.append(c.mailbox_id.in_(scope.mailboxes))
    if scope.types:
        conditions.append(c.type.in_(scope.types))
    if scope.folders:
        conditions.append(c.folder_id.in_(scope.folders))
    if scope.tags:
        tagged = select(conversation_tags.c.conversation_id).where(conversation_tags.c.tag_id.in_(scope.tags))
        conditions.append(c.id.in_(tagged))
    return and_(*conditions)


def created_in(interval: Interval) -> ColumnElement[bool]:
    return c.created_at.between(interval.start, interval.end)


def touched(interval: Interval) -> ColumnElement[bool]:
    with_thread = select(t.conversation_id).where(t.created_at.between(interval.start, interval.end))
    return or_(created_in(interval), c.id.in_(with_thread))


def in_bucket(scope: Scope, interval: Interval) -> ColumnElement[bool]:
    """The report bucket: every report and drilldown starts from this condition."""
    return and_(scoped(scope), touched(interval))


def new_in(scope: Scope, interval: Interval) -> ColumnElement[bool]:
    """New conversations: the part of the bucket created in the interval."""
    return and_(scoped(scope), created_in(interval))


def _saved_reply_sent(interval: Interval) -> ColumnElement[bool]:
    return and_(
        t.type == "message",
        t.state == "published",
        t.saved_reply_id.is_not(None),
        t.created_at.between(interval.start, interval.end),
    )


def _workflow_ran(interval: Interval) -> ColumnElement[bool]:
    return and_(
        t.type == "lineitem",
        t.action_type == "manual-workflow",
        t.workflow_id.is_not(None),
        t.created_at.between(interval.start, interval.end),
    )


def field_condition(field: str, field_id: int, interval: Interval) -> ColumnElement[bool]:
    """The narrowing of the bucket behind one top-list entry (fields-drilldown)."""
    if field == "tagid":
        return c.id.in_(
            select(conversation_tags.c.conversation_id).where(conversation_tags.c.tag_id == field_id)
        )
    if field == "replyid":
        return c.id.in_(
            select(t.conversation_id).where(_saved_reply_sent(interval), t.saved_reply_id == field_id)
        )
    if field == "workflowid":
        return c.id.in_(select(t.conversation_id).where(_workflow_ran(interval), t.workflow_id == field_id))
    if field == "customerid":
        return c.customer_id == field_id
    raise ValueError(f"unknown drilldown field {field!r}")


# -- local time -----------------------------------------------------------------------------


def _epoch(column: Any) -> ColumnElement[int]:
    return type_coerce(column, BigInteger)


def _local_shifted(column: Any, offsets: Offsets) -> ColumnElement[int]:
    """Local (company time zone) seconds of a timestamp column, plus SHIFT."""
    ts = _epoch(column)
    if len(offsets) == 1:
        return ts + (offsets[0][1] + SHIFT)
    # Offset k applies until change k+1 begins; the last one to the end of the interval.
    branches = [
        (ts < changes_at, literal(offset + SHIFT, BigInteger))
        for (_, offset), (changes_at, _) in pairwise(offsets)
    ]
    return ts + case(*branches, else_=literal(offsets[-1][1] + SHIFT, BigInteger))


def _local_day(column: Any, offsets: Offsets) -> ColumnElement[int]:
    """Shifted local day number (days since 1970-01-01 local, plus SHIFT_DAYS)."""
    return _local_shifted(column, offsets) // DAY


@dataclass(frozen=True)
class Periods:
    """How to cut an interval into periods of the company calendar.

    Days and weeks are arithmetic on local seconds. Months have uneven lengths, so they are a
    CASE over the UTC instants at which each local month begins; comparing the raw column keeps
    the expression small however many months and offset changes the interval spans.
    """

    view: str  # day | week | month
    offsets: Offsets
    months: Sequence[tuple[int, int]] = ()  # (UTC epoch the local month begins, its local day)


def _period_key(column: Any, periods: Periods) -> ColumnElement[int]:
    """The shifted local day on which the timestamp's period begins."""
    if periods.view == "day":
        return _local_day(column, periods.offsets)
    if periods.view == "week":
        # Epoch day 0 was a Thursday: (d + 3) // 7 counts Monday-based weeks.
        return (_local_day(column, periods.offsets) + 3) // 7 * 7 - 3
    ts = _epoch(column)
    days = [literal(day + SHIFT_DAYS, BigInteger) for _, day in periods.months]
    if len(days) == 1:
        return days[0]
    branches = [(ts < begins, day) for day, (begins, _) in zip(days, periods.months[1:], strict=False)]
    return case(*branches, else_=days[-1])


def _count_by_period(conn: Connection, inner: Select[Any], *extra: str) -> list[tuple[Any, ...]]:
    """Group an inner select of `period_key` (plus `extra` columns) and count its rows.

    Returns (unshifted local day the period begins, *extra, count) tuples.
    """
    sub = inner.subquery()
    grouped = [sub.c.period_key, *(sub.c[name] for name in extra)]
    query = select(*grouped, func.count().label("n")).group_by(*grouped)
    return [(int(row[0]) - SHIFT_DAYS, *row[1:-1], int(row[-1])) for row in conn.execute(query)]


def new_by_period(
    conn: Connection, scope: Scope, interval: Interval, periods: Periods, *, by_type: bool = False
) -> list[tuple[Any, ...]]:
    """New conversations per period: (day, count), or (day, type, count) with `by_type`."""
    columns: list[ColumnElement[Any]] = [_period_key(c.created_at, periods).label("period_key")]
    if by_type:
        columns.append(c.type.label("type"))
    inner = select(*columns).where(new_in(scope, interval))
    return _count_by_period(conn, inner, *(("type",) if by_type else ()))


def received_by_period(
    conn: Connection, scope: Scope, interval: Interval, periods: Periods
) -> list[tuple[Any, ...]]:
    """Published customer threads (customer, chat, phone) created per period: (day, count)."""
    inner = (
        select(_period_key(t.created_at, periods).label("period_key"))
        .select_from(threads.join(conversations, c.id == t.conversation_id))
        .where(
            scoped(scope),
            t.type.in_(CUSTOMER_THREAD_TYPES),
            t.state == "published",
            t.created_at.between(interval.start, interval.end),
        )
    )
    return _count_by_period(conn, inner)


def busy_slots(
    conn: Connection, scope: Scope, interval: Interval, offsets: Offsets
) -> list[tuple[int, int, int]]:
    """New conversations per local (weekday 1=Monday..7=Sunday, hour 0..23), non-empty slots only."""
    local = _local_shifted(c.created_at, offsets)
    inner = (
        select(
            ((local // DAY + 3) % 7 + 1).label("weekday"),
            (local % DAY // HOUR).label("hour"),
        )
        .where(new_in(scope, interval))
        .subquery()
    )
    query = select(inner.c.weekday, inner.c.hour, func.count()).group_by(inner.c.weekday, inner.c.hour)
    return [(int(d), int(h), int(n)) for d, h, n in conn.execute(query)]


# -- totals and top lists -------------------------------------------------------------------


def bucket_totals(conn: Connection, scope: Scope, interval: Interval) -> dict[str, int]:
    """Size of the bucket, how many of it are new, and its distinct primary customers."""
    row = conn.execute(
        select(
            func.count().label("total"),
            func.coalesce(func.sum(case((created_in(interval), 1), else_=0)), 0).label("created"),
            func.count(distinct(c.customer_id)).label("customers"),
        ).where(in_bucket(scope, interval))
    ).one()
    return {"total": int(row.total), "created": int(row.created), "customers": int(row.customers)}


@dataclass(frozen=True)
class TopList:
    """How one top list (tags, customers, saved replies, workflows) is counted."""

    key: ColumnElement[Any]
    names: tuple[ColumnElement[Any], ...]
    source: Any  # the FROM clause, joined to conversations
    where: tuple[ColumnElement[bool], ...]
    conversations: ColumnElement[int]  # how many bucket conversations per entry
    total: ColumnElement[int]  # the list's `count`


def _top_list(kind: str, interval: Interval) -> TopList:
    ct = conversation_tags.c
    if kind == "tags":
        return TopList(
            key=ct.tag_id,
            names=(tags.c.name,),
            source=conversation_tags.join(conversations, c.id == ct.conversation_id).join(
                tags, tags.c.id == ct.tag_id
            ),
            where=(),
            conversations=func.count(),
            total=func.count(distinct(ct.tag_id)),
        )
    if kind == "customers":
        return TopList(
            key=c.customer_id,
            names=(customers.c.first_name, customers.c.last_name),
            source=conversations.join(customers, customers.c.id == c.customer_id),
            where=(),
            conversations=func.count(),
            total=func.count(),
        )
    if kind == "replies":
        return TopList(
            key=t.saved_reply_id,
            names=(saved_replies.c.name, saved_replies.c.mailbox_id),
            source=threads.join(conversations, c.id == t.conversation_id).outerjoin(
                saved_replies, saved_replies.c.id == t.saved_reply_id
            ),
            where=(_saved_reply_sent(interval),),
            conversations=func.count(distinct(c.id)),
            total=func.count(),
        )
    if kind == "workflows":
        return TopList(
            key=t.workflow_id,
            names=(workflows.c.name,),
            source=threads.join(conversations, c.id == t.conversation_id).outerjoin(
                workflows, workflows.c.id == t.workflow_id
            ),
            where=(_workflow_ran(interval),),
            conversations=func.count(distinct(c.id)),
            total=func.count(),
        )
    raise ValueError(f"unknown top list {kind!r}")


def top_entries(
    conn: Connection,
    kind: str,
    scope: Scope,
    interval: Interval,
    *,
    limit: int | None = None,
    only_ids: Sequence[int] | None = None,
) -> list[dict[str, Any]]:
    """Entries of a top list, most conversations first (ties: lowest id): id, names…, count.

    The per-entry count is exactly what the fields-drilldown counts for that id.
    """
    spec = _top_list(kind, interval)
    where = [in_bucket(scope, interval), *spec.where]
    if only_ids is not None:
        where.append(spec.key.in_(list(only_ids)))
    count = spec.conversations.label("n")
    query = (
        select(spec.key.label("id"), *spec.names, count)
        .select_from(spec.source)
        .where(*where)
        .group_by(spec.key, *spec.names)
        .order_by(count.desc(), spec.key.asc())
    )
    if limit is not None:
        query = query.limit(limit)
    return [dict(row._mapping) for row in conn.execute(query)]


def top_total(conn: Connection, kind: str, scope: Scope, interval: Interval) -> int:
    """The `count` of a top list: tags used, conversations with a customer, saved replies sent,
    workflow runs."""
    spec = _top_list(kind, interval)
    query = select(spec.total).select_from(spec.source).where(in_bucket(scope, interval), *spec.where)
    return int(conn.execute(query).scalar_one())


def all_tags(conn: Connection) -> list[dict[str, Any]]:
    """Every tag, for `filterTags`: the tags a report can be filtered on."""
    rows = conn.execute(select(tags.c.id, tags.c.name).order_by(tags.c.name, tags.c.id))
    return [{"name": r.name, "id": r.id} for r in rows]


# -- drilldown pages ------------------------------------------------------------------------


def count_conversations(conn: Connection, condition: ColumnElement[bool]) -> int:
    return int(conn.execute(select(func.count()).select_from(conversations).where(condition)).scalar_one())


def drilldown_rows(conn: Connection, condition: ColumnElement[bool], offset: int, limit: int) -> list[dict]:
    """One page of conversations, newest change first, with customer and assignee in the same row."""
    primary_email = (
        select(customer_emails.c.value)
        .where(customer_emails.c.customer_id == c.customer_id)
        .order_by(customer_emails.c.id)
        .limit(1)
        .scalar_subquery()
    )
    query = (
        select(
            c.id,
            c.number,
            c.type,
            c.mailbox_id,
            c.has_attachments,
            c.subject,
            c.status,
            c.thread_count,
            c.preview,
            c.customer_id,
            c.modified_at,
            c.assignee_id,
            customers.c.first_name.label("customer_first"),
            customers.c.last_name.label("customer_last"),
            primary_email.label("customer_email"),
            users.c.first_name.label("assignee_first"),
            users.c.last_name.label("assignee_last"),
        )
        .select_from(
            conversations.outerjoin(customers, customers.c.id == c.customer_id).outerjoin(
                users, users.c.id == c.assignee_id
            )
        )
        .where(condition)
        .order_by(c.modified_at.desc(), c.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def tags_of(conn: Connection, conversation_ids: Sequence[int]) -> dict[int, list[dict[str, Any]]]:
    """The tags of a page of conversations, by name, in one query."""
    found: dict[int, list[dict[str, Any]]] = {}
    if not conversation_ids:
        return found
    rows = conn.execute(
        select(conversation_tags.c.conversation_id, tags.c.id, tags.c.name, tags.c.color)
        .select_from(conversation_tags.join(tags, tags.c.id == conversation_tags.c.tag_id))
        .where(conversation_tags.c.conversation_id.in_(list(conversation_ids)))
        .order_by(tags.c.name, tags.c.id)
    )
    for row in rows:
        found.setdefault(row.conversation_id, []).append({"id": row.id, "name": row.name, "color": row.color})
    return found
