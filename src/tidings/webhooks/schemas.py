"""The webhook request body, its JSON shape, and the events a webhook may ask for."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from starlette.requests import Request

from tidings.conversations.schemas import Out
from tidings.kit.hal import href
from tidings.kit.openapi import Link, hal_page
from tidings.kit.schemas import MAX_ID, Body
from tidings.kit.timefmt import fmt

# Every event of the reference (§8.2), so that a client's subscription is accepted as the service
# accepts it; `CAUSED` are the ones Tidings has something to cause them (no merges, ratings, chats,
# surveys or tag edits exist here).
EVENTS = (
    "beacon.chat.created",
    "beacon.chat.customer.replied",
    "convo.agent.reply.created",
    "convo.ai-answers.created",
    "convo.assigned",
    "convo.created",
    "convo.custom-fields",
    "convo.customer.reply.created",
    "convo.deleted",
    "convo.merged",
    "convo.moved",
    "convo.note.created",
    "convo.status",
    "convo.tags",
    "customer.created",
    "customer.deleted",
    "customer.updated",
    "message.survey.response.received",
    "satisfaction.ratings",
    "tag.created",
    "tag.deleted",
    "tag.updated",
)
CAUSED = frozenset(
    {
        "convo.agent.reply.created",
        "convo.assigned",
        "convo.created",
        "convo.custom-fields",
        "convo.customer.reply.created",
        "convo.deleted",
        "convo.moved",
        "convo.note.created",
        "convo.status",
        "convo.tags",
        "customer.created",
        "customer.updated",
        "tag.created",
    }
)
EventName = Literal[EVENTS]  # type: ignore[valid-type]


class WebhookIn(Body):
    url: str = Field(min_length=1, max_length=2048, description="Where events are POSTed (http or https)")
    events: list[EventName] = Field(min_length=1, max_length=len(EVENTS))
    secret: str = Field(min_length=1, max_length=40, description="Key of the X-HelpScout-Signature HMAC")
    payloadVersion: Literal["V2"] = "V2"
    label: str | None = Field(default=None, max_length=200)
    notification: bool = Field(default=False, description="Send only the changed resource's id and URI")
    mailboxIds: list[int] | None = Field(
        default=None, max_length=1000, description="Conversation events of these mailboxes only"
    )
    state: Literal["enabled", "disabled"] = Field(
        default="enabled", description="Tidings: a PUT re-enables a webhook unless it says disabled"
    )

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an absolute http or https URL")
        return value

    @field_validator("mailboxIds")
    @classmethod
    def _ids(cls, value: list[int] | None) -> list[int] | None:
        if value is not None and any(not 1 <= i <= MAX_ID for i in value):
            raise ValueError("expected positive mailbox ids")
        return value

    def stored(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "events": sorted(set(self.events)),
            "secret": self.secret,
            "payload_version": self.payloadVersion,
            "label": self.label,
            "notification": self.notification,
            "mailbox_ids": None if self.mailboxIds is None else sorted(set(self.mailboxIds)),
            "state": self.state,
        }


class WebhookOut(Out):
    id: int
    url: str
    state: str
    events: list[str]
    secret: str
    payloadVersion: str
    notification: bool
    label: str = None  # type: ignore[assignment]
    mailboxIds: list[int] = None  # type: ignore[assignment]
    createdAt: str
    updatedAt: str
    links: dict[str, Link] = Field(alias="_links")


WebhookPage = hal_page("WebhookPage", "webhooks", WebhookOut)


def webhook_out(request: Request, webhook: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": webhook["id"],
        "url": webhook["url"],
        "state": webhook["state"],
        "events": webhook["events"],
        "secret": webhook["secret"],
        "payloadVersion": webhook["payload_version"],
        "notification": bool(webhook["notification"]),
    }
    if webhook["label"]:
        doc["label"] = webhook["label"]
    if webhook["mailbox_ids"] is not None:
        doc["mailboxIds"] = webhook["mailbox_ids"]
    doc["createdAt"] = fmt(webhook["created_at"])
    doc["updatedAt"] = fmt(webhook["updated_at"])
    doc["_links"] = {"self": href(request, f"/v2/webhooks/{webhook['id']}")}
    return doc
