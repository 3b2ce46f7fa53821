"""Users: list, get, me; and the admin endpoints that create users and their apps."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import Connection
from starlette.responses import JSONResponse, Response

from tidings.auth import repository as auth_repository
from tidings.auth.caller import AdminCaller, CurrentCaller
from tidings.kit import timefmt
from tidings.kit.errors import ApiError, invalid_field, not_found
from tidings.kit.hal import HalResponse, created, paged, window
from tidings.kit.openapi import errors
from tidings.kit.schemas import MAX_ID, IdPath, PageParam
from tidings.mailboxes import repository as mailboxes_repository
from tidings.users import repository
from tidings.users.schemas import AppCreate, AppCredentials, UserCreate, UserOut, UserPage, user_out

router = APIRouter(tags=["users"])
PAGE_SIZE = 50


@router.get("/v2/users", summary="List users", response_model=UserPage)
async def list_users(
    request: Request,
    caller: CurrentCaller,
    email: Annotated[str | None, Query(max_length=254)] = None,
    mailbox: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    page: PageParam = 1,
) -> HalResponse:
    offset, limit = window(page, PAGE_SIZE)
    rows, total = await request.app.state.db.read(
        lambda conn: repository.list_page(conn, email=email, mailbox_id=mailbox, offset=offset, limit=limit)
    )
    items = [user_out(request, r) for r in rows]
    return HalResponse(paged(request, "users", items, page, PAGE_SIZE, total))


@router.get("/v2/users/me", summary="The user the token acts as", response_model=UserOut)
async def me(request: Request, caller: CurrentCaller) -> HalResponse:
    user = await request.app.state.db.read_bounded(repository.get, caller.user_id)
    doc = user_out(request, user)
    doc["companyId"] = 1
    return HalResponse(doc)


@router.get("/v2/users/{user_id}", summary="Get a user", response_model=UserOut)
async def get_user(request: Request, caller: CurrentCaller, user_id: IdPath) -> HalResponse:
    user = await request.app.state.db.read_bounded(repository.get, user_id)
    if user is None:
        raise not_found("User")
    return HalResponse(user_out(request, user))


@router.post(
    "/v2/users", status_code=201, summary="Create a user (owners and admins)", responses=errors(403, 409)
)
async def create_user(request: Request, caller: AdminCaller, body: UserCreate) -> Response:
    if body.role == "owner" and caller.role != "owner":
        raise ApiError(403, "Only an owner may create another owner")

    def write(conn: Connection) -> int:
        if repository.email_taken(conn, body.email):
            raise ApiError(409, f"A user with email {body.email} already exists")
        unknown = [m for m in body.mailboxIds if mailboxes_repository.get(conn, m) is None]
        if unknown:
            raise invalid_field("mailboxIds", "unknown mailbox id", "JSON", unknown[0])
        values = {
            "first_name": body.firstName,
            "last_name": body.lastName,
            "email": body.email,
            "role": body.role,
            "timezone": body.timezone,
            "job_title": body.jobTitle,
            "phone": body.phone,
        }
        return repository.create_user(conn, values, body.mailboxIds, timefmt.now())

    user_id = await request.app.state.db.write(write)
    return created(request, f"/v2/users/{user_id}", user_id)


@router.post(
    "/v2/users/{user_id}/apps",
    status_code=201,
    summary="Create an app for a user (owners and admins)",
    response_model=AppCredentials,
    response_class=JSONResponse,
    responses=errors(403),
)
async def create_app_for_user(
    request: Request, caller: AdminCaller, user_id: IdPath, body: AppCreate | None = None
) -> JSONResponse:
    client_id = secrets.token_hex(16)
    client_secret = secrets.token_urlsafe(32)

    def write(conn: Connection) -> int:
        if repository.get(conn, user_id) is None:
            raise not_found("User")
        name = body.name if body else ""
        return auth_repository.create_app(conn, user_id, client_id, client_secret, name, timefmt.now())

    app_id = await request.app.state.db.write(write)
    return JSONResponse(
        {"appId": client_id, "appSecret": client_secret},
        status_code=201,
        headers={"Resource-ID": str(app_id)},
    )
