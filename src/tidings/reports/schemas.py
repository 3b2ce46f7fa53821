"""Query parameters of the report endpoints (reference §7.1, behaviour §8).

Each endpoint reads its parameters into one model so that every invalid parameter is reported
in the same 400. Rules that involve two parameters (start after end, a lone previousStart, a
`viewBy` the range does not allow) are field validators on the later field, so the error names
that parameter instead of the whole query string.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, field_validator

from tidings.kit import timefmt
from tidings.kit.schemas import MAX_ID

ViewBy = Literal["day", "week", "month"]
DrillField = Literal["tagid", "replyid", "workflowid", "customerid"]
CONVERSATION_TYPES = ("email", "chat", "phone")

# viewBy range rules, measured on the inclusive span (end - start + 1 s).
DAY_VIEW_MAX = timedelta(days=60)
WEEK_VIEW_MAX = timedelta(days=366)  # "one year", leap years included
EARLIEST_YEAR = 1900
LATEST_YEAR = 2200

_ID_LIST = re.compile(r"^\s*\d+\s*(,\s*\d+\s*)*$")


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            parsed = timefmt.parse(value)
        except ValueError as exc:
            raise ValueError(f"Malformed date: {exc}") from None
        if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
            raise ValueError(f"expected a date between the years {EARLIEST_YEAR} and {LATEST_YEAR}")
        return parsed
    return value


ReportTimestamp = Annotated[datetime, BeforeValidator(_timestamp)]


def _ids(value: str | None, what: str) -> str | None:
    if value is not None and (not _ID_LIST.match(value) or any(int(p) > MAX_ID for p in value.split(","))):
        raise ValueError(f"expected a {what} id or ids separated by commas, e.g. 12 or 12,34")
    return value


def _split_ids(value: str | None) -> tuple[int, ...]:
    return tuple(sorted({int(p) for p in value.split(",")})) if value else ()


def span(start: datetime, end: datetime) -> timedelta:
    """The length of an inclusive interval: both ends count, so one more second."""
    return end - start + timedelta(seconds=1)


def default_view(start: datetime, end: datetime) -> ViewBy:
    """The finest granularity the range allows: day up to 60 days, week up to a year, then month."""
    length = span(start, end)
    if length <= DAY_VIEW_MAX:
        return "day"
    if length <= WEEK_VIEW_MAX:
        return "week"
    return "month"


class ReportFilters(BaseModel):
    """The interval and the filters every report of the family takes."""

    model_config = ConfigDict(extra="ignore")

    start: ReportTimestamp = Field(description="Start of the interval (ISO 8601 UTC), inclusive")
    end: ReportTimestamp = Field(description="End of the interval (ISO 8601 UTC), inclusive")
    mailboxes: str | None = Field(default=None, description="Mailbox ids separated by commas")
    tags: str | None = Field(default=None, description="Tag ids separated by commas (any of them)")
    types: str | None = Field(default=None, description="Conversation types separated by commas")
    folders: str | None = Field(default=None, description="Folder ids separated by commas")

    @field_validator("end")
    @classmethod
    def _end_not_before_start(cls, value: datetime, info: ValidationInfo) -> datetime:
        start = info.data.get("start")
        if start is not None and value < start:
            raise ValueError("must not be before start")
        return value

    @field_validator("mailboxes")
    @classmethod
    def _mailbox_ids(cls, value: str | None) -> str | None:
        return _ids(value, "mailbox")

    @field_validator("tags")
    @classmethod
    def _tag_ids(cls, value: str | None) -> str | None:
        return _ids(value, "tag")

    @field_validator("folders")
    @classmethod
    def _folder_ids(cls, value: str | None) -> str | None:
        return _ids(value, "folder")

    @field_validator("types")
    @classmethod
    def _types(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = [p.strip() for p in value.split(",")]
        if not parts or any(p not in CONVERSATION_TYPES for p in parts):
            raise ValueError("expected conversation types separated by commas: email, chat, phone")
        return value

    @property
    def mailbox_ids(self) -> tuple[int, ...]:
        return _split_ids(self.mailboxes)

    @property
    def tag_ids(self) -> tuple[int, ...]:
        return _split_ids(self.tags)

    @property
    def folder_ids(self) -> tuple[int, ...]:
        return _split_ids(self.folders)

    @property
    def type_names(self) -> tuple[str, ...]:
        return tuple(sorted({p.strip() for p in self.types.split(",")})) if self.types else ()


class ComparedParams(ReportFilters):
    """Reports that can compare with a previous interval."""

    previousStart: ReportTimestamp | None = Field(default=None, description="Start of the previous interval")
    previousEnd: ReportTimestamp | None = Field(
        default=None, validate_default=True, description="End of the previous interval"
    )

    @field_validator("previousEnd")
    @classmethod
    def _previous_pair(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        if "previousStart" not in info.data:
            return value  # previousStart itself was invalid and is reported on its own
        previous_start = info.data["previousStart"]
        if (previous_start is None) != (value is None):
            raise ValueError("previousStart and previousEnd must be given together")
        if previous_start is not None and value is not None and value < previous_start:
            raise ValueError("must not be before previousStart")
        return value

    @property
    def previous(self) -> tuple[datetime, datetime] | None:
        if self.previousStart is None or self.previousEnd is None:
            return None
        return self.previousStart, self.previousEnd


class ViewByParams(ComparedParams):
    """Reports broken down by day, week or month."""

    viewBy: ViewBy | None = Field(
        default=None,
        validate_default=True,
        description="day (range up to 60 days), week (up to a year) or month (61 days or more); "
        "default: the finest the range allows",
    )

    @field_validator("viewBy")
    @classmethod
    def _view_fits_range(cls, value: ViewBy | None, info: ValidationInfo) -> ViewBy | None:
        start, end = info.data.get("start"), info.data.get("end")
        if value is None or start is None or end is None:
            return value
        length = span(start, end)
        if value == "day" and length > DAY_VIEW_MAX:
            raise ValueError("day is only available for ranges of at most 60 days")
        if value == "week" and length > WEEK_VIEW_MAX:
            raise ValueError("week is only available for ranges of at most one year")
        if value == "month" and length <= DAY_VIEW_MAX:
            raise ValueError("month is only available for ranges of 61 days or more")
        return value

    @property
    def view(self) -> ViewBy:
        return self.viewBy or default_view(self.start, self.end)


class DrilldownParams(ReportFilters):
    """Drilldowns page through conversations."""

    page: int = Field(default=1, ge=1, le=1_000_000, description="1-based page number")
    rows: int = Field(default=25, ge=1, le=50, description="Results per page, at most 50")


class FieldsDrilldownParams(DrilldownParams):
    """The conversations behind one entry of the overall report's top lists."""

    field: DrillField = Field(description="tagid, replyid, workflowid or customerid")
    fieldid: int = Field(ge=1, le=MAX_ID, description="Id of the tag, saved reply, workflow or customer")
