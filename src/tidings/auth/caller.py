"""Who is calling, and which mailboxes they may see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from tidings.auth import repository
from tidings.kit import timefmt
from tidings.kit.errors import ApiError, forbidden


@dataclass(frozen=True)
class Caller:
    user_id: int
    role: str  # owner | admin | user
    app_id: int
    mailbox_ids: frozenset[int] | None  # None: every mailbox

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")

    def can_see(self, mailbox_id: int) -> bool:
        return self.mailbox_ids is None or mailbox_id in self.mailbox_ids


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


async def current_caller(request: Request) -> Caller:
    token = _bearer(request)
    if token is None:
        raise ApiError(401)
    found = await request.app.state.db.read(repository.caller_for_token, token, timefmt.now())
    if found is None:
        raise ApiError(401)
    ids = found["mailbox_ids"]
    caller = Caller(found["user_id"], found["role"], found["app_id"], None if ids is None else frozenset(ids))
    request.state.caller = caller
    return caller


async def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_admin:
        raise forbidden("Only owners and administrators may do this")
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]
AdminCaller = Annotated[Caller, Depends(admin_caller)]
