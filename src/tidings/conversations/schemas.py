"""Request bodies of the conversation and thread write endpoints."""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from tidings.kit import timefmt
from tidings.kit.openapi import Link, hal_page
from tidings.kit.schemas import MAX_ID, Body, Email

Status = Literal["active", "pending", "closed", "spam"]
ConversationType = Literal["email", "chat", "phone"]


def _timestamp(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return timefmt.parse(value)
        except ValueError as exc:
            raise ValueError(f"Malformed date: {exc}") from None
    return value


ApiTimestamp = Annotated[datetime, BeforeValidator(_timestamp)]
EmailList = list[Email]


class CustomerRef(Body):
    """A customer by id, or by email (created with the optional fields when unknown)."""

    id: int | None = Field(default=None, ge=1, le=MAX_ID)
    email: Email | None = None
    firstName: str | None = Field(default=None, max_length=40)
    lastName: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=60)
    photoUrl: str | None = Field(default=None, max_length=200)
    jobTitle: str | None = Field(default=None, max_length=60)
    photoType: str | None = Field(default=None, max_length=20)
    background: str | None = Field(default=None, max_length=15000)
    location: str | None = Field(default=None, max_length=60)
    organization: str | None = Field(default=None, max_length=60)
    gender: str | None = Field(default=None, max_length=20)
    age: str | None = Field(default=None, max_length=20)

    @model_validator(mode="after")
    def _id_or_email(self) -> CustomerRef:
        if self.id is None and self.email is None:
            raise ValueError("a customer needs an id or an email")
        return self


class AttachmentIn(Body):
    fileName: str = Field(min_length=1, max_length=255)
    mimeType: str = Field(min_length=1, max_length=255)
    data: str = Field(min_length=1, pattern=r"^[A-Za-z0-9+/]*={0,2}$", description="The file, base64-encoded")

    @field_validator("data")
    @classmethod
    def _base64(cls, value: str) -> str:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("expected base64-encoded file data") from None
        return value

    def decoded(self) -> bytes:
        return base64.b64decode(self.data)


class ThreadIn(Body):
    """A thread inside a create-conversation body."""

    type: Literal["customer", "reply", "note", "chat", "phone"]
    text: str = Field(min_length=1, max_length=200_000)
    customer: CustomerRef | None = None
    draft: bool = False
    to: EmailList = Field(default_factory=list)
    cc: EmailList = Field(default_factory=list)
    bcc: EmailList = Field(default_factory=list)
    createdAt: ApiTimestamp | None = None
    imported: bool = False
    attachments: list[AttachmentIn] = Field(default_factory=list)
    user: int | None = Field(default=None, ge=1, le=MAX_ID)


class FieldValueIn(Body):
    id: int = Field(ge=1, le=MAX_ID)
    value: Any

    @field_validator("value")
    @classmethod
    def _scalar(cls, value: Any) -> str:
        if value is None or isinstance(value, dict | list):
            raise ValueError("expected a string or number")
        return str(value)


class ConversationCreate(Body):
    subject: str = Field(min_length=1, max_length=998)
    type: ConversationType
    mailboxId: int = Field(ge=1, le=MAX_ID)
    status: Literal["active", "closed", "pending"]
    customer: CustomerRef
    threads: list[ThreadIn] = Field(min_length=1)
    assignTo: int | None = Field(default=None, ge=1, le=MAX_ID)
    autoReply: bool = False
    imported: bool = False
    createdAt: ApiTimestamp | None = None
    closedAt: ApiTimestamp | None = None
    user: int | None = Field(default=None, ge=1, le=MAX_ID)
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)
    fields: list[FieldValueIn] = Field(default_factory=list)
    cc: EmailList = Field(default_factory=list)
    bcc: EmailList = Field(default_factory=list)


class PatchOp(Body):
    op: Literal["add", "move", "remove", "replace"]
    # Documented as an enum; checked by the service together with the value, so that every
    # invalid operation of an array is reported in the same 400.
    path: str = Field(
        min_length=1,
        max_length=100,
        json_schema_extra={
            "enum": ["/subject", "/primaryCustomer.id", "/draft", "/mailboxId", "/status", "/assignTo"]
        },
    )
    value: Any = None


def _one_or_many(value: Any) -> str:
    return "many" if isinstance(value, list) else "one"


# PATCH takes one operation object or an array of them (clients send both forms).
PatchBody = Annotated[
    Annotated[PatchOp, Tag("one")] | Annotated[list[PatchOp], Tag("many")], Discriminator(_one_or_many)
]


class TagsUpdate(Body):
    tags: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(default_factory=list)


class FieldsUpdate(Body):
    fields: list[FieldValueIn] = Field(default_factory=list)


class SnoozeUpdate(Body):
    snoozedUntil: ApiTimestamp
    unsnoozeOnCustomerReply: bool


class ReplyIn(Body):
    text: str = Field(min_length=1, max_length=200_000)
    customer: CustomerRef | None = None
    draft: bool = False
    imported: bool = False
    status: Literal["active", "all", "closed", "open", "pending", "spam"] | None = None
    user: int | None = Field(default=None, ge=1, le=MAX_ID)
    assignTo: int | None = Field(default=None, ge=1, le=MAX_ID)
    to: EmailList = Field(default_factory=list)
    cc: EmailList = Field(default_factory=list)
    bcc: EmailList = Field(default_factory=list)
    createdAt: ApiTimestamp | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)
    savedReplyId: int | None = Field(default=None, ge=1, le=MAX_ID)


