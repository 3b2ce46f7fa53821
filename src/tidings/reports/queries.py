"""The SQL of the reports: grouped queries over the report bucket, never conversations loaded to count.

The report bucket (behaviour §8) is the conjunction of two conditions on a conversation:

* `scoped` — what any report may count: published, not spam, in a mailbox the caller sees,
  passing the `mailboxes`/`tags`/`types`/`folders` filters;
* *touched* — created in the interval, or with any thread (line items included) created in it.

The bucket is not computed from `threads`: `in_bucket` is a condition on `conversation_activity`
(see `tidings.reports.activity`) that holds for one row of each bucket conversation, read from
the activity index (a range of days; on SQLite a seek per day), which also carries every column
a report filters, counts or sorts by. So the overall report's numbers and the drilldown pages of
the bucket never visit `conversations` to find their members; `summary` answers the totals,
customers and busy slots of one interval in one read of the bucket, and the tags' shares in a
second statement over the tags' own activity rows.

Numbers about threads (saved replies, workflow runs, received messages) start from partial
indexes over exactly those threads, whose predicates the queries repeat literally (SQLite uses
a partial index only when the query's WHERE contains the index's terms as written). Such a
thread in the interval already makes its conversation touched, so they only need `scoped`.
Unfiltered, that is "published and not spam", told from the activity rows of the few
conversations that are not, indexed by day (`_in_counted_conversation`), with no conversation
looked up. Otherwise `scoped` is checked on `conversations`, joined from the threads found
(`_driven_by`: a MATERIALIZED CTE read first; SQLite, which has no statistics here, would
otherwise walk conversations by state).

Timestamps are integer epoch seconds, so local (company time zone) days and hours are integer
arithmetic on `ts + offset`, where the offset is a CASE over the zone's UTC-offset changes inside
the interval (months: a CASE over the instants local months begin); the same SQL runs on SQLite
and PostgreSQL. Grouped keys are computed in a subquery and grouped by its column, so PostgreSQL
never has to match two copies of an expression with bound parameters.
"""

from __future__ import annotations

import heapq
import typing
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from itertools import compress, pairwise
from typing import Any

from sqlalchemy import (
    CTE,
    BigInteger,
    ColumnElement,
    Connection,
    FromClause,
    Integer,
    Select,
    String,
    and_,
    bindparam,
    case,
    cast,
    distinct,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    true,
    type_coerce,
)

from tidings.db.tables import (
    CONVERSATION_STATUSES,
    Timestamp,
    conversation_activity,
    conversation_counts,
    conversation_tag_activity,
    conversation_tag_counts,
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
from tidings.kit.prepared import Prepared, Together, any_id, windowed
from tidings.kit.sql import EachValueBetween, ReadFirst, equals_written, materialized

c = conversations.c
t = threads.c
a = conversation_activity.c
ct = conversation_tags.c

DAY = 86400
HOUR = 3600
# Added to local seconds before dividing so that integer division never meets a negative
# number (SQLite truncates, PostgreSQL truncates; floor is what we mean). A whole number of
# weeks, so weekday arithmetic is unchanged; covers timestamps back to 1870.
SHIFT_DAYS = 7 * 5300
SHIFT = SHIFT_DAYS * DAY
TOP_LENGTH = 10


@dataclass(frozen=True)
class Scope:
    """Who is asking and which filters apply; the same for every number of one request."""

    visible_mailboxes: frozenset[int] | None  # None: every mailbox
    mailboxes: tuple[int, ...] = ()
    tags: tuple[int, ...] = ()
    types: tuple[str, ...] = ()
    folders: tuple[int, ...] = ()

    @property
    def unfiltered(self) -> bool:
        """Every conversation reports count: every mailbox, no filter."""
        filtered = self.mailboxes or self.tags or self.types or self.folders
        return self.visible_mailboxes is None and not filtered


@dataclass(frozen=True)
class Interval:
    start: datetime
    end: datetime

    @property
    def first(self) -> int:
        """The start in epoch seconds, as `Timestamp` stores it."""
        return _seconds(self.start)

    @property
    def last(self) -> int:
        return _seconds(self.end)

    @property
    def first_day(self) -> int:
        return self.first // DAY

    @property
    def last_day(self) -> int:
        return self.last // DAY

    def values(self) -> dict[str, Any]:
        """The values of `BOUND_INTERVAL`'s parameters for this interval."""
        return {
            "start": self.start,
            "end": self.end,
            "first": self.first,
            "last": self.last,
            "first_day": self.first_day,
            "last_day": self.last_day,
        }


class _BoundInterval:
    """An interval whose instants are named parameters, for a statement built once and run for
    any interval (`Interval.values` gives them): it reads as an `Interval` to the builders."""

    start = bindparam("start", type_=Timestamp())
    end = bindparam("end", type_=Timestamp())
    first = bindparam("first", type_=BigInteger())
    last = bindparam("last", type_=BigInteger())
    first_day = bindparam("first_day", type_=BigInteger())
    last_day = bindparam("last_day", type_=BigInteger())


BOUND_INTERVAL = typing.cast(Interval, _BoundInterval())


def _seconds(instant: datetime) -> int:
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=UTC)
    return int(instant.timestamp())


