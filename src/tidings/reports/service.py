"""Assembling the reports from grouped counts: calendars, percentages, deltas, result items.

Decisions the references leave open (behaviour §8, reference §9.6), settled here:

* `viewBy` defaults to the finest granularity the range allows: day up to 60 days, week up to
  366 days, month beyond. Weeks begin on Monday; every period of the range is listed, empty
  ones with zero counts, and a period's `start`/`date` is the instant its local day, week or
  month begins, but never before the interval's `start` (so a count is always "from `start`
  until the next period").
* `/received-messages` answers `{start, count}` items as documented (not the `{date,
  messages}` shape one third-party README shows), counting published customer, chat and phone
  threads created in each period.
* `/busy-times` lists all 168 (day, hour) slots, zeros included, Monday 0h first.
* Top lists have at most `TOP_LENGTH` (10) entries, most conversations first, ties by id.
  Their `count`s: tags = distinct tags on bucket conversations; customers = bucket
  conversations that have a customer; replies = saved-reply replies sent in the interval;
  workflows = workflow runs in the interval. The "untagged" pseudo-tag is not reported.
* `busiestDay` is the weekday with the most new conversations (`count` = that weekday's total),
  with `hour` the busiest hour of that weekday; `busyTimeStart`/`busyTimeEnd` bound the busiest
  two-hour window of the day. All three are null when nothing new arrived.
* `conversationsPerDay` = totalConversations / days in the range (partial days count as whole
  days), rounded half up to an integer.
* Percentages are rounded to 3 decimals (`deltaPercent` is the difference of the unrounded
  ones); `deltas` are relative changes in percent, unrounded, and null when the previous value
  is 0 but the current one is not.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection

from tidings.kit import timefmt
from tidings.reports import queries
from tidings.reports.queries import Interval, Scope
from tidings.reports.schemas import (
    ComparedParams,
    DrilldownParams,
    FieldsDrilldownParams,
    ReportFilters,
    ViewBy,
    ViewByParams,
    span,
)

TOP_LENGTH = queries.TOP_LENGTH
THREAD_LISTS = ("replies", "workflows")  # counted from threads; tags and customers from the summary
EPOCH = date(1970, 1, 1)
DAY_SECONDS = 86400


def scope_for(visible_mailboxes: frozenset[int] | None, params: ReportFilters) -> Scope:
    return Scope(
        visible_mailboxes=visible_mailboxes,
        mailboxes=params.mailbox_ids,
        tags=params.tag_ids,
        types=params.type_names,
        folders=params.folder_ids,
    )


# -- the company calendar -------------------------------------------------------------------


def utc_offsets(zone: ZoneInfo, interval: Interval) -> list[tuple[int, int]]:
    """The zone's UTC offsets inside the interval as [(from_epoch, offset_seconds), ...].

    Scans day by day and bisects each change down to the second; zone changes are far more
    than a day apart, and the scan is cheap next to the queries it serves.
    """
    first, last = int(interval.start.timestamp()), int(interval.end.timestamp())

    def offset_at(ts: int) -> int:
        delta = datetime.fromtimestamp(ts, zone).utcoffset()
        return int(delta.total_seconds()) if delta else 0

    changes = [(first, offset_at(first))]
    probe = first
    while probe < last:
        step = min(probe + DAY_SECONDS, last)
        if offset_at(step) != changes[-1][1]:
            lo, hi = probe, step  # offset_at(lo) is the current offset, offset_at(hi) is not
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if offset_at(mid) == changes[-1][1]:
                    lo = mid
                else:
                    hi = mid
            changes.append((hi, offset_at(hi)))
        probe = step
    return changes


def local_day(instant: datetime, zone: ZoneInfo) -> int:
    """Days since 1970-01-01 of the instant's local date."""
    return (instant.astimezone(zone).date() - EPOCH).days


