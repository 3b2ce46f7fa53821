"""Saved replies of a mailbox.

Any caller who can see the mailbox may list, read and change its saved replies; a mailbox the
caller cannot see answers 404 as if it did not exist (behaviour §3). The list is a plain JSON
array, not a HAL page, exactly as the service answers it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import Caller, CurrentCaller
from tidings.kit import timefmt
from tidings.kit.documents import SavedReplyOut, SavedReplySummary
from tidings.kit.errors import not_found
from tidings.kit.hal import HalResponse, created, no_content
from tidings.mailboxes import repository as mailboxes_repository
from tidings.saved_replies import repository
from tidings.saved_replies.schemas import IdPath, SavedReplyIn, reply_out, summary_out

router = APIRouter(tags=["saved_replies"])


def _visible_mailbox(conn: Connection, caller: Caller, mailbox_id: int) -> None:
    if not caller.can_see(mailbox_id) or mailboxes_repository.get(conn, mailbox_id) is None:
        raise not_found("Mailbox")


def _existing_reply(conn: Connection, caller: Caller, mailbox_id: int, reply_id: int) -> dict:
    _visible_mailbox(conn, caller, mailbox_id)
    reply = repository.get(conn, mailbox_id, reply_id)
    if reply is None:
        raise not_found("Saved reply")
    return reply


@router.get(
    "/v2/mailboxes/{mailbox_id}/saved-replies",
    summary="List a mailbox's saved replies",
    response_model=list[SavedReplySummary],
)
async def list_saved_replies(
    request: Request,
    caller: CurrentCaller,
    mailbox_id: IdPath,
    includeChatReplies: Annotated[bool, Query(description="Include chat-only replies")] = False,
) -> HalResponse:
    def read(conn: Connection) -> list[dict[str, Any]]:
        _visible_mailbox(conn, caller, mailbox_id)
        return [summary_out(r) for r in repository.list_for_mailbox(conn, mailbox_id, includeChatReplies)]

    return HalResponse(await request.app.state.db.read(read))


@router.get(
    "/v2/mailboxes/{mailbox_id}/saved-replies/{reply_id}",
    summary="Get a saved reply",
    response_model=SavedReplyOut,
)
async def get_saved_reply(
    request: Request, caller: CurrentCaller, mailbox_id: IdPath, reply_id: IdPath
) -> HalResponse:
    def read(conn: Connection) -> dict[str, Any]:
        return reply_out(_existing_reply(conn, caller, mailbox_id, reply_id))

    return HalResponse(await request.app.state.db.read_bounded(read))


@router.post("/v2/mailboxes/{mailbox_id}/saved-replies", status_code=201, summary="Create a saved reply")
async def create_saved_reply(
    request: Request, caller: CurrentCaller, mailbox_id: IdPath, body: SavedReplyIn
) -> Response:
    def write(conn: Connection) -> int:
        _visible_mailbox(conn, caller, mailbox_id)
        return repository.create(conn, mailbox_id, body.stored(), timefmt.now())

    reply_id = await request.app.state.db.write(write)
    return created(request, f"/v2/mailboxes/{mailbox_id}/saved-replies/{reply_id}", reply_id)


@router.put(
    "/v2/mailboxes/{mailbox_id}/saved-replies/{reply_id}", status_code=204, summary="Overwrite a saved reply"
)
async def put_saved_reply(
    request: Request, caller: CurrentCaller, mailbox_id: IdPath, reply_id: IdPath, body: SavedReplyIn
) -> Response:
    def write(conn: Connection) -> None:
        _existing_reply(conn, caller, mailbox_id, reply_id)
        repository.update_reply(conn, reply_id, body.stored(), timefmt.now())

    await request.app.state.db.write(write)
    return no_content()


@router.delete(
    "/v2/mailboxes/{mailbox_id}/saved-replies/{reply_id}", status_code=204, summary="Delete a saved reply"
)
async def delete_saved_reply(
    request: Request, caller: CurrentCaller, mailbox_id: IdPath, reply_id: IdPath
) -> Response:
    def write(conn: Connection) -> None:
        _existing_reply(conn, caller, mailbox_id, reply_id)
        repository.delete_reply(conn, reply_id)

    await request.app.state.db.write(write)
    return no_content()