# Offsets of the company time zone inside an interval: [(from_epoch, offset_seconds), ...],
# ascending; the first entry applies from the start of the interval.
Offsets = Sequence[tuple[int, int]]


# -- conditions -----------------------------------------------------------------------------


def _exists(*conditions: ColumnElement[bool]) -> ColumnElement[bool]:
    """EXISTS (SELECT 1 …): an index holding the columns of the conditions is enough to answer it."""
    return select(literal_column("1")).where(*conditions).exists()


def _in_counted_conversation(dialect: str, conversation_id: Any, interval: Interval) -> ColumnElement[bool]:
    """A thread of `interval` belongs to a conversation reports count (published, not spam),
    told without looking the conversation up: the thread's day has an activity row of its
    conversation, which carries its state and status, and the rows of the few conversations
    that do not count are indexed by day (`ix_conversation_activity_unreported`, whose predicate
    is written here as there). SQLite lists those once (`NOT IN`: the list is built first);
    PostgreSQL hashes them for an anti join (`NOT EXISTS`: a `NOT IN` too large for its memory
    would be searched once per thread)."""
    unreported = and_(
        a.day.between(interval.first_day, interval.last_day),
        or_(a.state != literal_column("'published'"), equals_written(a.status, "spam")),
    )
    if dialect == "sqlite":
        return conversation_id.not_in(select(a.conversation_id).where(unreported))
    return ~_exists(a.conversation_id == conversation_id, unreported)


def _tagged(conversation_id: Any, tag_ids: Sequence[int]) -> ColumnElement[bool]:
    """The conversation carries one of these tags (a probe of the (conversation, tag) key)."""
    return _exists(ct.conversation_id == conversation_id, ct.tag_id.in_(list(tag_ids)))


_COUNTED_STATUSES = tuple(status for status in CONVERSATION_STATUSES if status != "spam")


def scoped(
    scope: Scope, on: FromClause = conversations, *, statuses_listed: bool = False
) -> ColumnElement[bool]:
    """`on`: `conversations`, or `conversation_activity`, whose rows carry the same columns.
    `statuses_listed`: "not spam" written as the statuses that are (see `new_in`)."""
    cols = on.c
    counted = cols.status.in_(_COUNTED_STATUSES) if statuses_listed else cols.status != "spam"
    conditions: list[ColumnElement[bool]] = [cols.state == "published", counted]
    if scope.visible_mailboxes is not None:
        visible = sorted(scope.visible_mailboxes)
        conditions.append(cols.mailbox_id.in_(visible) if visible else false())
    if scope.mailboxes:
        conditions.append(cols.mailbox_id.in_(scope.mailboxes))
    if scope.types:
        conditions.append(cols.type.in_(scope.types))
    if scope.folders:
        conditions.append(cols.folder_id.in_(scope.folders))
    if scope.tags:
        conditions.append(_tagged(cols.id if on is conversations else cols.conversation_id, scope.tags))
    return and_(*conditions)


def created_in(interval: Interval) -> ColumnElement[bool]:
    return c.created_at.between(interval.start, interval.end)


def touched(interval: Interval) -> ColumnElement[bool]:
    """Touched, tested on one conversation at a time (two index probes): for small sets. The
    thread is looked for by a scalar subquery, not EXISTS, which PostgreSQL may turn into a hash
    of every thread of the interval when it expects to test many conversations (a walk over the
    recently modified ones, `_kept_walk`: 205k threads hashed, 250 ms, to test 1,234)."""
    a_thread = (
        select(literal_column("1"))
        .where(t.conversation_id == c.id, t.created_at.between(interval.start, interval.end))
        .limit(1)
        .scalar_subquery()
    )
    return or_(created_in(interval), a_thread.is_not(None))


