"""Conversation routes: thin wrappers that validate, call the service and shape the answer."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Body, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import CurrentCaller
from tidings.conversations import listing, service
from tidings.conversations.presenter import conversation_out, load_related
from tidings.conversations.schemas import (
    ConversationCreate,
    ConversationOut,
    ConversationPage,
    FieldsUpdate,
    PatchBody,
    SnoozeUpdate,
    TagsUpdate,
)
from tidings.kit.hal import HalResponse, created, no_content
from tidings.kit.openapi import errors
from tidings.kit.schemas import IdPath

router = APIRouter(tags=["conversations"])

EmbedParam = Annotated[Literal["threads"] | None, Query(description="Embed sub-entities; only `threads`")]

router.add_api_route(
    "/v2/conversations",
    listing.list_conversations,
    methods=["GET"],
    summary="List and search conversations",
    response_model=ConversationPage,
    openapi_extra={"parameters": listing.OPENAPI_PARAMETERS},
)


@router.get(
    "/v2/conversations/{conversation_id}", summary="Get a conversation", response_model=ConversationOut
)
async def get_conversation(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, embed: EmbedParam = None
) -> HalResponse:
    def read(conn: Connection) -> dict:
        row = service.visible_conversation(conn, caller, conversation_id)
        return conversation_out(request, row, load_related(conn, [row], embed_threads=embed == "threads"))

    return HalResponse(await request.app.state.db.read_bounded(read))


@router.post("/v2/conversations", status_code=201, summary="Create a conversation", responses=errors(412))
async def create_conversation(request: Request, caller: CurrentCaller, body: ConversationCreate) -> Response:
    conversation_id = await request.app.state.db.write(service.create_conversation, caller, body)
    return created(request, f"/v2/conversations/{conversation_id}", conversation_id)


@router.patch("/v2/conversations/{conversation_id}", status_code=204, summary="Update a conversation")
async def patch_conversation(
    request: Request,
    caller: CurrentCaller,
    conversation_id: IdPath,
    body: Annotated[PatchBody, Body()],
) -> Response:
    ops = body if isinstance(body, list) else [body]
    await request.app.state.db.write(
        service.patch_conversation, caller, conversation_id, ops, not isinstance(body, list)
    )
    return no_content()


@router.delete("/v2/conversations/{conversation_id}", status_code=204, summary="Delete a conversation")
async def delete_conversation(request: Request, caller: CurrentCaller, conversation_id: IdPath) -> Response:
    await request.app.state.db.write(service.delete_conversation, caller, conversation_id)
    return no_content()


@router.put(
    "/v2/conversations/{conversation_id}/tags", status_code=204, summary="Replace a conversation's tags"
)
async def put_tags(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: TagsUpdate | None = None
) -> Response:
    names = body.tags if body else []
    await request.app.state.db.write(service.replace_tags, caller, conversation_id, names)
    return no_content()


@router.put(
    "/v2/conversations/{conversation_id}/fields",
    status_code=204,
    summary="Replace a conversation's custom fields",
)
async def put_fields(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: FieldsUpdate
) -> Response:
    await request.app.state.db.write(service.replace_fields, caller, conversation_id, body.fields)
    return no_content()


@router.put("/v2/conversations/{conversation_id}/snooze", status_code=204, summary="Snooze a conversation")
async def put_snooze(
    request: Request, caller: CurrentCaller, conversation_id: IdPath, body: SnoozeUpdate
) -> Response:
    await request.app.state.db.write(
        service.snooze, caller, conversation_id, body.snoozedUntil, body.unsnoozeOnCustomerReply
    )
    return no_content()


@router.delete(
    "/v2/conversations/{conversation_id}/snooze", status_code=204, summary="Unsnooze a conversation"
)
async def delete_snooze(request: Request, caller: CurrentCaller, conversation_id: IdPath) -> Response:
    await request.app.state.db.write(service.unsnooze, caller, conversation_id)
    return no_content()
