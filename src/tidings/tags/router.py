"""Tags: every tag of the account, alphabetical.

Tags themselves are account-wide, so every caller sees every tag; `ticketCount` counts only the
non-deleted conversations the caller can see, so a `user` learns nothing about other mailboxes.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy import Connection

from tidings.auth.caller import CurrentCaller
from tidings.kit.documents import TagOut, TagPage
from tidings.kit.errors import not_found
from tidings.kit.hal import HalResponse, paged, window
from tidings.kit.schemas import PageParam
from tidings.tags import repository
from tidings.tags.schemas import IdPath, tag_out

router = APIRouter(tags=["tags"])
PAGE_SIZE = 50


@router.get("/v2/tags", summary="List tags", response_model=TagPage)
async def list_tags(request: Request, caller: CurrentCaller, page: PageParam = 1) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        rows, total = repository.list_page(conn, offset, limit)
        counts = repository.ticket_counts(conn, [r["id"] for r in rows], caller.mailbox_ids)
        return [tag_out(request, r, counts.get(r["id"], 0)) for r in rows], total

    items, total = await request.app.state.db.read(read)
    return HalResponse(paged(request, "tags", items, page, PAGE_SIZE, total))


@router.get("/v2/tags/{tag_id}", summary="Get a tag", response_model=TagOut)
async def get_tag(request: Request, caller: CurrentCaller, tag_id: IdPath) -> HalResponse:
    def read(conn: Connection) -> dict[str, Any]:
        tag = repository.get(conn, tag_id)
        if tag is None:
            raise not_found("Tag")
        counts = repository.ticket_counts(conn, [tag_id], caller.mailbox_ids)
        return tag_out(request, tag, counts.get(tag_id, 0))

    return HalResponse(await request.app.state.db.read_bounded(read))
