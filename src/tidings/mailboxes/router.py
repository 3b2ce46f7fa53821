"""Mailboxes, their folders and custom fields; admin endpoints to create mailboxes and fields."""

from __future__ import annotations

import re

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import AdminCaller, Caller, CurrentCaller
from tidings.kit import timefmt
from tidings.kit.errors import invalid_field, not_found
from tidings.kit.hal import HalResponse, created, paged, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import IdPath, PageParam
from tidings.mailboxes import repository
from tidings.mailboxes.schemas import (
    FieldCreate,
    FieldPage,
    FolderPage,
    MailboxCreate,
    MailboxOut,
    MailboxPage,
    field_out,
    folder_out,
    mailbox_out,
)

router = APIRouter(tags=["mailboxes"])
PAGE_SIZE = 50


def visible_mailbox(conn: Connection, caller: Caller, mailbox_id: int) -> dict:
    """The mailbox, or 404 when it does not exist or the caller may not see it."""
    mailbox = repository.get(conn, mailbox_id) if caller.can_see(mailbox_id) else None
    if mailbox is None:
        raise not_found("Mailbox")
    return mailbox


@router.get("/v2/mailboxes", summary="List mailboxes", response_model=MailboxPage)
async def list_mailboxes(request: Request, caller: CurrentCaller, page: PageParam = 1) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)
    rows, total = await request.app.state.db.read(repository.list_page, caller.mailbox_ids, offset, limit)
    return HalResponse(
        paged(request, "mailboxes", [mailbox_out(request, r) for r in rows], page, PAGE_SIZE, total)
    )


@router.get("/v2/mailboxes/{mailbox_id}", summary="Get a mailbox", response_model=MailboxOut)
async def get_mailbox(request: Request, caller: CurrentCaller, mailbox_id: IdPath) -> HalResponse:
    mailbox = await request.app.state.db.read_bounded(visible_mailbox, caller, mailbox_id)
    return HalResponse(mailbox_out(request, mailbox))


@router.get(
    "/v2/mailboxes/{mailbox_id}/folders",
    summary="List a mailbox's folders with counts",
    response_model=FolderPage,
)
async def list_folders(request: Request, caller: CurrentCaller, mailbox_id: IdPath) -> HalResponse:
    def read(conn: Connection) -> list[dict]:
        visible_mailbox(conn, caller, mailbox_id)
        return repository.folders_with_counts(conn, mailbox_id)

    rows = await request.app.state.db.read_bounded(read)
    return HalResponse(paged(request, "folders", [folder_out(r) for r in rows], 1, PAGE_SIZE, len(rows)))


@router.get(
    "/v2/mailboxes/{mailbox_id}/fields", summary="List a mailbox's custom fields", response_model=FieldPage
)
async def list_fields(request: Request, caller: CurrentCaller, mailbox_id: IdPath) -> HalResponse:
    def read(conn: Connection) -> list[dict]:
        visible_mailbox(conn, caller, mailbox_id)
        return repository.fields_of(conn, [mailbox_id])

    rows = await request.app.state.db.read(read)
    return HalResponse(paged(request, "fields", [field_out(r) for r in rows], 1, PAGE_SIZE, len(rows)))


@router.post(
    "/v2/mailboxes", status_code=201, summary="Create a mailbox (owners and admins)", responses=errors(403)
)
async def create_mailbox(request: Request, caller: AdminCaller, body: MailboxCreate) -> Response:
    slug = body.slug or re.sub(r"[^a-z0-9]+", "-", body.name.lower()).strip("-") or "mailbox"
    mailbox_id = await request.app.state.db.write(
        repository.create_mailbox, body.name, body.email, slug, timefmt.now()
    )
    return created(request, f"/v2/mailboxes/{mailbox_id}", mailbox_id)


@router.post(
    "/v2/mailboxes/{mailbox_id}/fields",
    status_code=201,
    summary="Create a custom field (owners and admins)",
    responses=errors(403),
)
async def create_field(
    request: Request, caller: AdminCaller, mailbox_id: IdPath, body: FieldCreate
) -> Response:
    if body.type == "dropdown" and not body.options:
        raise invalid_field("options", "a dropdown field needs at least one option", "JSON")

    def write(conn: Connection) -> int:
        visible_mailbox(conn, caller, mailbox_id)
        options = [o.model_dump() for o in body.options]
        return repository.create_field(conn, mailbox_id, body.name, body.type, body.required, options)

    field_id = await request.app.state.db.write(write)
    return created(request, f"/v2/mailboxes/{mailbox_id}/fields/{field_id}", field_id)