def in_bucket(
    scope: Scope,
    interval: Interval,
    *also: ColumnElement[bool],
    on: FromClause = conversation_activity,
    day_by_day: bool = True,
) -> ColumnElement[bool]:
    """The report bucket as a condition on `conversation_activity`, true on one row of each of
    its conversations. `also`: more conditions on those rows. `on`: that table, or
    `conversation_tag_activity`, whose rows of one tag are the same rows for that tag's
    conversations.

    A conversation is touched in [s, e] when one of its instants (creation, thread creations)
    lies in it. Its activity row crossing s (previous_at < s <= last_at) holds its first
    instant at or after s, and that instant is in [s, e] when the row begins inside the
    interval, or begins before s and ends by e. A row that begins before s and ends after e
    lies within one day holding both s and e; only then do its instants between decide, and
    they are looked up.

    `day_by_day`: SQLite seeks the index once per day of the interval (`EachValueBetween`), so
    that `previous_at < s` bounds each day's entries and the rows of a conversation's later days
    in the interval are never read: a year's bucket at 1M conversations reads its 586k rows
    instead of 1.09M. Off where the index leads with every tag (the tags' shares: 200 tags × the
    days' seeks cost what they save).
    """
    s, e = interval.first, interval.last
    row = on.c
    days = (
        EachValueBetween(row.day, interval.first_day, interval.last_day)
        if day_by_day
        else row.day.between(interval.first_day, interval.last_day)
    )
    instant_inside = or_(
        row.created_at.between(interval.start, interval.end),
        _exists(t.conversation_id == row.conversation_id, t.created_at.between(interval.start, interval.end)),
    )
    return and_(
        days,
        row.previous_at < s,
        row.last_at >= s,
        or_(row.first_at.between(s, e), and_(row.first_at < s, or_(row.last_at <= e, instant_inside))),
        scoped(scope, on),
        *also,
    )


def new_in(scope: Scope, interval: Interval, *, index_only: bool = False) -> ColumnElement[bool]:
    """New conversations: the part of the bucket created in the interval.

    `index_only`: the statement reads no column of `conversations` but state, status and
    created_at. Unfiltered, (state, status, created_at) then answers it with one range of creation
    times per counted status, where `!= 'spam'` is no bound on status: PostgreSQL read every
    published conversation's entry (30 days' new conversations at 1M: 103 -> 25 ms) and SQLite
    read (state, created_at) and each row for its status (44 -> 25 ms). A statement that reads
    the rows anyway reads them in order from (state, created_at)'s one range: with the statuses
    listed, SQLite's 30 days of new conversations by type took 70 -> 87 ms."""
    listed = index_only and scope.unfiltered
    return and_(scoped(scope, statuses_listed=listed), created_in(interval))


def _saved_reply_sent(interval: Interval) -> ColumnElement[bool]:
    """Published replies that used a saved reply (index ix_threads_reply_sent)."""
    return and_(
        equals_written(t.type, "message"),
        equals_written(t.state, "published"),
        t.saved_reply_id.is_not(None),
        t.created_at.between(interval.start, interval.end),
    )


def _workflow_ran(interval: Interval) -> ColumnElement[bool]:
    """Manual workflow runs (index ix_threads_workflow_run)."""
    return and_(
        equals_written(t.type, "lineitem"),
        equals_written(t.action_type, "manual-workflow"),
        t.workflow_id.is_not(None),
        t.created_at.between(interval.start, interval.end),
    )


def _received(interval: Interval) -> ColumnElement[bool]:
    """Published customer, chat and phone threads (index ix_threads_received)."""
    kinds: list[ColumnElement[str]] = [literal_column(f"'{kind}'") for kind in ("customer", "chat", "phone")]
    return and_(
        t.type.in_(kinds),
        equals_written(t.state, "published"),
        t.created_at.between(interval.start, interval.end),
    )


# -- sources: which conversations a number reads --------------------------------------------


def _driven_by(ids: Select[Any], name: str) -> tuple[CTE, FromClause]:
    """Conversations joined to ids found first (`ids` has an `id` column, and maybe more).

    SQLite materialises the ids and reads them first; PostgreSQL plans the join itself (for
    100k received messages a parallel hash join beats both a materialised CTE and 100k lookups).
    """
    first = materialized(ids.cte(name), postgresql=False)
    return first, ReadFirst(first, conversations, c.id == first.c.id)


def _counted_threads(
    conn: Connection, found: Select[Any], scope: Scope, interval: Interval, name: str
) -> tuple[FromClause, Any, ColumnElement[bool]]:
    """The threads `found` (with their conversation's `id`) whose conversation is in `scope`: the
    source to select from, the found threads' columns, and the condition to add. Unfiltered,
    the threads alone (`_in_counted_conversation`); otherwise joined to their conversations."""
    if scope.unfiltered:
        kept = found.where(_in_counted_conversation(conn.dialect.name, t.conversation_id, interval))
        listed = kept.subquery(name)
        return listed, listed.c, true()
    first, source = _driven_by(found, name)
    return source, first.c, scoped(scope)


# Drilldown pages read `matches`: a select of (`id`, `modified_at`), one row per conversation.


def bucket(scope: Scope, interval: Interval) -> Select[Any]:
    """The report bucket, straight from the activity index."""
    return select(a.conversation_id.label("id"), a.modified_at).where(in_bucket(scope, interval))


