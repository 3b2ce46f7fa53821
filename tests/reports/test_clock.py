"""The overall report's busy slots, counted by clock period and turned into local time in Python
(`queries._CreationClock`): the weekday and hour zoneinfo gives each instant, in every zone."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.reports.queries import Interval, _CreationClock
from tidings.reports.service import utc_offsets

# Whole hours with DST, half and quarter hours, a half-hour DST shift, and zones whose early
# offsets were not whole minutes (local mean time before 1900-1920).
ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Europe/Amsterdam",
    "Africa/Monrovia",
]
FIRST = int(datetime(1890, 1, 1, tzinfo=UTC).timestamp())
LAST = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())


@settings(max_examples=200, deadline=None)
@given(
    zone_name=st.sampled_from(ZONES),
    start=st.integers(FIRST, LAST),
    days=st.integers(0, 400),
    data=st.data(),
)
def test_each_instant_falls_in_its_local_weekday_and_hour(
    zone_name: str, start: int, days: int, data: st.DataObject
) -> None:
    zone = ZoneInfo(zone_name)
    end = start + days * 86400 + data.draw(st.integers(0, 86399))
    interval = Interval(datetime.fromtimestamp(start, UTC), datetime.fromtimestamp(end, UTC))
    clock = _CreationClock.of(interval, utc_offsets(zone, interval))
    instants = data.draw(st.lists(st.integers(start, end), min_size=1, max_size=40))
    periods = Counter(str((at - clock.base) // clock.unit) for at in instants)
    expected = Counter()
    for at in instants:
        local = datetime.fromtimestamp(at, zone)
        expected[local.isoweekday(), local.hour] += 1
    assert clock.slots(periods) == sorted((day, hour, n) for (day, hour), n in expected.items())