class NoteIn(Body):
    text: str = Field(min_length=1, max_length=200_000)
    user: int | None = Field(default=None, ge=1, le=MAX_ID)
    status: Literal["active", "all", "closed", "open", "pending", "spam"] | None = None
    imported: bool = False
    createdAt: ApiTimestamp | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)


class CustomerThreadIn(Body):
    text: str = Field(min_length=1, max_length=200_000)
    customer: CustomerRef
    imported: bool = False
    to: EmailList = Field(default_factory=list)
    cc: EmailList = Field(default_factory=list)
    bcc: EmailList = Field(default_factory=list)
    createdAt: ApiTimestamp | None = None
    attachments: list[AttachmentIn] = Field(default_factory=list)


class ThreadPatch(Body):
    op: Literal["replace"]
    path: Literal["/text", "/hidden"]
    value: Any = None


# -- response shapes (documentation: routes return pre-built documents of exactly this form) --


class Out(BaseModel):
    """A documented response object; keys that may be absent default to None (and are omitted)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow")


class Person(Out):
    id: int
    type: str = None  # type: ignore[assignment]
    first: str = None  # type: ignore[assignment]
    last: str = None  # type: ignore[assignment]
    email: str = None  # type: ignore[assignment]
    photoUrl: str = None  # type: ignore[assignment]


class ConversationTagOut(Out):
    id: int
    color: str
    tag: str


class CustomFieldOut(Out):
    id: int
    name: str
    value: str
    text: str


class WaitingSinceOut(Out):
    time: str
    friendly: str
    latestReplyFrom: str


class SourceOut(Out):
    type: str
    via: str


class SnoozeOut(Out):
    snoozedBy: int
    snoozedUntil: str
    unsnoozeOnCustomerReply: bool


class NextEventOut(Out):
    time: str
    eventType: str
    userId: int
    cancelOnCustomerReply: bool


class AttachmentOut(Out):
    id: int
    filename: str
    mimeType: str
    width: int
    height: int
    size: int
    links: dict[str, Link] = Field(alias="_links")


class AttachmentsEmbedded(Out):
    attachments: list[AttachmentOut]


class ActionOut(Out):
    type: str
    text: str = None  # type: ignore[assignment]
    associatedEntities: dict[str, Any] = None  # type: ignore[assignment]


class ThreadOut(Out):
    id: int
    type: Literal["customer", "message", "note", "chat", "phone", "lineitem", "forwardparent", "forwardchild"]
    status: str
    state: str
    action: ActionOut
    body: str = None  # type: ignore[assignment]
    source: SourceOut
    customer: Person = None  # type: ignore[assignment]
    createdBy: Person
    assignedTo: Person = None  # type: ignore[assignment]
    savedReplyId: int = None  # type: ignore[assignment]
    to: list[str]
    cc: list[str]
    bcc: list[str]
    createdAt: str
    openedAt: str = None  # type: ignore[assignment]
    embedded: AttachmentsEmbedded = Field(alias="_embedded")
    links: dict[str, Link] = Field(alias="_links")


class ThreadsEmbedded(Out):
    threads: list[ThreadOut]


class ConversationOut(Out):
    id: int
    number: int
    threads: int = Field(description="How many published threads (line items excluded)")
    type: ConversationType
    folderId: int
    status: Status
    state: Literal["published", "draft", "deleted"]
    subject: str
    preview: str
    mailboxId: int
    assignee: Person = None  # type: ignore[assignment]
    createdBy: Person
    createdAt: str
    closedBy: int
    closedByUser: Person = None  # type: ignore[assignment]
    closedAt: str = None  # type: ignore[assignment]
    userUpdatedAt: str
    customerWaitingSince: WaitingSinceOut = None  # type: ignore[assignment]
    source: SourceOut
    tags: list[ConversationTagOut]
    cc: list[str]
    bcc: list[str]
    primaryCustomer: Person = None  # type: ignore[assignment]
    snooze: SnoozeOut = None  # type: ignore[assignment]
    nextEvent: NextEventOut = None  # type: ignore[assignment]
    customFields: list[CustomFieldOut]
    embedded: ThreadsEmbedded = Field(default=None, alias="_embedded")  # type: ignore[assignment]
    links: dict[str, Link] = Field(alias="_links")


class AttachmentData(Out):
    data: str = Field(description="The file, base64-encoded")


ConversationPage = hal_page("ConversationPage", "conversations", ConversationOut)
ThreadPage = hal_page("ThreadPage", "threads", ThreadOut)


class ScheduleIn(Body):
    scheduledFor: ApiTimestamp
    unscheduleOnCustomerReply: bool = False


class SchedulePatch(Body):
    """Send a scheduled draft now: the only change the service's scheduling accepts over PATCH."""

    op: Literal["replace"]
    path: Literal["/state"]
    value: Literal["published"]