def new(scope: Scope, interval: Interval) -> Select[Any]:
    """The conversations of the bucket created in the interval (index on state, created_at)."""
    return select(c.id, c.modified_at).where(new_in(scope, interval))


def field_bucket(scope: Scope, field: str, field_id: Any, interval: Interval) -> Select[Any]:
    """The bucket narrowed to one top-list entry (fields-drilldown)."""
    if field == "tagid":
        tagged = conversation_tag_activity.c
        return select(tagged.conversation_id.label("id"), tagged.modified_at).where(
            in_bucket(scope, interval, tagged.tag_id == field_id, on=conversation_tag_activity)
        )
    if field == "customerid":
        return select(c.id, c.modified_at).where(scoped(scope), c.customer_id == field_id, touched(interval))
    if field == "replyid":
        threads_of = select(t.conversation_id.label("id")).where(
            _saved_reply_sent(interval), t.saved_reply_id == field_id
        )
    elif field == "workflowid":
        threads_of = select(t.conversation_id.label("id")).where(
            _workflow_ran(interval), t.workflow_id == field_id
        )
    else:
        raise ValueError(f"unknown drilldown field {field!r}")
    # A thread in the interval makes its conversation touched: only `scoped` is left to check.
    return (
        select(c.id, c.modified_at)
        .select_from(_driven_by(threads_of.distinct(), "used")[1])
        .where(scoped(scope))
    )


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
    inner = select(*columns).where(new_in(scope, interval, index_only=not by_type))
    return _count_by_period(conn, inner, *(("type",) if by_type else ()))


def received_by_period(
    conn: Connection, scope: Scope, interval: Interval, periods: Periods
) -> list[tuple[Any, ...]]:
    """Published customer threads (customer, chat, phone) created per period: (day, count).

    Unfiltered, from the threads' index alone (`_counted_threads`): looking up the conversation
    of each of the 123k messages received over 30 days at 1M took the statement from ~125 to
    ~205 ms on SQLite (the rest is grouping them) and from ~52 to ~315 on PostgreSQL."""
    received = select(t.conversation_id.label("id"), t.created_at.label("created_at")).where(
        _received(interval)
    )
    source, listed, condition = _counted_threads(conn, received, scope, interval, "received")
    inner = (
        select(_period_key(listed.created_at, periods).label("period_key"))
        .select_from(source)
        .where(condition)
    )
    return _count_by_period(conn, inner)


