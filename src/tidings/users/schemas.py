"""Request bodies and the JSON shapes of users."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field
from starlette.requests import Request

from tidings.conversations.schemas import Out
from tidings.kit.hal import href
from tidings.kit.openapi import Link, hal_page
from tidings.kit.schemas import MAX_ID, Body, Email
from tidings.kit.timefmt import fmt


class UserCreate(Body):
    firstName: str = Field(min_length=1, max_length=40)
    lastName: str = Field(default="", max_length=40)
    email: Email
    role: Literal["owner", "admin", "user"] = "user"
    mailboxIds: list[Annotated[int, Field(ge=1, le=MAX_ID)]] = Field(default_factory=list)
    timezone: str = Field(default="UTC", max_length=64)
    jobTitle: str | None = Field(default=None, max_length=100)
    phone: str | None = Field(default=None, max_length=60)


class AppCreate(Body):
    name: str = Field(default="", max_length=200)


def user_out(request: Request, user: dict[str, Any]) -> dict[str, Any]:
    first, last = user["first_name"], user["last_name"]
    return {
        "id": user["id"],
        "firstName": first,
        "lastName": last,
        "email": user["email"],
        "role": user["role"],
        "timezone": user["timezone"],
        "photoUrl": user["photo_url"] or "",
        "createdAt": fmt(user["created_at"]),
        "updatedAt": fmt(user["updated_at"]),
        "type": "user",
        "mention": (first + last).lower().replace(" ", ""),
        "initials": ((first[:1] or "") + (last[:1] or "")).upper(),
        "jobTitle": user["job_title"] or "",
        "phone": user["phone"] or "",
        "alternateEmails": [],
        "_links": {"self": href(request, f"/v2/users/{user['id']}")},
    }


def person(user: dict[str, Any] | None) -> dict[str, Any] | None:
    """The short user form embedded in conversations and threads."""
    if user is None:
        return None
    doc = {
        "id": user["id"],
        "type": "user",
        "first": user["first_name"],
        "last": user["last_name"],
        "email": user["email"],
    }
    if user.get("photo_url"):
        doc["photoUrl"] = user["photo_url"]
    return doc


class UserOut(Out):
    id: int
    firstName: str
    lastName: str
    email: str
    role: Literal["owner", "admin", "user"]
    timezone: str
    photoUrl: str
    createdAt: str
    updatedAt: str
    type: str
    mention: str
    initials: str
    jobTitle: str
    phone: str
    alternateEmails: list[str]
    companyId: int = None  # type: ignore[assignment]
    links: dict[str, Link] = Field(alias="_links")


class AppCredentials(Out):
    appId: str
    appSecret: str


UserPage = hal_page("UserPage", "users", UserOut)
