"""Request bodies and the JSON shape of customers, their emails and phones.

The customer object follows the recorded responses of the real service: `firstName`,
`lastName`, `gender` and `background` are always present (`""`, `"Unknown"` when unset); the
other scalar fields are left out when unset. Chats, social profiles and websites are not stored,
so their `_embedded` arrays are always empty.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from starlette.requests import Request

from tidings.conversations.schemas import ApiTimestamp
from tidings.customers.repository import CUSTOMER_COLUMNS
from tidings.kit.hal import href
from tidings.kit.schemas import MAX_ID, Body, Email
from tidings.kit.timefmt import fmt


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _number_as_text(value: Any) -> Any:
    """Clients send `age` as a number as often as a string."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


EmailType = Annotated[Literal["home", "work", "other"], BeforeValidator(_lower)]
PhoneType = Annotated[Literal["home", "fax", "mobile", "pager", "work", "other"], BeforeValidator(_lower)]
Gender = Annotated[Literal["male", "female", "unknown"], BeforeValidator(_lower)]
PhotoType = Annotated[
    Literal[
        "unknown",
        "default",
        "gravatar",
        "twitter",
        "facebook",
        "googleprofile",
        "googleplus",
        "linkedin",
        "instagram",
    ],
    BeforeValidator(_lower),
]
Name = Annotated[str, Field(min_length=1, max_length=40)]
Age = Annotated[str, BeforeValidator(_number_as_text), Field(max_length=20)]


class EmailIn(Body):
    type: EmailType = "work"
    value: Email


class PhoneIn(Body):
    type: PhoneType = "work"
    value: str = Field(min_length=1, max_length=60)


class CustomerScalars(Body):
    """The scalar fields of a customer; PUT overwrites all of them, PATCH one at a time."""

    firstName: Name | None = None
    lastName: Name | None = None
    gender: Gender | None = None
    jobTitle: str | None = Field(default=None, max_length=60)
    location: str | None = Field(default=None, max_length=60)
    organization: str | None = Field(default=None, max_length=60)
    photoType: PhotoType | None = None
    photoUrl: str | None = Field(default=None, max_length=200)
    background: str | None = Field(default=None, max_length=15000)
    age: Age | None = None


class CustomerCreate(CustomerScalars):
    emails: list[EmailIn] = Field(default_factory=list, max_length=100)
    phones: list[PhoneIn] = Field(default_factory=list, max_length=100)


class CustomerListParams(BaseModel):
    """Query parameters of GET /v2/customers, read together so every bad one is reported."""

    model_config = ConfigDict(extra="ignore")

    firstName: str | None = Field(default=None, max_length=40)
    lastName: str | None = Field(default=None, max_length=40)
    email: str | None = Field(default=None, max_length=254)
    mailbox: int | None = Field(default=None, ge=1, le=MAX_ID)
    modifiedSince: ApiTimestamp | None = None
    query: str | None = None
    sortField: Literal["score", "firstName", "lastName", "modifiedAt"] = "score"
    sortOrder: Literal["asc", "desc"] = "desc"
    page: int = Field(default=1, ge=1, le=1_000_000)


def stored_scalars(body: CustomerScalars, *, only_set: bool) -> dict[str, Any]:
    """Column values of the body's scalar fields (gender stored as the service shows it)."""
    values: dict[str, Any] = {}
    for key, column in CUSTOMER_COLUMNS.items():
        if only_set and key not in body.model_fields_set:
            continue
        values[column] = stored_value(key, getattr(body, key))
    return values


def stored_value(key: str, value: Any) -> Any:
    if key in ("firstName", "lastName"):
        return value or ""
    if key == "gender" and value is not None:
        return str(value).capitalize()
    return value


def contact_out(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "value": row["value"], "type": row["type"]}


def customer_out(
    request: Request, customer: dict[str, Any], emails: list[dict], phones: list[dict]
) -> dict[str, Any]:
    cid = customer["id"]
    doc: dict[str, Any] = {
        "id": cid,
        "firstName": customer["first_name"] or "",
        "lastName": customer["last_name"] or "",
        "gender": customer["gender"] or "Unknown",
    }
    optional = (
        ("jobTitle", "job_title"),
        ("location", "location"),
        ("organization", "organization"),
        ("photoType", "photo_type"),
        ("photoUrl", "photo_url"),
        ("age", "age"),
    )
    for key, column in optional:
        if customer[column]:
            doc[key] = customer[column]
    doc["createdAt"] = fmt(customer["created_at"])
    doc["updatedAt"] = fmt(customer["updated_at"])
    doc["background"] = customer["background"] or ""
    doc["_embedded"] = {
        "emails": [contact_out(e) for e in emails],
        "websites": [],
        "chats": [],
        "phones": [contact_out(p) for p in phones],
        "social_profiles": [],
    }
    base = f"/v2/customers/{cid}"
    doc["_links"] = {
        "address": href(request, f"{base}/address/"),
        "chats": href(request, f"{base}/chats/"),
        "emails": href(request, f"{base}/emails/"),
        "phones": href(request, f"{base}/phones/"),
        "self": href(request, base),
        "social-profiles": href(request, f"{base}/social-profiles/"),
        "websites": href(request, f"{base}/websites/"),
    }
    return doc
