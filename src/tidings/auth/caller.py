"""Who is calling, and which mailboxes they may see."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Connection

from tidings.auth import repository
from tidings.kit import timefmt
from tidings.kit.errors import ApiError, forbidden
from tidings.kit.prepared import Together
from tidings.kit.reuse import ResponseReuse


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


def _caller(found: dict | None) -> Caller:
    if found is None:
        raise ApiError(401)
    ids = found["mailbox_ids"]
    return Caller(found["user_id"], found["role"], found["app_id"], None if ids is None else frozenset(ids))


async def current_caller(request: Request) -> Caller:
    """The caller of any route but the list's and the reports' (which look it up on their own
    connection). A GET first asks the event loop (`known_caller_and_stamp`): a reader whose
    token is known under the data stamp then costs no thread hop and no lookup before the
    route's own work. Other methods look the token up at once: a write moves the stamp, so the
    next request would not find it known anyway."""
    token = await bearer_token(request)
    stamp = None
    if request.method == "GET":
        known, stamp = await known_caller_and_stamp(request, token)
        if known is not None:
            return known
    return await request.app.state.db.read_bounded(_looked_up, request.app.state.reuse, token, stamp)


def _looked_up(conn: Connection, reuse: ResponseReuse | None, token: str, stamp: Hashable | None) -> Caller:
    """The token's caller from the database, remembered under `stamp` (read on the loop before
    this lookup) when there is one; without it no stamp is read here."""
    return caller_and_stamp(conn, token, reuse if stamp is not None else None, stamp)[0]


async def bearer_token(request: Request) -> str:
    """The request's bearer token (401 without one), for routes that look it up themselves."""
    token = _bearer(request)
    if token is None:
        raise ApiError(401)
    return token


def caller_and_stamp(
    conn: Connection, token: str, reuse: ResponseReuse | None, stamp: Hashable | None = None
) -> tuple[Caller, Hashable | None]:
    """The caller a token stands for, looked up on a connection the route already holds (one
    thread hop and one transaction for the hottest reads, with the rules of `current_caller`),
    and, given `reuse`, the data stamp a reused answer is checked against (kit/reuse.py): the
    `stamp` the event loop read for this request (`known_caller_and_stamp`), or read here
    together with the token (one round trip on PostgreSQL). The caller is remembered under that
    stamp, for `known_caller_and_stamp`: a stamp read before the lookup is at worst older than
    what the lookup saw, and the next request's stamp then differs."""
    batch = Together(conn)
    found = repository.caller_for_token_in(batch, token, timefmt.now())
    read = reuse.stamps.read_in(batch) if reuse is not None and stamp is None else None
    batch.run()
    row = found()
    caller = _caller(row)  # refuses a token that was not found
    if reuse is None or row is None:
        return caller, None
    if read is not None:
        stamp = read()
    reuse.know_caller(token, stamp, caller, row["expires_at"])
    return caller, stamp


async def known_caller_and_stamp(request: Request, token: str) -> tuple[Caller | None, Hashable | None]:
    """On the event loop, without a database thread: the data stamp (`DataStamp.read_on_loop`;
    None where it cannot be read so) and the caller `token` stood for when the stamp last read
    the same (a revoked token, a changed role or mailbox is a commit, which moves the stamp;
    None when not known). Without the caller, ask the database with the stamp,
    `caller_and_stamp`."""
    reuse: ResponseReuse | None = request.app.state.reuse
    if reuse is None:
        return None, None
    stamp = await reuse.stamps.read_on_loop(request.app.state.db)
    if stamp is None:
        return None, None
    return reuse.known_caller(token, stamp), stamp


async def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    if not caller.is_admin:
        raise forbidden("Only owners and administrators may do this")
    return caller


CurrentCaller = Annotated[Caller, Depends(current_caller)]
BearerToken = Annotated[str, Depends(bearer_token)]
AdminCaller = Annotated[Caller, Depends(admin_caller)]
