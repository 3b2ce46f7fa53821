"""Request bodies and the JSON shapes of mailboxes, folders and custom fields."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field
from starlette.requests import Request

from tidings.conversations.schemas import Out
from tidings.kit.hal import href
from tidings.kit.openapi import Link, hal_page
from tidings.kit.schemas import MAX_ID, Body, Email
from tidings.kit.timefmt import fmt


class MailboxCreate(Body):
    name: str = Field(min_length=1, max_length=200)
    email: Email
    slug: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9_-]+$")


class FieldOptionIn(Body):
    label: str = Field(min_length=1, max_length=255)
    order: int | None = Field(default=None, ge=0, le=MAX_ID)


class FieldCreate(Body):
    name: str = Field(min_length=1, max_length=100)
    type: Literal["singleline", "multiline", "date", "number", "dropdown"]
    required: bool = False
    options: list[FieldOptionIn] = Field(default_factory=list)


def mailbox_out(request: Request, mailbox: dict[str, Any]) -> dict[str, Any]:
    mid = mailbox["id"]
    return {
        "id": mid,
        "name": mailbox["name"],
        "slug": mailbox["slug"],
        "email": mailbox["email"],
        "createdAt": fmt(mailbox["created_at"]),
        "updatedAt": fmt(mailbox["updated_at"]),
        "_links": {
            "fields": href(request, f"/v2/mailboxes/{mid}/fields/"),
            "folders": href(request, f"/v2/mailboxes/{mid}/folders/"),
            "self": href(request, f"/v2/mailboxes/{mid}"),
        },
    }


def folder_out(folder: dict[str, Any]) -> dict[str, Any]:
    latest = folder.get("latest")
    return {
        "id": folder["id"],
        "name": folder["name"],
        "type": folder["type"],
        "userId": folder["user_id"],
        "totalCount": int(folder.get("total") or 0),
        "activeCount": int(folder.get("active") or 0),
        "updatedAt": fmt(max(latest, folder["updated_at"]) if latest else folder["updated_at"]),
    }


def field_out(field: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": field["id"],
        "name": field["name"],
        "type": field["type"],
        "required": bool(field["required"]),
        "order": field["sort_order"],
        "options": [{"id": o["id"], "order": o["sort_order"], "label": o["label"]} for o in field["options"]],
    }


class MailboxOut(Out):
    id: int
    name: str
    slug: str
    email: str
    createdAt: str
    updatedAt: str
    links: dict[str, Link] = Field(alias="_links")


class FolderOut(Out):
    id: int
    name: str
    type: str
    userId: int
    totalCount: int
    activeCount: int
    updatedAt: str


class FieldOptionOut(Out):
    id: int
    order: int
    label: str


class FieldOut(Out):
    id: int
    name: str
    type: str
    required: bool
    order: int
    options: list[FieldOptionOut]


MailboxPage = hal_page("MailboxPage", "mailboxes", MailboxOut)
FolderPage = hal_page("FolderPage", "folders", FolderOut)
FieldPage = hal_page("FieldPage", "fields", FieldOut)
