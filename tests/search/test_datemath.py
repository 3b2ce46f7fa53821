"""Solr date math and partial dates: every documented form, plus properties against plain oracles."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tidings.search.datemath import DateMathError, Period, resolve

NOW = datetime(2024, 5, 10, 12, 34, 56, 789_000, tzinfo=UTC)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        # NOW and full instants denote the whole second they fall in
        ("NOW", utc(2024, 5, 10, 12, 34, 56), utc(2024, 5, 10, 12, 34, 57)),
        ("now", utc(2024, 5, 10, 12, 34, 56), utc(2024, 5, 10, 12, 34, 57)),
        ("2014-02-27T00:00:00Z", utc(2014, 2, 27), utc(2014, 2, 27, 0, 0, 1)),
        ("2014-02-27T00:00:00", utc(2014, 2, 27), utc(2014, 2, 27, 0, 0, 1)),
        ("2014-02-27T00:00:00.123Z", utc(2014, 2, 27), utc(2014, 2, 27, 0, 0, 1)),
        ("2014-02-27T23:59:59.999", utc(2014, 2, 27, 23, 59, 59), utc(2014, 2, 28)),
        ("2014-02-27T10:30:00+02:00", utc(2014, 2, 27, 8, 30), utc(2014, 2, 27, 8, 30, 1)),
        ("2014-02-27T10:30:00-0130", utc(2014, 2, 27, 12, 0), utc(2014, 2, 27, 12, 0, 1)),
        ("2014-02-27t10:30:00z", utc(2014, 2, 27, 10, 30), utc(2014, 2, 27, 10, 30, 1)),
        # partial dates denote their whole period
        ("2014", utc(2014, 1, 1), utc(2015, 1, 1)),
        ("2014-02", utc(2014, 2, 1), utc(2014, 3, 1)),
        ("2000-11", utc(2000, 11, 1), utc(2000, 12, 1)),
        ("2014-12", utc(2014, 12, 1), utc(2015, 1, 1)),
        ("2014-02-27", utc(2014, 2, 27), utc(2014, 2, 28)),
        ("2014-02-27T10", utc(2014, 2, 27, 10), utc(2014, 2, 27, 11)),
        ("2014-02-27T10Z", utc(2014, 2, 27, 10), utc(2014, 2, 27, 11)),
        ("2014-02-27T10:30", utc(2014, 2, 27, 10, 30), utc(2014, 2, 27, 10, 31)),
        # arithmetic, left to right
        ("NOW-1HOUR", utc(2024, 5, 10, 11, 34, 56), utc(2024, 5, 10, 11, 34, 57)),
        ("NOW+2DAYS", utc(2024, 5, 12, 12, 34, 56), utc(2024, 5, 12, 12, 34, 57)),
        ("NOW-30MINUTES", utc(2024, 5, 10, 12, 4, 56), utc(2024, 5, 10, 12, 4, 57)),
        ("NOW-1HOUR-30MINUTES", utc(2024, 5, 10, 11, 4, 56), utc(2024, 5, 10, 11, 4, 57)),
        ("NOW+10SECONDS", utc(2024, 5, 10, 12, 35, 6), utc(2024, 5, 10, 12, 35, 7)),
        ("NOW+1SECOND", utc(2024, 5, 10, 12, 34, 57), utc(2024, 5, 10, 12, 34, 58)),
        ("NOW+211MILLIS", utc(2024, 5, 10, 12, 34, 57), utc(2024, 5, 10, 12, 34, 58)),
        ("NOW+1MILLISECOND", utc(2024, 5, 10, 12, 34, 56), utc(2024, 5, 10, 12, 34, 57)),
        ("NOW-1YEAR", utc(2023, 5, 10, 12, 34, 56), utc(2023, 5, 10, 12, 34, 57)),
        ("NOW+1DATE", utc(2024, 5, 11, 12, 34, 56), utc(2024, 5, 11, 12, 34, 57)),
        ("2014-02-27T00:00:00Z+1MINUTE", utc(2014, 2, 27, 0, 1), utc(2014, 2, 27, 0, 1, 1)),
        # month and year steps clamp the day
        ("2014-01-31T00:00:00Z+1MONTH", utc(2014, 2, 28), utc(2014, 2, 28, 0, 0, 1)),
        ("2016-01-31T00:00:00Z+1MONTH", utc(2016, 2, 29), utc(2016, 2, 29, 0, 0, 1)),
        ("2016-03-31T00:00:00Z-1MONTH", utc(2016, 2, 29), utc(2016, 2, 29, 0, 0, 1)),
        ("2014-01-31T00:00:00Z+1MONTH+1MONTH", utc(2014, 3, 28), utc(2014, 3, 28, 0, 0, 1)),
        ("2014-01-31T00:00:00Z+2MONTHS", utc(2014, 3, 31), utc(2014, 3, 31, 0, 0, 1)),
        ("2016-02-29T00:00:00Z+1YEAR", utc(2017, 2, 28), utc(2017, 2, 28, 0, 0, 1)),
        ("2014-11-15T00:00:00Z+3MONTHS", utc(2015, 2, 15), utc(2015, 2, 15, 0, 0, 1)),
        ("2014-02-15T00:00:00Z-14MONTHS", utc(2012, 12, 15), utc(2012, 12, 15, 0, 0, 1)),
        # rounding: the period is one unit of the last rounding
        ("NOW/YEAR", utc(2024, 1, 1), utc(2025, 1, 1)),
        ("NOW/MONTH", utc(2024, 5, 1), utc(2024, 6, 1)),
        ("NOW/DAY", utc(2024, 5, 10), utc(2024, 5, 11)),
        ("NOW/DATE", utc(2024, 5, 10), utc(2024, 5, 11)),
        ("NOW/HOUR", utc(2024, 5, 10, 12), utc(2024, 5, 10, 13)),
        ("NOW/MINUTE", utc(2024, 5, 10, 12, 34), utc(2024, 5, 10, 12, 35)),
        ("NOW/SECOND", utc(2024, 5, 10, 12, 34, 56), utc(2024, 5, 10, 12, 34, 57)),
        (
            "NOW/MILLI",
            datetime(2024, 5, 10, 12, 34, 56, 789_000, tzinfo=UTC),
            datetime(2024, 5, 10, 12, 34, 56, 790_000, tzinfo=UTC),
        ),
        ("now/day", utc(2024, 5, 10), utc(2024, 5, 11)),
        ("NOW/DAY+1DAY", utc(2024, 5, 11), utc(2024, 5, 12)),
        ("NOW+1DAY/DAY", utc(2024, 5, 11), utc(2024, 5, 12)),
        ("NOW-1MONTH/MONTH", utc(2024, 4, 1), utc(2024, 5, 1)),
        ("NOW/YEAR/DAY", utc(2024, 1, 1), utc(2024, 1, 2)),
        ("2013-01-01T00:00:00Z/YEAR", utc(2013, 1, 1), utc(2014, 1, 1)),
        ("2014-01-01T00:00:00Z/YEAR", utc(2014, 1, 1), utc(2015, 1, 1)),
        ("2014-02-27T10:30:00Z/MONTH", utc(2014, 2, 1), utc(2014, 3, 1)),
        ("2014-02/DAY", utc(2014, 2, 1), utc(2014, 2, 2)),
        # a partial date moved keeps its length
        ("2014-02+1MONTH", utc(2014, 3, 1), utc(2014, 4, 1)),
        ("2014-01-31+1MONTH", utc(2014, 2, 28), utc(2014, 3, 1)),
        ("9999", utc(9999, 1, 1), datetime.max.replace(tzinfo=UTC)),
    ],
)
def test_resolves(text: str, start: datetime, end: datetime) -> None:
    assert resolve(text, NOW) == Period(start, end)


def test_naive_now_is_taken_as_utc() -> None:
    assert resolve("NOW", datetime(2024, 5, 10, 12, 0, 0)).start == utc(2024, 5, 10, 12)


def test_now_in_another_zone_is_converted() -> None:
    paris_summer = datetime(2024, 5, 10, 14, 0, 0, tzinfo=timezone(timedelta(hours=2)))
    assert resolve("NOW/DAY", paris_summer).start == utc(2024, 5, 10)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "expected a date"),
        ("abc", "expected a date"),
        ("yesterday", "expected a date"),
        ("NOW-1HOURZ", "unknown date math unit 'HOURZ'"),
        ("NOW+1WEEK", "unknown date math unit 'WEEK'"),
        ("NOW/FORTNIGHT", "unknown date math unit 'FORTNIGHT'"),
        ("NOW - 1HOUR", "expected a date"),
        ("NOW-HOUR", "expected a date"),
        ("NOW-1", "expected a date"),
        ("NOW+1.5DAYS", "expected a date"),
        ("2014-13", "not a valid date"),
        ("2014-02-30", "not a valid date"),
        ("2014-02-27T25", "not a valid date"),
        ("2014-02-27T10:61", "not a valid date"),
        ("0000", "not a valid date"),
        ("14-02-27", "expected a date"),
        ("2014-2-27", "expected a date"),
        ("2014-02-27T00:00:00+25:00", "not a valid date"),
        ("NOW+99999999999YEARS", "date out of range"),
        ("NOW+999999999DAYS", "date out of range"),
        ("0001-01-01T00:00:00Z-1DAY", "date out of range"),
        ("9999-12-31T00:00:00Z+1MONTH", "date out of range"),
    ],
)
def test_rejects(text: str, fragment: str) -> None:
    with pytest.raises(DateMathError) as error:
        resolve(text, NOW)
    assert fragment in error.value.message
    assert str(error.value) == error.value.message


# properties

instants = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(2200, 12, 31), timezones=st.just(UTC)
)
units = st.sampled_from(["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"])


def iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def month_oracle(value: datetime, months: int) -> datetime:
    """Month arithmetic the long way round: count months, then take the last valid day."""
    index = value.year * 12 + value.month - 1 + months
    year, month = index // 12, index % 12 + 1
    first_of_next = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=UTC)
    last_day = (first_of_next - timedelta(days=1)).day
    return value.replace(year=year, month=month, day=min(value.day, last_day))


@given(now=instants, amount=st.integers(0, 5000))
def test_adding_days_hours_minutes_seconds_is_timedelta(now: datetime, amount: int) -> None:
    whole = now.replace(microsecond=0)
    assert resolve(f"NOW+{amount}DAYS", now).start == whole + timedelta(days=amount)
    assert resolve(f"NOW-{amount}HOURS", now).start == whole - timedelta(hours=amount)
    assert resolve(f"NOW+{amount}MINUTES", now).start == whole + timedelta(minutes=amount)
    assert resolve(f"NOW-{amount}SECONDS", now).start == whole - timedelta(seconds=amount)


@given(value=instants, months=st.integers(-1200, 1200))
def test_month_steps_match_the_oracle(value: datetime, months: int) -> None:
    whole = value.replace(microsecond=0)
    sign = "+" if months >= 0 else "-"
    assert resolve(f"{iso(whole)}{sign}{abs(months)}MONTHS", NOW).start == month_oracle(whole, months)


@given(value=instants, years=st.integers(0, 300))
def test_a_year_is_twelve_months(value: datetime, years: int) -> None:
    whole = value.replace(microsecond=0)
    assert resolve(f"{iso(whole)}+{years}YEARS", NOW) == resolve(f"{iso(whole)}+{12 * years}MONTHS", NOW)


@given(value=instants, unit=units)
def test_rounding_is_idempotent_and_contains_the_instant(value: datetime, unit: str) -> None:
    whole = value.replace(microsecond=0)
    once = resolve(f"{iso(whole)}/{unit}", NOW)
    twice = resolve(f"{iso(once.start)}/{unit}", NOW)
    assert once == twice
    assert once.start <= whole < once.end_exclusive


@given(value=instants)
def test_partial_dates_cover_the_instant_and_nest(value: datetime) -> None:
    periods = [
        resolve(value.strftime(pattern), NOW)
        for pattern in ("%Y", "%Y-%m", "%Y-%m-%d", "%Y-%m-%dT%H", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S")
    ]
    whole = value.replace(microsecond=0)
    for wider, narrower in itertools.pairwise(periods):
        assert wider.start <= narrower.start < narrower.end_exclusive <= wider.end_exclusive
    assert periods[-1] == Period(whole, whole + timedelta(seconds=1))
    assert all(period.start <= whole < period.end_exclusive for period in periods)


@given(
    now=instants,
    steps=st.lists(
        st.tuples(st.sampled_from(["+", "-", "/"]), st.integers(0, 40), units | st.just("MILLIS")), max_size=6
    ),
)
def test_any_chain_is_a_non_empty_period(now: datetime, steps: list[tuple[str, int, str]]) -> None:
    text = "NOW" + "".join(f"/{unit}" if op == "/" else f"{op}{amount}{unit}" for op, amount, unit in steps)
    period = resolve(text, now)
    assert period.start < period.end_exclusive
    assert period.start.tzinfo is not None


@given(text=st.text(max_size=40))
def test_any_text_resolves_or_raises_date_math_error(text: str) -> None:
    try:
        period = resolve(text, NOW)
    except DateMathError as error:
        assert error.message
    else:
        assert period.start < period.end_exclusive
