"""The events Tidings posts, in the OpenAPI document's `webhooks` section (OpenAPI 3.1).

Each caused event is one documented POST whose body is the model the API answers for that
resource (or `{id}` for a deletion, `{id, uri}` for a notification webhook), with the two
headers the receiver checks. Documentation only: nothing is routed here.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel

from tidings.conversations.schemas import ConversationOut
from tidings.kit.documents import CustomerOut, TagOut
from tidings.webhooks.schemas import CAUSED


class DeletedOut(BaseModel):
    id: int


class NotificationOut(BaseModel):
    """What a `notification` webhook is sent instead of the resource."""

    id: int
    uri: str


HEADERS = [
    {
        "name": "X-HelpScout-Event",
        "in": "header",
        "required": True,
        "description": "The event's name",
        "schema": {"type": "string"},
    },
    {
        "name": "X-HelpScout-Signature",
        "in": "header",
        "required": True,
        "description": "base64 of the HMAC-SHA1 of the raw body, keyed by the webhook's secret",
        "schema": {"type": "string"},
    },
]


def _body_of(event: str) -> type[BaseModel]:
    if event == "convo.deleted":
        return DeletedOut
    if event.startswith("convo."):
        return ConversationOut
    if event.startswith("customer."):
        return CustomerOut
    return TagOut


def document_events(app: FastAPI) -> None:
    for event in sorted(CAUSED):
        model = _body_of(event)

        async def receive(body: Any) -> None:
            """Not called: the route only documents the post."""

        receive.__annotations__["body"] = model | NotificationOut  # the model of this event
        app.webhooks.add_api_route(
            event,
            receive,
            methods=["POST"],
            summary=f"{event}: {model.__name__.removesuffix('Out')} posted to the webhook's URL",
            description=(
                "Tidings posts this to each enabled webhook that asked for the event (and, for "
                "conversation events, one of its mailboxes); see the README's *Webhooks*."
            ),
            openapi_extra={"parameters": HEADERS},
        )
