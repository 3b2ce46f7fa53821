"""Thread routes: list, create each kind, edit, and attachments."""

from __future__ import annotations

import base64

from fastapi import APIRouter, Request
from sqlalchemy import Connection
from starlette.responses import JSONResponse, Response

from tidings.auth.caller import CurrentCaller
from tidings.conversations import repository, service
from tidings.conversations.schemas import (
    AttachmentData,
    AttachmentIn,
    CustomerThreadIn,
    NoteIn,
    ReplyIn,
    ScheduleIn,
    SchedulePatch,
    ThreadPage,
    ThreadPatch,
)
from tidings.kit.errors import not_found
from tidings.kit.hal import HalResponse, created, no_content, paged, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import IdPath, PageParam
from tidings.threads import service as threads_service

router = APIRouter(tags=["threads"])
PAGE_SIZE = 25


@router.get(
    "/v2/conversations/{conversation_id}/threads",
    summary="List a conversation's threads, newest first",
    response_model=ThreadPage,
)
async def list_threads(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, page: PageParam = 1
) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)

    def read(conn: Connection) -> tuple[list[dict], int]:
        service.visible_conversation(conn, caller, conversation_id)
        rows = repository.threads_for(conn, [conversation_id], offset=offset, limit=limit)
        total = repository.count_threads(conn, conversation_id)
        return threads_service.present(conn, request, rows), total

    # A conversation holds at most 100 threads: a page of them is a bounded read.
    items, total = await request.app.state.db.read_bounded(read)
    return HalResponse(paged(request, "threads", items, page, PAGE_SIZE, total))


def _thread_created(request: Request, conversation_id: int, thread_id: int) -> Response:
    return created(request, f"/v2/conversations/{conversation_id}/threads/{thread_id}", thread_id)


@router.post(
    "/v2/conversations/{conversation_id}/reply",
    status_code=201,
    summary="Reply to the customer",
    responses=errors(412),
)
async def create_reply(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: ReplyIn
) -> Response:
    thread_id = await request.app.state.db.write(
        lambda conn: service.add_thread(
            conn,
            caller,
            conversation_id,
            kind="message",
            text=body.text,
            customer_ref=body.customer,
            user_id=body.user,
            status=body.status,
            draft=body.draft,
            imported=body.imported,
            created_at=body.createdAt,
            assign_to=body.assignTo,
            to=body.to,
            cc=body.cc,
            bcc=body.bcc,
            attachments=body.attachments,
            saved_reply_id=body.savedReplyId,
        )
    )
    return _thread_created(request, conversation_id, thread_id)


@router.post(
    "/v2/conversations/{conversation_id}/notes", status_code=201, summary="Add a note", responses=errors(412)
)
async def create_note(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: NoteIn
) -> Response:
    thread_id = await request.app.state.db.write(
        lambda conn: service.add_thread(
            conn,
            caller,
            conversation_id,
            kind="note",
            text=body.text,
            user_id=body.user,
            status=body.status,
            imported=body.imported,
            created_at=body.createdAt,
            attachments=body.attachments,
        )
    )
    return _thread_created(request, conversation_id, thread_id)


async def _customer_side(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, kind: str, body: CustomerThreadIn
) -> Response:
    thread_id = await request.app.state.db.write(
        lambda conn: service.add_thread(
            conn,
            caller,
            conversation_id,
            kind=kind,
            text=body.text,
            customer_ref=body.customer,
            imported=body.imported,
            created_at=body.createdAt,
            to=body.to,
            cc=body.cc,
            bcc=body.bcc,
            attachments=body.attachments,
        )
    )
    return _thread_created(request, conversation_id, thread_id)


@router.post(
    "/v2/conversations/{conversation_id}/customer",
    status_code=201,
    summary="Add a customer thread",
    responses=errors(412),
)
async def create_customer_thread(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: CustomerThreadIn
) -> Response:
    return await _customer_side(request, caller, conversation_id, "customer", body)


@router.post(
    "/v2/conversations/{conversation_id}/phones",
    status_code=201,
    summary="Add a phone thread",
    responses=errors(412),
)
async def create_phone_thread(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: CustomerThreadIn
) -> Response:
    return await _customer_side(request, caller, conversation_id, "phone", body)


@router.post(
    "/v2/conversations/{conversation_id}/chats",
    status_code=201,
    summary="Add a chat thread",
    responses=errors(412),
)
async def create_chat_thread(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: CustomerThreadIn
) -> Response:
    return await _customer_side(request, caller, conversation_id, "chat", body)


@router.patch(
    "/v2/conversations/{conversation_id}/threads/{thread_id}",
    status_code=204,
    summary="Edit a thread's text or hide it",
)
async def patch_thread(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, thread_id: IdPath, body: ThreadPatch
) -> Response:
    await request.app.state.db.write(threads_service.patch_thread, caller, conversation_id, thread_id, body)
    return no_content()


@router.post(
    "/v2/conversations/{conversation_id}/threads/{thread_id}/attachments",
    status_code=201,
    summary="Upload an attachment to a thread",
)
async def create_attachment(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, thread_id: IdPath, body: AttachmentIn
) -> Response:
    attachment_id = await request.app.state.db.write(
        threads_service.add_attachment, caller, conversation_id, thread_id, body
    )
    return created(request, f"/v2/conversations/{conversation_id}/attachments/{attachment_id}", attachment_id)


@router.get(
    "/v2/conversations/{conversation_id}/attachments/{attachment_id}/data",
    summary="An attachment's data, base64",
    response_model=AttachmentData,
    response_class=JSONResponse,
)
async def attachment_data(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, attachment_id: IdPath
) -> JSONResponse:
    def read(conn: Connection) -> bytes:
        service.visible_conversation(conn, caller, conversation_id)
        found = repository.get_attachment(conn, conversation_id, attachment_id)
        if found is None:
            raise not_found("Attachment")
        return bytes(found["data"])

    data = await request.app.state.db.read(read)
    return JSONResponse({"data": base64.b64encode(data).decode()})


@router.delete(
    "/v2/conversations/{conversation_id}/attachments/{attachment_id}",
    status_code=204,
    summary="Delete an attachment",
)
async def delete_attachment(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, attachment_id: IdPath
) -> Response:
    await request.app.state.db.write(
        threads_service.delete_attachment, caller, conversation_id, attachment_id
    )
    return no_content()


@router.put(
    "/v2/conversations/{conversation_id}/threads/{thread_id}/schedule",
    status_code=204,
    summary="Schedule a draft reply to be sent later",
)
async def put_schedule(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, thread_id: IdPath, body: ScheduleIn
) -> Response:
    await request.app.state.db.write(
        threads_service.schedule,
        caller,
        conversation_id,
        thread_id,
        body.scheduledFor,
        body.unscheduleOnCustomerReply,
    )
    return no_content()


@router.patch(
    "/v2/conversations/{conversation_id}/threads/{thread_id}/schedule",
    status_code=204,
    summary="Send a scheduled draft reply now",
)
async def patch_schedule(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, thread_id: IdPath, body: SchedulePatch
) -> Response:
    await request.app.state.db.write(threads_service.send_now, caller, conversation_id, thread_id)
    return no_content()


@router.delete(
    "/v2/conversations/{conversation_id}/threads/{thread_id}/schedule",
    status_code=204,
    summary="Unschedule a draft reply",
)
async def delete_schedule(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, thread_id: IdPath
) -> Response:
    await request.app.state.db.write(threads_service.unschedule, caller, conversation_id, thread_id)
    return no_content()