def _weekday_hour(column: Any, offsets: Offsets) -> tuple[ColumnElement[int], ColumnElement[int]]:
    """Local weekday (1 = Monday .. 7) and hour (0..23) of a timestamp column."""
    local = _local_shifted(column, offsets)
    return (local // DAY + 3) % 7 + 1, local % DAY // HOUR


def busy_slots(
    conn: Connection, scope: Scope, interval: Interval, offsets: Offsets
) -> list[tuple[int, int, int]]:
    """New conversations per local (weekday 1=Monday..7=Sunday, hour 0..23), non-empty slots only."""
    weekday, hour = _weekday_hour(c.created_at, offsets)
    inner = (
        select(weekday.label("weekday"), hour.label("hour"))
        .where(new_in(scope, interval, index_only=True))
        .subquery()
    )
    query = select(inner.c.weekday, inner.c.hour, func.count()).group_by(inner.c.weekday, inner.c.hour)
    return [(int(d), int(h), int(n)) for d, h, n in conn.execute(query)]


# -- the overall report: one interval's numbers in one statement ----------------------------


@dataclass
class Summary:
    """What the overall report needs to know about the bucket of one interval."""

    total: int = 0  # conversations
    created: int = 0  # of them created in the interval
    customers: int = 0  # distinct primary customers
    with_customer: int = 0  # conversations whose primary customer exists (`customers.count`)
    customer_counts: list[tuple[int, int]] = field(default_factory=list)  # (customer id, conversations)
    tag_counts: list[tuple[int, int]] = field(default_factory=list)  # (tag id, conversations)
    slots: list[tuple[int, int, int]] = field(default_factory=list)  # new: (weekday, hour, count)


def summary(
    conn: Connection,
    scope: Scope,
    interval: Interval,
    *,
    offsets: Offsets | None = None,
    customer_ids: Sequence[int] | None = None,
    tag_ids: Sequence[int] | None = None,
) -> Summary:
    """Totals, customers, tags and (with `offsets`) busy slots of one interval's bucket.

    Customers: the `TOP_LENGTH` with the most conversations (ties: lowest id), or the given
    `customer_ids`. Tags: every tag on the bucket, or the given `tag_ids`.

    The bucket is read once, into one row: its size, how many of it are new, and the primary
    customer and (new ones) the clock period of creation (`_CreationClock`) of each
    conversation as comma-separated lists, counted here (`_counted`). Grouping the bucket in
    the statement cost more than reading it: SQLite groups through a temporary B-tree, ~1 µs
    a row (1M conversations, 30 days: 51k conversations of 26k customers, ~50 ms for the
    customers and ~30 for the slots, on a bucket read in ~15 and materialised in ~30),
    PostgreSQL hashed the materialised bucket in ~45 ms; counting the lists here costs ~15 ms.
    The tags' shares come from their own rows, in a second statement.
    """
    row = conversation_activity.c
    created = row.created_at.between(interval.start, interval.end)
    figures: list[ColumnElement[Any]] = [
        func.count(),
        func.coalesce(func.sum(case((created, 1), else_=0)), 0),
        _joined(row.customer_id),
    ]
    clock = _CreationClock.of(interval, offsets) if offsets is not None else None
    if clock is not None:
        figures.append(_joined(case((created, (_epoch(row.created_at) - clock.base) // clock.unit))))
    bucket = conn.execute(select(*figures).where(in_bucket(scope, interval))).one()
    # Each tag's share of the bucket from its own rows, tag by tag: joining the bucket to
    # `conversation_tags` probed the tags of all its conversations (1M, 30 days: 52,733 probes,
    # ~75 of PostgreSQL's ~105 ms for this statement). Counted per tag in a subquery rather than
    # grouped from a join, which SQLite grouped by sorting every counted row (64k over 30 days
    # at 1M) and PostgreSQL aggregated through a nested loop: 58 → 39 ms on SQLite, 35 → 30 on
    # PostgreSQL (a year: 613 → 387, 367 → 282).
    tag_rows = conversation_tag_activity.c
    share = (
        select(func.count())
        .where(
            tag_rows.tag_id == tags.c.id,
            in_bucket(scope, interval, on=conversation_tag_activity, day_by_day=tag_ids is not None),
        )
        .scalar_subquery()
    )
    per_tag = select(tags.c.id, share)
    if tag_ids is not None:
        per_tag = per_tag.where(tags.c.id.in_(list(tag_ids)))
    tagged = [(tag, n) for tag, n in conn.execute(per_tag) if n]
    total, new, customer_list, *slot_list = bucket
    # `customers.count` and its top list count conversations whose primary customer exists: every
    # non-null customer_id (a foreign key on both databases; customers are never deleted), which
    # is what the list holds (`aggregate_strings` skips NULLs).
    by_customer = _counted(customer_list)
    result = Summary(
        total=int(total),
        created=int(new),
        customers=len(by_customer),
        with_customer=by_customer.total(),
        tag_counts=sorted(((int(k), int(n)) for k, n in tagged), key=_most_first),
    )
    if customer_ids is None:
        result.customer_counts = _most_frequent(by_customer, TOP_LENGTH)
    else:
        chosen = [(customer, by_customer[str(customer)]) for customer in customer_ids]
        result.customer_counts = sorted(((customer, n) for customer, n in chosen if n), key=_most_first)
    if clock is not None:
        result.slots = clock.slots(_counted(slot_list[0]))
    return result


@dataclass(frozen=True)
class _CreationClock:
    """Busy slots counted by clock period rather than by local weekday-hour in the statement.

    The bucket statement lists, for each new conversation, the period of `unit` seconds from
    `base` it was created in, and each distinct period is turned into its local weekday-hour
    here: one division a row instead of the local-time arithmetic, which cost the statement
    ~40 % of its time (1M conversations, SQLite: 62 → 50 ms over 30 days, 629 → 527 over a
    year). `unit` is the longest of an hour, a quarter-hour, a minute and a second that divides
    every offset of the interval and the instant of every change, so that no period straddles
    two local hours.
    """

    base: int
    unit: int
    changes: tuple[int, ...]  # the instants each offset applies from (the first: the interval's start)
    offsets: tuple[int, ...]

    @classmethod
    def of(cls, interval: Interval, offsets: Offsets) -> _CreationClock:
        instants = [at for at, _ in offsets[1:]] + [offset for _, offset in offsets]
        unit = next(unit for unit in (HOUR, 900, 60, 1) if all(value % unit == 0 for value in instants))
        return cls(
            base=interval.first - interval.first % unit,
            unit=unit,
            changes=tuple(at for at, _ in offsets),
            offsets=tuple(offset for _, offset in offsets),
        )

    def slots(self, periods: Counter[str]) -> list[tuple[int, int, int]]:
        """(weekday 1 = Monday .. 7, hour, count) of the counted periods, non-empty slots only."""
        counts: Counter[tuple[int, int]] = Counter()
        for period, n in periods.items():
            at = self.base + int(period) * self.unit
            local = at + self.offsets[max(0, bisect_right(self.changes, at) - 1)]
            counts[(local // DAY + 3) % 7 + 1, local % DAY // HOUR] += n
        return sorted((weekday, hour, n) for (weekday, hour), n in counts.items())


def _most_first(entry: tuple[int, int]) -> tuple[int, int]:
    """Sort key of (id, count) pairs: the highest count first, then the lowest id."""
    return -entry[1], entry[0]


def _joined(value: ColumnElement[Any]) -> ColumnElement[str]:
    """The group's non-null values as one comma-separated text (SQLite `group_concat`,
    PostgreSQL `string_agg`); NULL for none."""
    return func.aggregate_strings(cast(value, String), ",")


def _counted(joined: str | None) -> Counter[str]:
    """How often each value of a `_joined` list occurs (the values as text)."""
    return Counter(joined.split(",")) if joined else Counter()


def _most_frequent(counts: Counter[str], length: int) -> list[tuple[int, int]]:
    """The `length` (id, count) pairs of the highest counts, ties broken by the lowest id."""
    if not counts:
        return []
    least = heapq.nlargest(length, counts.values())[-1]
    # The keys whose count reaches the least of the top counts, filtered without a Python loop
    # over every key (26k customers in a 30-day bucket at 1M conversations).
    near = compress(counts.keys(), map(least.__le__, counts.values()))
    return sorted(((int(key), counts[key]) for key in near), key=_most_first)[:length]


@dataclass(frozen=True)
class ThreadList:
    """A top list counted from threads: saved replies sent, or workflow runs."""

    key: ColumnElement[int]
    condition: Any  # (Interval) -> the threads it counts
    names: FromClause
    name_columns: tuple[ColumnElement[Any], ...]


def _thread_list(kind: str) -> ThreadList:
    if kind == "replies":
        return ThreadList(
            t.saved_reply_id,
            _saved_reply_sent,
            saved_replies,
            (saved_replies.c.name, saved_replies.c.mailbox_id),
        )
    if kind == "workflows":
        return ThreadList(t.workflow_id, _workflow_ran, workflows, (workflows.c.name,))
    raise ValueError(f"unknown top list {kind!r}")


def thread_counts(
    conn: Connection, kind: str, scope: Scope, interval: Interval, *, only_ids: Sequence[int] | None = None
) -> list[dict[str, Any]]:
    """Every entry of a thread-counted top list: id, names…, `n` conversations, `runs` threads.

    Most conversations first (ties: lowest id). `n` is what the fields-drilldown counts for that
    id; the sum of `runs` is the list's `count`.
    """
    spec = _thread_list(kind)
    rows = select(t.conversation_id.label("id"), spec.key.label("key")).where(spec.condition(interval))
    if only_ids is not None:
        rows = rows.where(spec.key.in_(list(only_ids)))
    # Grouped by the key alone, then named: grouping by the names too sorted each thread's row
    # with its name and looked the name up per thread (1M conversations, saved replies over 30
    # days: SQLite 45 → 33 ms, PostgreSQL 78 → 58; a year: 550 → 435, 440 → 393).
    # Unfiltered, no conversation looked up per thread (`_counted_threads`): saved replies over
    # 30 days at 1M, SQLite 31 → 21 ms, PostgreSQL 53 → 14; a year 416 → 242, 366 → 134.
    source, listed, condition = _counted_threads(conn, rows, scope, interval, f"{kind}_threads")
    grouped = _per_key(listed.key, listed.id).select_from(source).where(condition)
    counted = grouped.subquery("counted")
    query = select(counted.c.id, *spec.name_columns, counted.c.n, counted.c.runs).select_from(
        counted.outerjoin(spec.names, spec.names.c.id == counted.c.id)
    )
    found = [dict(row._mapping) for row in conn.execute(query)]
    found.sort(key=lambda row: (-row["n"], row["id"]))
    return found


def _per_key(key: ColumnElement[Any], conversation_id: ColumnElement[Any]) -> Select[Any]:
    """Per key: `n` conversations and `runs` threads."""
    n = func.count(distinct(conversation_id)).label("n")
    return select(key.label("id"), n, func.count().label("runs")).group_by(key)


def tag_names(conn: Connection, tag_ids: Sequence[int]) -> dict[int, str]:
    rows = conn.execute(select(tags.c.id, tags.c.name).where(tags.c.id.in_(list(tag_ids))))
    return {row.id: row.name for row in rows}


def customer_names(conn: Connection, customer_ids: Sequence[int]) -> dict[int, tuple[str, str]]:
    rows = conn.execute(
        select(customers.c.id, customers.c.first_name, customers.c.last_name).where(
            customers.c.id.in_(list(customer_ids))
        )
    )
    return {row.id: (row.first_name, row.last_name) for row in rows}


def all_tags(conn: Connection) -> list[dict[str, Any]]:
    """Every tag, for `filterTags`: the tags a report can be filtered on."""
    rows = conn.execute(select(tags.c.id, tags.c.name).order_by(tags.c.name, tags.c.id))
    return [{"name": r.name, "id": r.id} for r in rows]


# -- drilldown pages ------------------------------------------------------------------------


def _page_statement(matches: Select[Any]) -> Select[Any]:
    """How many conversations `matches` holds, and the ids of one page of them (parameters
    `offset` and `limit`), newest change first (then id), over the matches materialised once."""
    found = materialized(matches.cte("matches"))
    total = select(func.count().label("n")).select_from(found).subquery("total")
    page = windowed(
        select(found.c.id, found.c.modified_at).order_by(found.c.modified_at.desc(), found.c.id.desc())
    ).subquery("page")
    return (
        select(total.c.n, page.c.id)
        .select_from(total.outerjoin(page, true()))
        .order_by(page.c.modified_at.desc(), page.c.id.desc())
    )


def _matches_of(kind: str, scope: Scope) -> Select[Any]:
    """The matches of a drilldown kind (`bucket`, `new` or a field), for any interval and field id."""
    if kind == "bucket":
        return bucket(scope, BOUND_INTERVAL)
    if kind == "new":
        return new(scope, BOUND_INTERVAL)
    return field_bucket(scope, kind, bindparam("field_id", type_=BigInteger), BOUND_INTERVAL)


@lru_cache(maxsize=256)
def _kept_page(kind: str, scope: Scope) -> Prepared:
    """A drilldown's page statement, built once per kind (`bucket`, `new` or a field) and scope;
    the interval, the field's id, offset and limit are its parameters. Building and compiling it
    per request took about a third of a fields-drilldown on SQLite. PostgreSQL plans it for its
    values on each run: how many threads a saved reply has decides the plan."""
    return Prepared(_page_statement(_matches_of(kind, scope)), server_prepared=False)


# The drilldowns of large sets (the whole bucket, its new conversations, on SQLite a tag's
# share) find their page by walking the most recently modified conversations, each tested on
# its own row, and count their matches apart, without keeping them. At 1M conversations, 30
# days: the bucket's 51k conversations took 52 ms to count and sort kept, now ~25 in the app
# (PostgreSQL ~33); the new conversations 67 -> 13 (60 -> 26); a tag's 10,060 on SQLite 12.6 ->
# 4.6 + 0.9 of SQL (the app 19 -> 12 ms). A walk reads at most `WALK_CAP` conversations (and
# their ties); its page stands when it found all of the page's matches: those it did not read
# were modified earlier than any it did. Otherwise the page and the count are read as before,
# the walk lost (~1 ms on SQLite, ~3 on PostgreSQL, mostly planning it). It ends at once for
# an interval long before the walked modifications, or a tag whose share of the conversations
# makes the page unlikely among them. PostgreSQL's tag walk saved ~2 of ~10 ms of SQL and cost
# that in planning and a round trip, and ~3 ms where it did not hold the page: not walked.
WALKED_KINDS = {"sqlite": frozenset({"bucket", "new", "tagid"}), "postgresql": frozenset({"bucket", "new"})}
WALK_CAP = 500


def _walked_member(kind: str, scope: Scope) -> ColumnElement[bool]:
    """A conversation of the drilldown, tested on its row (the same set as `_matches_of`)."""
    if kind == "new":
        return new_in(scope, BOUND_INTERVAL)
    member = and_(scoped(scope), touched(BOUND_INTERVAL))
    if kind == "tagid":
        tag_id = bindparam("field_id", type_=BigInteger)
        return and_(
            _tag_share_walks(tag_id), member, _exists(ct.conversation_id == c.id, ct.tag_id == tag_id)
        )
    return member


def _tag_share_walks(tag_id: Any) -> ColumnElement[bool]:
    """The tag's share of the conversations (from the kept counts) is such that the walk's `cap`
    conversations likely hold the page's `through` matches, as a whole bucket's would half of
    its cap (`_walks`). Tested once, before the walk (PostgreSQL: a one-time filter): a rare
    tag's walk ends at once, and its page is sorted from its few matches."""

    def counted(table: Any, *also: ColumnElement[bool]) -> ColumnElement[int]:
        condition = and_(table.c.state == "published", table.c.status != "spam", *also)
        return select(func.coalesce(func.sum(table.c.n), 0)).where(condition).scalar_subquery()

    tagged = counted(conversation_tag_counts, conversation_tag_counts.c.tag_id == tag_id)
    everyone = counted(conversation_counts)
    through, cap = bindparam("through", type_=Integer), bindparam("cap", type_=Integer)
    return 2 * through * everyone <= tagged * cap


@lru_cache(maxsize=256)
def _kept_walk(kind: str, scope: Scope) -> tuple[Prepared, Prepared]:
    """A walked drilldown's statements: the first `through` matches among the `cap` most
    recently modified conversations, and the count of its matches."""
    recent = (
        select(c.modified_at)
        .where(c.state == "published")
        .order_by(c.modified_at.desc(), c.id.desc())
        .limit(bindparam("cap", type_=Integer))
        .subquery("recent")
    )
    floor = select(func.min(recent.c.modified_at)).scalar_subquery()
    # When the walked conversations were all modified more than the interval's length after
    # it ended, few of them are likely its matches (an old interval), and the walk ends at once.
    interval = BOUND_INTERVAL
    recent_enough = _epoch(floor) <= 2 * interval.last - interval.first
    walk = (
        select(c.id)
        .where(c.state == "published", recent_enough, c.modified_at >= floor, _walked_member(kind, scope))
        .order_by(c.modified_at.desc(), c.id.desc())
        .limit(bindparam("through", type_=Integer))
    )
    if kind == "new":  # counted from (state, status, created_at) alone where it can be
        counted = select(c.id).where(new_in(scope, BOUND_INTERVAL, index_only=True))
    else:
        counted = _matches_of(kind, scope)
    count = select(func.count()).select_from(counted.subquery("matches"))
    return Prepared(walk, server_prepared=False), Prepared(count, server_prepared=False)


def _walks(conn: Connection, kind: str, through: int, cap: int) -> bool:
    """Whether a walk of `cap` conversations is likely to hold the first `through` matches:
    every conversation recently modified is in a recent interval's bucket (a tag's walk
    checks its share itself, `_walked_member`)."""
    return kind in WALKED_KINDS[conn.dialect.name] and 2 * through <= cap


def kept_page_of(
    conn: Connection,
    kind: str,
    scope: Scope,
    interval: Interval,
    offset: int,
    limit: int,
    field_id: int = 0,
    *,
    walk_cap: int = WALK_CAP,
) -> tuple[int, list[int]]:
    """The count of a drilldown's matches and the ids of one page of them, through its kept
    statements (`field_id`: a field drilldown's entry; `walk_cap`: see `WALK_CAP`)."""
    values = {"offset": offset, "limit": limit, "field_id": field_id, **interval.values()}
    through = offset + limit
    if _walks(conn, kind, through, walk_cap):
        walk, count = _kept_walk(kind, scope)
        walked = [row[0] for row in walk.rows(conn, cap=walk_cap, through=through, **values)]
        if len(walked) >= through:
            return int(count.rows(conn, **values)[0][0]), walked[offset:]
    rows = _kept_page(kind, scope).rows(conn, **values)
    return int(rows[0][0]), [row[1] for row in rows if row[1] is not None]


# A drilldown page's rows and, by conversation, their tags.
DrilldownRows = tuple[list[dict], dict[int, list[dict]]]

_PRIMARY_EMAIL = (
    select(customer_emails.c.value)
    .where(customer_emails.c.customer_id == c.customer_id)
    .order_by(customer_emails.c.id)
    .limit(1)
    .scalar_subquery()
)
# Prepared once, the page's ids bound as one parameter, as the list page's loaders are
# (kit/prepared.py): building and compiling them per request was a third of a drilldown's time.
_DRILLDOWN_ROWS = Prepared(
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
        _PRIMARY_EMAIL.label("customer_email"),
        users.c.first_name.label("assignee_first"),
        users.c.last_name.label("assignee_last"),
    )
    .select_from(
        conversations.outerjoin(customers, customers.c.id == c.customer_id).outerjoin(
            users, users.c.id == c.assignee_id
        )
    )
    .where(any_id(c.id))
    .order_by(c.modified_at.desc(), c.id.desc())
)
_DRILLDOWN_TAGS = Prepared(
    select(ct.conversation_id, tags.c.id, tags.c.name, tags.c.color)
    .select_from(conversation_tags.join(tags, tags.c.id == ct.tag_id))
    .where(any_id(ct.conversation_id))
    .order_by(tags.c.name, tags.c.id)
)


def drilldown_rows(
    conn: Connection, conversation_ids: Sequence[int]
) -> tuple[list[dict], dict[int, list[dict]]]:
    """The result rows of these conversations, newest change first, with customer and assignee;
    and their tags by conversation, by name. One batch: one round trip on PostgreSQL."""
    if not conversation_ids:
        return [], {}
    batch = Together(conn)
    rows = batch.add(_DRILLDOWN_ROWS, ids=list(conversation_ids))
    tagged = batch.add(_DRILLDOWN_TAGS, ids=list(conversation_ids))
    batch.run()
    found: dict[int, list[dict[str, Any]]] = {}
    for conversation_id, tag_id, name, color in tagged.rows():
        found.setdefault(conversation_id, []).append({"id": tag_id, "name": name, "color": color})
    return rows.dicts(), found
