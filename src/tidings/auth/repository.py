"""SQL for apps, tokens and the caller's identity."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, bindparam, select, update

from tidings.auth.secrets import hash_secret, new_token, token_hash
from tidings.db.tables import Timestamp, apps, tokens, user_mailboxes, users
from tidings.kit.prepared import Prepared, Together


def create_app(conn: Connection, user_id: int, client_id: str, secret: str, name: str, now: datetime) -> int:
    result = conn.execute(
        apps.insert().values(
            user_id=user_id, client_id=client_id, secret_hash=hash_secret(secret), name=name, created_at=now
        )
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def app_by_client_id(conn: Connection, client_id: str) -> dict | None:
    row = conn.execute(select(apps).where(apps.c.client_id == client_id)).mappings().first()
    return dict(row) if row else None


def issue_token(conn: Connection, app_id: int, user_id: int, kind: str, ttl: int, now: datetime) -> str:
    token = new_token()
    conn.execute(
        tokens.insert().values(
            token_hash=token_hash(token),
            kind=kind,
            app_id=app_id,
            user_id=user_id,
            expires_at=now + timedelta(seconds=ttl),
            created_at=now,
        )
    )
    return token


def consume_refresh_token(conn: Connection, token: str, app_id: int, now: datetime) -> int | None:
    """Revoke a live refresh token of this app and return its user, or None: tokens rotate."""
    hashed = token_hash(token)
    row = conn.execute(
        select(tokens.c.user_id, tokens.c.expires_at)
        .where(
            tokens.c.token_hash == hashed,
            tokens.c.kind == "refresh",
            tokens.c.app_id == app_id,
            tokens.c.revoked.is_(False),
        )
        .with_for_update()
    ).first()
    if row is None or row.expires_at <= now:
        return None
    conn.execute(update(tokens).where(tokens.c.token_hash == hashed).values(revoked=True))
    return int(row.user_id)


# Prepared once: every authenticated request runs these (see kit/prepared.py).
_LIVE_ACCESS_TOKEN = Prepared(
    select(users.c.id, users.c.role, tokens.c.app_id, tokens.c.expires_at)
    .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
    .where(
        tokens.c.token_hash == bindparam("token_hash"),
        tokens.c.kind == "access",
        tokens.c.revoked.is_(False),
        tokens.c.expires_at > bindparam("now", type_=Timestamp()),
    )
)
_GRANTED_MAILBOXES = Prepared(
    select(user_mailboxes.c.mailbox_id).where(user_mailboxes.c.user_id == bindparam("user_id"))
)


def caller_for_token(conn: Connection, token: str, now: datetime) -> dict | None:
    return _caller_found(conn, _LIVE_ACCESS_TOKEN.rows(conn, token_hash=token_hash(token), now=now))


def caller_for_token_in(batch: Together, token: str, now: datetime) -> Callable[[], dict | None]:
    """`caller_for_token`, its lookup read with the batch's other statements: call the result
    once `batch.run()` has."""
    pending = batch.add(_LIVE_ACCESS_TOKEN, token_hash=token_hash(token), now=now)
    return lambda: _caller_found(batch.conn, pending.rows())


def _caller_found(conn: Connection, rows: list[tuple[Any, ...]]) -> dict | None:
    if not rows:
        return None
    user_id, role, app_id, expires_at = rows[0]
    mailbox_ids: list[int] | None = None
    if role == "user":
        mailbox_ids = [mailbox_id for (mailbox_id,) in _GRANTED_MAILBOXES.rows(conn, user_id=user_id)]
    return {
        "user_id": user_id,
        "role": role,
        "app_id": app_id,
        "mailbox_ids": mailbox_ids,
        "expires_at": expires_at,
    }