def period_starts(interval: Interval, zone: ZoneInfo, view: ViewBy) -> list[int]:
    """The local days on which each period of the interval begins."""
    first, last = local_day(interval.start, zone), local_day(interval.end, zone)
    if view == "day":
        return list(range(first, last + 1))
    if view == "week":
        monday = first - (first + 3) % 7  # 1970-01-01 was a Thursday
        return list(range(monday, last + 1, 7))
    day = EPOCH + timedelta(days=first)
    month = date(day.year, day.month, 1)
    starts = []
    while (month - EPOCH).days <= last:
        starts.append((month - EPOCH).days)
        month = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return starts


def local_midnight(day: int, zone: ZoneInfo) -> datetime:
    """The UTC instant at which a local day begins."""
    local = EPOCH + timedelta(days=day)
    return datetime(local.year, local.month, local.day, tzinfo=zone).astimezone(UTC)


def period_label(day: int, zone: ZoneInfo, interval: Interval) -> str:
    """The instant the local day begins, clamped to the interval's start."""
    return timefmt.fmt(max(local_midnight(day, zone), interval.start)) or ""


@dataclass(frozen=True)
class Series:
    """One interval cut into periods of the company calendar."""

    interval: Interval
    zone: ZoneInfo
    view: ViewBy

    def starts(self) -> list[int]:
        return period_starts(self.interval, self.zone, self.view)

    def periods(self, starts: list[int]) -> queries.Periods:
        """What the SQL needs to put each timestamp into the same periods as `starts`."""
        if self.view == "month":
            months = [(int(local_midnight(day, self.zone).timestamp()), day) for day in starts]
            return queries.Periods(self.view, (), months)
        return queries.Periods(self.view, utc_offsets(self.zone, self.interval))


# -- arithmetic -----------------------------------------------------------------------------


def percent_of(count: int, total: int) -> float:
    return count / total * 100 if total else 0.0


def relative_change(current: int, previous: int) -> float | None:
    """(current − previous) / previous × 100; 0 when both are 0, null when only previous is."""
    if previous == 0:
        return 0.0 if current == 0 else None
    return (current - previous) / previous * 100


