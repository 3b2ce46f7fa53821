"""Workflows: list and get (callers who can see the mailbox), create and activate/deactivate
(owners and admins, behaviour §3), and running a manual workflow on conversations.

Tidings records workflows and their runs; it does not execute automatic workflow rules. A run
is all or nothing: every id is checked first, then one transaction adds a `manual-workflow`
line item to each conversation.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import Response

from tidings.auth.caller import AdminCaller, Caller, CurrentCaller
from tidings.conversations.service import run_manual_workflow
from tidings.kit import timefmt
from tidings.kit.documents import WorkflowOut, WorkflowPage
from tidings.kit.errors import FieldError, invalid, invalid_field, not_found
from tidings.kit.hal import HalResponse, created, no_content, paged, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import PageParam
from tidings.mailboxes import repository as mailboxes_repository
from tidings.workflows import repository
from tidings.workflows.schemas import (
    MAX_ID,
    MAX_RUN_IDS,
    IdPath,
    WorkflowCreate,
    WorkflowPatch,
    WorkflowRun,
    WorkflowType,
    workflow_out,
)

router = APIRouter(tags=["workflows"])
PAGE_SIZE = 50


def visible_workflow(conn: Connection, caller: Caller, workflow_id: int) -> dict:
    """The workflow, or 404 when missing or in a mailbox the caller cannot see."""
    workflow = repository.get(conn, workflow_id)
    if workflow is None or not caller.can_see(workflow["mailbox_id"]):
        raise not_found("Workflow")
    return workflow


@router.get("/v2/workflows", summary="List workflows", response_model=WorkflowPage)
async def list_workflows(
    request: Request,
    caller: CurrentCaller,
    mailboxId: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    kind: Annotated[WorkflowType | None, Query(alias="type")] = None,
    page: PageParam = 1,
) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)

    def read(conn: Connection) -> tuple[list[dict[str, Any]], int]:
        rows, total = repository.list_page(
            conn,
            visible_mailboxes=caller.mailbox_ids,
            mailbox_id=mailboxId,
            kind=kind,
            offset=offset,
            limit=limit,
        )
        return [workflow_out(request, r) for r in rows], total

    items, total = await request.app.state.db.read(read)
    return HalResponse(paged(request, "workflows", items, page, PAGE_SIZE, total))


@router.get("/v2/workflows/{workflow_id}", summary="Get a workflow", response_model=WorkflowOut)
async def get_workflow(request: Request, caller: CurrentCaller, workflow_id: IdPath) -> HalResponse:
    def read(conn: Connection) -> dict[str, Any]:
        return workflow_out(request, visible_workflow(conn, caller, workflow_id))

    return HalResponse(await request.app.state.db.read_bounded(read))


@router.post(
    "/v2/workflows", status_code=201, summary="Create a workflow (owners and admins)", responses=errors(403)
)
async def create_workflow(request: Request, caller: AdminCaller, body: WorkflowCreate) -> Response:
    def write(conn: Connection) -> int:
        if not caller.can_see(body.mailboxId) or mailboxes_repository.get(conn, body.mailboxId) is None:
            raise invalid_field(
                "mailboxId", "unknown mailbox id", "JSON", body.mailboxId, "InvalidIdentifier"
            )
        return repository.create(conn, body.mailboxId, body.name, body.type, body.status, timefmt.now())

    workflow_id = await request.app.state.db.write(write)
    return created(request, f"/v2/workflows/{workflow_id}", workflow_id)


def _patch_errors(body: WorkflowPatch) -> list[FieldError]:
    errors = []
    if body.op != "replace":
        errors.append(FieldError("op", "Expected one of these: 'replace'", "JSON", body.op, "EnumValue"))
    if body.path != "/status":
        errors.append(FieldError("path", "Expected one of these: '/status'", "JSON", body.path, "EnumValue"))
    if body.value not in ("active", "inactive"):
        errors.append(
            FieldError(
                "value", "Expected one of these: 'active', 'inactive'", "JSON", body.value, "EnumValue"
            )
        )
    return errors


@router.patch(
    "/v2/workflows/{workflow_id}",
    status_code=204,
    summary="Activate or deactivate a workflow (owners and admins)",
)
async def patch_workflow(
    request: Request, caller: AdminCaller, workflow_id: IdPath, body: WorkflowPatch
) -> Response:
    errors = _patch_errors(body)
    if errors:
        raise invalid(*errors)

    def write(conn: Connection) -> None:
        visible_workflow(conn, caller, workflow_id)
        repository.set_status(conn, workflow_id, str(body.value), timefmt.now())

    await request.app.state.db.write(write)
    return no_content()


def _run_errors(conn: Connection, workflow: dict, ids: list[int]) -> list[FieldError]:
    """Everything that stops a run, all at once."""
    errors = []
    wid = workflow["id"]
    if workflow["type"] != "manual":
        errors.append(
            FieldError(
                "id", f"workflow {wid} is {workflow['type']}; only manual workflows can be run", "path", wid
            )
        )
    if workflow["status"] != "active":
        errors.append(
            FieldError(
                "id", f"workflow {wid} is {workflow['status']}; only active workflows can be run", "path", wid
            )
        )
    if not 1 <= len(ids) <= MAX_RUN_IDS:
        errors.append(
            FieldError(
                "conversationIds",
                f"expected between 1 and {MAX_RUN_IDS} conversation ids, got {len(ids)}",
                "JSON",
                code="Size",
            )
        )
    else:
        mailboxes = repository.conversation_mailboxes(conn, [i for i in ids if 1 <= i <= MAX_ID])
        bad = [i for i in ids if mailboxes.get(i) != workflow["mailbox_id"]]
        if bad:
            errors.append(
                FieldError(
                    "conversationIds",
                    "every conversation must exist and belong to the workflow's mailbox "
                    f"{workflow['mailbox_id']}",
                    "JSON",
                    bad,
                    "InvalidIdentifier",
                )
            )
    return errors


@router.post("/v2/workflows/{workflow_id}/run", status_code=204, summary="Run a manual workflow")
async def run_workflow(
    request: Request, caller: CurrentCaller, workflow_id: IdPath, body: WorkflowRun
) -> Response:
    ids = list(dict.fromkeys(body.conversationIds))

    def write(conn: Connection) -> None:
        workflow = visible_workflow(conn, caller, workflow_id)
        errors = _run_errors(conn, workflow, ids)
        if errors:
            raise invalid(*errors)
        run_manual_workflow(conn, caller, workflow, ids, timefmt.now())

    await request.app.state.db.write(write)
    return no_content()
