"""Solr DateMath for `modifiedAt` / `createdAt` query values.

Help Scout's query language speaks Solr's date math (`NOW-1HOUR`, `2013-01-01T00:00:00Z/YEAR`)
plus partial dates (`2000-11` is all of November 2000). The Python libraries found speak only the
Elasticsearch dialect (stack-notes §A.7), so this is our own, following Solr's `DateMathParser`:

- the anchor is `NOW`, an ISO instant (`2014-02-27T00:00:00Z`, `Z` or a `±hh:mm` offset optional,
  optional fraction) or a partial date (`2014`, `2014-02`, `2014-02-27`, `2014-02-27T10`,
  `2014-02-27T10:30`); without an offset it is UTC;
- then `+N UNIT`, `-N UNIT` and `/UNIT` apply left to right with no whitespace; units are YEAR(S),
  MONTH(S), DAY(S)/DATE, HOUR(S), MINUTE(S), SECOND(S), MILLI(S)/MILLISECOND(S), any case;
- `/UNIT` truncates to the start of the unit; month and year steps clamp the day of the month
  (Jan 31 + 1 MONTH = Feb 28 or 29), as Java's calendar does.

Every value denotes a period `[start, end_exclusive)`, so that `createdAt:2000-11` can mean "during
November": a partial date covers its whole period; after a rounding the period is one unit of the
last `/UNIT` starting at the result; anything else (`NOW`, a full instant) is the whole second it
falls in, the precision timestamps are stored with. Steps after the anchor shift the period.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

__all__ = ["DateMathError", "Period", "resolve"]


class DateMathError(Exception):
    """A value that is not a date, a partial date or valid date math."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Period:
    """The half-open interval of instants a date value denotes."""

    start: datetime
    end_exclusive: datetime


_UNITS = {
    "YEAR": "year",
    "YEARS": "year",
    "MONTH": "month",
    "MONTHS": "month",
    "DAY": "day",
    "DAYS": "day",
    "DATE": "day",
    "HOUR": "hour",
    "HOURS": "hour",
    "MINUTE": "minute",
    "MINUTES": "minute",
    "SECOND": "second",
    "SECONDS": "second",
    "MILLI": "milli",
    "MILLIS": "milli",
    "MILLISECOND": "milli",
    "MILLISECONDS": "milli",
}

_FIXED_STEPS = {
    "day": timedelta(days=1),
    "hour": timedelta(hours=1),
    "minute": timedelta(minutes=1),
    "second": timedelta(seconds=1),
    "milli": timedelta(milliseconds=1),
}

_ANCHOR = r"""
(?P<now>NOW)
|
(?P<year>\d{4})
(?:-(?P<month>\d{2})
  (?:-(?P<day>\d{2})
    (?:T(?P<hour>\d{2})
      (?::(?P<minute>\d{2})
        (?::(?P<second>\d{2})(?:\.(?P<fraction>\d{1,9}))?)?
      )?
      (?P<zone>Z|[+-]\d{2}:?\d{2})?
    )?
  )?
)?
"""
_STEP = r"[+-]\d+[A-Z]+|/[A-Z]+"
_EXPRESSION = re.compile(rf"(?P<anchor>{_ANCHOR})(?P<steps>(?:{_STEP})*)", re.VERBOSE | re.IGNORECASE)
_STEPS = re.compile(r"(?P<sign>[+-])(?P<amount>\d+)(?P<unit>[A-Z]+)|/(?P<round>[A-Z]+)", re.IGNORECASE)

_LATEST = datetime.max.replace(tzinfo=UTC)
_EXAMPLES = "a date like 2014-02-27T00:00:00Z, a partial date like 2014-02, or date math like NOW-1HOUR"


def resolve(text: str, now: datetime) -> Period:
    """The period `text` denotes; `now` is the instant `NOW` stands for (fixed per request)."""
    match = _EXPRESSION.fullmatch(text.strip())
    if match is None:
        raise DateMathError(f"expected {_EXAMPLES}, got {text!r}")
    instant, unit = _anchor(match, now, text)
    rounded_to: str | None = None
    try:
        for step in _STEPS.finditer(match["steps"]):
            if step["round"] is not None:
                rounded_to = _unit(step["round"], text)
                instant = truncate(instant, rounded_to)
            else:
                amount = int(step["amount"]) * (-1 if step["sign"] == "-" else 1)
                instant = add(instant, amount, _unit(step["unit"], text))
    except (OverflowError, ValueError):
        raise DateMathError(f"date out of range in {text!r}") from None
    if rounded_to is not None:
        unit = rounded_to
    elif unit == "second":
        instant = truncate(instant, "second")
    return Period(instant, _end_of(instant, unit))


def add(instant: datetime, amount: int, unit: str) -> datetime:
    """`instant` moved by `amount` units; months and years clamp the day of the month."""
    if unit == "year":
        return _add_months(instant, 12 * amount)
    if unit == "month":
        return _add_months(instant, amount)
    return instant + _FIXED_STEPS[unit] * amount


def truncate(instant: datetime, unit: str) -> datetime:
    """The start of the `unit` that `instant` falls in."""
    if unit == "year":
        return instant.replace(month=1, day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "month":
        return instant.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return instant.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return instant.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return instant.replace(second=0, microsecond=0)
    if unit == "second":
        return instant.replace(microsecond=0)
    return instant.replace(microsecond=instant.microsecond // 1000 * 1000)


def _add_months(instant: datetime, months: int) -> datetime:
    year, month_index = divmod(instant.month - 1 + months, 12)
    year += instant.year
    month = month_index + 1
    if not 1 <= year <= 9999:
        raise OverflowError("year out of range")
    day = min(instant.day, calendar.monthrange(year, month)[1])
    return instant.replace(year=year, month=month, day=day)


def _end_of(start: datetime, unit: str) -> datetime:
    try:
        return add(start, 1, unit)
    except (OverflowError, ValueError):
        return _LATEST


def _unit(name: str, text: str) -> str:
    unit = _UNITS.get(name.upper())
    if unit is None:
        raise DateMathError(
            f"unknown date math unit {name!r} in {text!r}; "
            "use YEAR, MONTH, DAY, HOUR, MINUTE, SECOND or MILLI (plural allowed)"
        )
    return unit


def _anchor(match: re.Match[str], now: datetime, text: str) -> tuple[datetime, str]:
    """The anchor's first instant and the unit of the period it spans."""
    if match["now"] is not None:
        current = now if now.tzinfo is not None else now.replace(tzinfo=UTC)
        return current.astimezone(UTC), "second"
    parts = [match["year"], match["month"], match["day"], match["hour"], match["minute"], match["second"]]
    units = ["year", "month", "day", "hour", "minute", "second"]
    given = sum(part is not None for part in parts)
    fraction = match["fraction"] or ""
    try:
        value = datetime(
            int(parts[0]),
            int(parts[1] or 1),
            int(parts[2] or 1),
            int(parts[3] or 0),
            int(parts[4] or 0),
            int(parts[5] or 0),
            int(fraction[:6].ljust(6, "0")),
            tzinfo=_zone(match["zone"]),
        )
        value = value.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DateMathError(f"not a valid date: {text!r}; expected {_EXAMPLES}") from None
    return value, units[given - 1]


def _zone(text: str | None) -> timezone:
    if text is None or text.upper() == "Z":
        return UTC
    digits = text[1:].replace(":", "")
    offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return timezone(-offset if text[0] == "-" else offset)
