"""Webhooks: `/v2/webhooks` CRUD, for owners and administrators (they see every mailbox's events).

Each webhook remembers where its registrant reached this server (scheme and host, as links are
built for that request): the links inside the bodies it is sent point there.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import AdminCaller
from tidings.kit import timefmt
from tidings.kit.errors import FieldError, invalid, not_found
from tidings.kit.hal import HalResponse, base_url, created, no_content, paged, web_base_url, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import IdPath, PageParam
from tidings.webhooks import repository
from tidings.webhooks.schemas import WebhookIn, WebhookOut, WebhookPage, webhook_out

router = APIRouter(tags=["webhooks"])

PAGE_SIZE = 50


def _values(conn: Connection, request: Request, body: WebhookIn) -> dict[str, Any]:
    values = body.stored()
    wanted = values["mailbox_ids"] or []
    known = repository.existing_mailboxes(conn, wanted)
    unknown = [i for i in wanted if i not in known]
    if unknown:
        raise invalid(
            FieldError("mailboxIds", f"unknown mailbox ids: {unknown}", "JSON", unknown, "InvalidIdentifier")
        )
    return {**values, "api_base_url": base_url(request), "web_base_url": web_base_url(request)}


def _existing(conn: Connection, webhook_id: int) -> dict[str, Any]:
    found = repository.get(conn, webhook_id, for_update=True)
    if found is None:
        raise not_found("Webhook")
    return found


@router.get("/v2/webhooks", summary="List webhooks", response_model=WebhookPage, responses=errors(403))
async def list_webhooks(request: Request, caller: AdminCaller, page: PageParam = 1) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)
    rows, total = await request.app.state.db.read(repository.list_page, offset, limit)
    items = [webhook_out(request, r) for r in rows]
    return HalResponse(paged(request, "webhooks", items, page, PAGE_SIZE, total))


@router.get(
    "/v2/webhooks/{webhook_id}", summary="Get a webhook", response_model=WebhookOut, responses=errors(403)
)
async def get_webhook(request: Request, caller: AdminCaller, webhook_id: IdPath) -> HalResponse:
    found = await request.app.state.db.read_bounded(repository.get, webhook_id)
    if found is None:
        raise not_found("Webhook")
    return HalResponse(webhook_out(request, found))


@router.post("/v2/webhooks", status_code=201, summary="Create a webhook", responses=errors(403))
async def create_webhook(request: Request, caller: AdminCaller, body: WebhookIn) -> Response:
    def write(conn: Connection) -> int:
        return repository.create(conn, _values(conn, request, body), timefmt.now())

    webhook_id = await request.app.state.db.write(write)
    return created(request, f"/v2/webhooks/{webhook_id}", webhook_id)


@router.put(
    "/v2/webhooks/{webhook_id}", status_code=204, summary="Overwrite a webhook", responses=errors(403)
)
async def put_webhook(request: Request, caller: AdminCaller, webhook_id: IdPath, body: WebhookIn) -> Response:
    def write(conn: Connection) -> None:
        _existing(conn, webhook_id)
        now = timefmt.now()
        repository.replace(conn, webhook_id, _values(conn, request, body), now)
        if body.state == "disabled":
            repository.disable(conn, webhook_id, "disabled by a PUT", now)

    await request.app.state.db.write(write)
    return no_content()


@router.delete(
    "/v2/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook", responses=errors(403)
)
async def delete_webhook(request: Request, caller: AdminCaller, webhook_id: IdPath) -> Response:
    def write(conn: Connection) -> None:
        if not repository.delete_webhook(conn, webhook_id):
            raise not_found("Webhook")

    await request.app.state.db.write(write)
    return no_content()