def per_day(total: int, interval: Interval) -> int:
    """Integer average over the days of the range (a partial day counts), rounded half up."""
    days = -(-int(span(interval.start, interval.end).total_seconds()) // DAY_SECONDS)
    return (2 * total + days) // (2 * days)


# -- the overall report ---------------------------------------------------------------------


def _time_range(interval: Interval, summary: queries.Summary) -> dict[str, Any]:
    return {
        "startDate": timefmt.fmt(interval.start),
        "endDate": timefmt.fmt(interval.end),
        "totalConversations": summary.total,
        "conversationsCreated": summary.created,
        "newConversations": summary.created,
        "customers": summary.customers,
        "conversationsPerDay": per_day(summary.total, interval),
    }


def _top_entry(kind: str, row: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": row["id"]}
    if kind == "customers":
        entry["name"] = f"{row['first_name'] or ''} {row['last_name'] or ''}".strip()
    else:
        entry["name"] = row["name"] or ""
    if kind == "replies":
        entry["mailboxId"] = row["mailbox_id"]
    entry["count"] = row["n"]
    return entry


def _top_list(
    kind: str,
    rows: list[dict[str, Any]],
    count: int,
    current_total: int,
    previous: tuple[dict[int, int], int] | None,
) -> dict[str, Any]:
    """A top list: `rows` (id, names…, n) most first, `count`; `previous`: (counts by id, total)."""
    top = []
    for row in rows:
        entry = _top_entry(kind, row)
        now_percent = percent_of(row["n"], current_total)
        if previous is not None:
            entry["previousCount"] = previous[0].get(row["id"], 0)
        entry["percent"] = round(now_percent, 3)
        if previous is not None:
            then_percent = percent_of(entry["previousCount"], previous[1])
            entry["previousPercent"] = round(then_percent, 3)
            entry["deltaPercent"] = round(now_percent - then_percent, 3)
        top.append(entry)
    return {"count": count, "top": top}


def _busiest(slots: Sequence[tuple[int, int, int]]) -> dict[str, Any]:
    by_day = [0] * 8
    by_hour = [0] * 24
    for day, hour, count in slots:
        by_day[day] += count
        by_hour[hour] += count
    if not any(by_day):
        return {"busiestDay": None, "busyTimeStart": None, "busyTimeEnd": None}
    day = max(range(1, 8), key=lambda d: (by_day[d], -d))
    hours_of_day = {hour: count for d, hour, count in slots if d == day}
    hour = max(range(24), key=lambda h: (hours_of_day.get(h, 0), -h))
    window = max(range(24), key=lambda h: (by_hour[h] + by_hour[(h + 1) % 24], -h))
    return {
        "busiestDay": {"day": day, "hour": hour, "count": by_day[day]},
        "busyTimeStart": window,
        "busyTimeEnd": (window + 2) % 24,
    }


def overall(conn: Connection, scope: Scope, params: ComparedParams, zone: ZoneInfo) -> dict[str, Any]:
    """One statement per interval for the bucket's numbers, one per thread-counted list."""
    current = Interval(params.start, params.end)
    previous = Interval(*params.previous) if params.previous else None
    now = queries.summary(conn, scope, current, offsets=utc_offsets(zone, current))
    top_tags = now.tag_counts[:TOP_LENGTH]
    report: dict[str, Any] = {"filterTags": queries.all_tags(conn), **_busiest(now.slots)}
    report["current"] = now_range = _time_range(current, now)
    then: queries.Summary | None = None
    if previous is not None:
        then = queries.summary(
            conn,
            scope,
            previous,
            customer_ids=[key for key, _ in now.customer_counts],
            tag_ids=[key for key, _ in top_tags],
        )
        report["previous"] = then_range = _time_range(previous, then)
        report["deltas"] = {
            key: relative_change(now_range[key], then_range[key])
            for key in (
                "newConversations",
                "totalConversations",
                "customers",
                "conversationsCreated",
                "conversationsPerDay",
            )
        }

    def before(counts: list[tuple[int, int]]) -> tuple[dict[int, int], int] | None:
        return (dict(counts), then.total) if then is not None else None

    tag_names = queries.tag_names(conn, [key for key, _ in top_tags])
    tag_rows = [{"id": key, "name": tag_names.get(key), "n": n} for key, n in top_tags]
    report["tags"] = _top_list(
        "tags", tag_rows, len(now.tag_counts), now.total, before(then.tag_counts if then else [])
    )
    names = queries.customer_names(conn, [key for key, _ in now.customer_counts])
    customer_rows = [
        {"id": key, "first_name": names[key][0], "last_name": names[key][1], "n": n}
        for key, n in now.customer_counts
    ]
    report["customers"] = _top_list(
        "customers",
        customer_rows,
        now.with_customer,
        now.total,
        before(then.customer_counts if then else []),
    )
    for kind in THREAD_LISTS:
        entries = queries.thread_counts(conn, kind, scope, current)
        rows = entries[:TOP_LENGTH]
        earlier: list[tuple[int, int]] = []
        if previous is not None and rows:
            ids = [row["id"] for row in rows]
            earlier = [
                (row["id"], row["n"])
                for row in queries.thread_counts(conn, kind, scope, previous, only_ids=ids)
            ]
        runs = sum(row["runs"] for row in entries)
        report[kind] = _top_list(kind, rows, runs, now.total, before(earlier))
    return report


# -- series reports -------------------------------------------------------------------------


def _series_intervals(params: ViewByParams, zone: ZoneInfo) -> list[tuple[str, Series]]:
    found = [("current", Series(Interval(params.start, params.end), zone, params.view))]
    if params.previous:
        found.append(("previous", Series(Interval(*params.previous), zone, params.view)))
    return found


def _counts_per_period(
    conn: Connection, scope: Scope, params: ViewByParams, zone: ZoneInfo, count: Callable[..., Any]
) -> dict[str, Any]:
    """`{current: [{start, count}], previous?}` for one grouped count per period."""
    report: dict[str, Any] = {}
    for name, series in _series_intervals(params, zone):
        starts = series.starts()
        counts = dict(count(conn, scope, series.interval, series.periods(starts)))
        report[name] = [
            {"start": period_label(day, zone, series.interval), "count": counts.get(day, 0)} for day in starts
        ]
    return report


def new_conversations(conn: Connection, scope: Scope, params: ViewByParams, zone: ZoneInfo) -> dict[str, Any]:
    return _counts_per_period(conn, scope, params, zone, queries.new_by_period)


def received_messages(conn: Connection, scope: Scope, params: ViewByParams, zone: ZoneInfo) -> dict[str, Any]:
    return _counts_per_period(conn, scope, params, zone, queries.received_by_period)


def volume_by_channel(conn: Connection, scope: Scope, params: ViewByParams, zone: ZoneInfo) -> dict[str, Any]:
    report: dict[str, Any] = {}
    for name, series in _series_intervals(params, zone):
        starts = series.starts()
        counts: dict[tuple[int, str], int] = {
            (day, kind): n
            for day, kind, n in queries.new_by_period(
                conn, scope, series.interval, series.periods(starts), by_type=True
            )
        }
        report[name] = [
            {
                "date": period_label(day, zone, series.interval),
                "chat": counts.get((day, "chat"), 0),
                "email": counts.get((day, "email"), 0),
                "phone": counts.get((day, "phone"), 0),
            }
            for day in starts
        ]
    return report


def busy_times(conn: Connection, scope: Scope, params: ReportFilters, zone: ZoneInfo) -> list[dict[str, int]]:
    interval = Interval(params.start, params.end)
    counts = {(d, h): n for d, h, n in queries.busy_slots(conn, scope, interval, utc_offsets(zone, interval))}
    return [
        {"day": day, "hour": hour, "count": counts.get((day, hour), 0)}
        for day in range(1, 8)
        for hour in range(24)
    ]


# -- drilldowns -----------------------------------------------------------------------------


def _result_item(row: dict[str, Any], tag_rows: list[dict[str, Any]]) -> dict[str, Any]:
    has_customer = row["customer_id"] is not None
    assigned = row["assignee_id"] is not None
    return {
        "id": row["id"],
        "number": row["number"],
        "type": row["type"],
        "mailboxid": row["mailbox_id"],
        "attachments": bool(row["has_attachments"]),
        "subject": row["subject"],
        "status": row["status"],
        "threadCount": row["thread_count"],
        "preview": row["preview"],
        "customerName": f"{row['customer_first'] or ''} {row['customer_last'] or ''}".strip()
        if has_customer
        else "",
        "customerEmail": row["customer_email"] or "",
        "customerIds": [row["customer_id"]] if has_customer else [],
        "modifiedAt": timefmt.fmt(row["modified_at"]),
        "assignedid": row["assignee_id"] if assigned else None,
        "tags": [{"id": t["id"], "name": t["name"], "color": t["color"] or "none"} for t in tag_rows],
        "assignedName": f"{row['assignee_first'] or ''} {row['assignee_last'] or ''}".strip()
        if assigned
        else None,
    }


def _conversation_page(
    conn: Connection, kind: str, scope: Scope, params: DrilldownParams, field_id: int = 0
) -> dict[str, Any]:
    offset = (params.page - 1) * params.rows
    interval = Interval(params.start, params.end)
    count, ids = queries.kept_page_of(conn, kind, scope, interval, offset, params.rows, field_id)
    rows, tags = queries.drilldown_rows(conn, ids)
    return {
        "conversations": {
            "pages": -(-count // params.rows),
            "page": params.page,
            "count": count,
            "results": [_result_item(r, tags.get(r["id"], [])) for r in rows],
        }
    }


def drilldown(conn: Connection, scope: Scope, params: DrilldownParams) -> dict[str, Any]:
    """The conversations of the overall report: the whole bucket."""
    return _conversation_page(conn, "bucket", scope, params)


def new_drilldown(conn: Connection, scope: Scope, params: DrilldownParams) -> dict[str, Any]:
    """The conversations of the new-conversations report: created in the interval."""
    return _conversation_page(conn, "new", scope, params)


def fields_drilldown(conn: Connection, scope: Scope, params: FieldsDrilldownParams) -> dict[str, Any]:
    """The conversations behind one top-list entry of the overall report."""
    return _conversation_page(conn, params.field, scope, params, params.fieldid)
