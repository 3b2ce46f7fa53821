"""The one place that writes and reads API timestamps (`2014-02-27T00:00:00Z`).

Conversation and thread documents carry their rows' datetimes as they are and
`kit.hal.json_bytes` writes them in this same form (orjson, in C): `fmt` is for the rest.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?(Z|z|[+-]\d{2}:?\d{2})?$"
)


def now() -> datetime:
    """The current instant, truncated to whole seconds as the API speaks them."""
    return datetime.now(UTC).replace(microsecond=0)


def fmt(value: datetime | None) -> str | None:
    if value is None:
        return None
    # isoformat is ~4x cheaper than strftime; the first 19 characters are YYYY-MM-DDTHH:MM:SS.
    if value.tzinfo is not UTC:  # what the database gives is UTC already
        value = value.astimezone(UTC)
    return value.isoformat()[:19] + "Z"


def parse(text: str) -> datetime:
    """Parse an ISO 8601 instant; a missing offset means UTC. Raises ValueError."""
    match = _ISO.match(text.strip())
    if not match:
        raise ValueError(f"expected an ISO 8601 timestamp like 2014-02-27T00:00:00Z, got {text!r}")
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "+00:00").replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).replace(microsecond=0)
    except (ValueError, OverflowError):
        raise ValueError(f"expected an ISO 8601 timestamp like 2014-02-27T00:00:00Z, got {text!r}") from None


def friendly(value: datetime, reference: datetime | None = None) -> str:
    """Human wording of a past instant, as Help Scout's `customerWaitingSince.friendly`."""
    reference = reference or now()
    seconds = int((reference - value).total_seconds())
    if seconds < 60:
        return "Just now"
    if seconds < 3600:
        minutes = seconds // 60
        return f"{minutes} minute{'s' if minutes != 1 else ''} ago"
    if seconds < 86400:
        hours = seconds // 3600
        return f"{hours} hour{'s' if hours != 1 else ''} ago"
    return value.strftime("%b %-d, '%y")


def friendly_changes_at(value: datetime, reference: datetime) -> datetime | None:
    """The first instant after `reference` at which `friendly(value, ...)` reads differently
    (None: a date, which never changes). What a reused answer may not outlive (kit/reuse.py)."""
    seconds = int((reference - value).total_seconds())
    if seconds < 60:
        return value + timedelta(seconds=60)
    if seconds < 3600:
        return value + timedelta(minutes=seconds // 60 + 1)
    if seconds < 86400:
        return value + timedelta(hours=seconds // 3600 + 1)
    return None
