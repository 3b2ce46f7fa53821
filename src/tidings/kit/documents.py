"""Documented response shapes of the customers, tags, saved-replies, workflows and reports
endpoints (the routes return pre-built documents of exactly this form; see kit/openapi.py)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from tidings.conversations.schemas import Out
from tidings.kit.openapi import Link, hal_page


class ContactOut(Out):
    id: int
    value: str
    type: str = None  # type: ignore[assignment]


class CustomerEmbedded(Out):
    emails: list[ContactOut]
    phones: list[ContactOut] = None  # type: ignore[assignment]
    websites: list[ContactOut] = None  # type: ignore[assignment]
    chats: list[ContactOut] = None  # type: ignore[assignment]
    social_profiles: list[ContactOut] = None  # type: ignore[assignment]


class CustomerOut(Out):
    id: int
    firstName: str
    lastName: str
    gender: str
    jobTitle: str = None  # type: ignore[assignment]
    location: str = None  # type: ignore[assignment]
    organization: str = None  # type: ignore[assignment]
    photoType: str = None  # type: ignore[assignment]
    photoUrl: str = None  # type: ignore[assignment]
    age: str = None  # type: ignore[assignment]
    createdAt: str
    updatedAt: str
    background: str
    embedded: CustomerEmbedded = Field(alias="_embedded")
    links: dict[str, Link] = Field(alias="_links")


class TagOut(Out):
    id: int
    name: str
    slug: str
    color: str
    createdAt: str
    updatedAt: str
    ticketCount: int
    links: dict[str, Link] = Field(alias="_links")


class WorkflowOut(Out):
    id: int
    mailboxId: int
    type: str
    status: str
    order: int
    name: str
    createdAt: str
    modifiedAt: str
    links: dict[str, Link] = Field(alias="_links")


class SavedReplySummary(Out):
    id: int
    name: str
    preview: str
    chatPreview: str = None  # type: ignore[assignment]


class SavedReplyOut(Out):
    id: int
    name: str
    text: str
    chatText: str


class ReportTag(Out):
    id: int
    name: str
    color: str


class DrilldownResult(Out):
    id: int
    number: int
    type: str
    mailboxid: int
    attachments: bool
    subject: str
    status: str
    threadCount: int
    preview: str
    customerName: str
    customerEmail: str
    customerIds: list[int]
    modifiedAt: str
    assignedid: int | None
    tags: list[ReportTag]
    assignedName: str | None


class DrilldownConversations(Out):
    pages: int
    page: int
    count: int
    results: list[DrilldownResult]


class DrilldownOut(Out):
    conversations: DrilldownConversations


class PeriodCount(Out):
    start: str
    count: int


class PeriodSeries(Out):
    current: list[PeriodCount]
    previous: list[PeriodCount] = None  # type: ignore[assignment]


class ChannelCount(Out):
    date: str
    chat: int
    email: int
    phone: int


class ChannelSeries(Out):
    current: list[ChannelCount]
    previous: list[ChannelCount] = None  # type: ignore[assignment]


class BusySlot(Out):
    day: int = Field(ge=1, le=7, description="1 = Monday … 7 = Sunday")
    hour: int = Field(ge=0, le=23)
    count: int


class TimeRangeStats(Out):
    startDate: str
    endDate: str
    totalConversations: int
    conversationsCreated: int
    newConversations: int
    customers: int
    conversationsPerDay: int


class TopList(Out):
    count: int
    top: list[dict[str, Any]]


class OverallReport(Out):
    filterTags: list[dict[str, Any]]
    busiestDay: dict[str, Any] | None
    busyTimeStart: int | None
    busyTimeEnd: int | None
    current: TimeRangeStats
    previous: TimeRangeStats = None  # type: ignore[assignment]
    deltas: dict[str, float | None] = None  # type: ignore[assignment]
    tags: TopList
    customers: TopList
    replies: TopList
    workflows: TopList


CustomerPage = hal_page("CustomerPage", "customers", CustomerOut)
EmailPage = hal_page("EmailPage", "emails", ContactOut)
PhonePage = hal_page("PhonePage", "phones", ContactOut)
TagPage = hal_page("TagPage", "tags", TagOut)
WorkflowPage = hal_page("WorkflowPage", "workflows", WorkflowOut)
