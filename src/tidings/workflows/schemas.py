"""Request bodies and the JSON shape of workflows."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Path
from pydantic import Field
from starlette.requests import Request

from tidings.kit.hal import href
from tidings.kit.schemas import Body
from tidings.kit.timefmt import fmt

WorkflowType = Literal["manual", "automatic"]
SettableStatus = Literal["active", "inactive"]
MAX_RUN_IDS = 50
MAX_ID = 2_147_483_647  # ids are 32-bit integers in both databases; larger ones cannot exist
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A resource id")]


class WorkflowCreate(Body):
    mailboxId: int = Field(ge=1, le=MAX_ID)
    name: str = Field(min_length=1, max_length=200)
    type: WorkflowType
    status: SettableStatus = "active"


class WorkflowPatch(Body):
    """Only `replace /status` exists; op and path are checked by the route so all errors show."""

    op: str
    path: str
    value: Any = None


class WorkflowRun(Body):
    """Ids are checked against the workflow by the route, so that every problem is listed."""

    conversationIds: list[int]


def workflow_out(request: Request, workflow: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": workflow["id"],
        "mailboxId": workflow["mailbox_id"],
        "type": workflow["type"],
        "status": workflow["status"],
        "order": workflow["sort_order"],
        "name": workflow["name"],
        "createdAt": fmt(workflow["created_at"]),
        "modifiedAt": fmt(workflow["modified_at"]),
        "_links": {"self": href(request, f"/v2/workflows/{workflow['id']}")},
    }
