"""SQL for apps, tokens and the caller's identity."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Connection, select, update

from tidings.auth.secrets import hash_secret, new_token, token_hash
from tidings.db.tables import apps, tokens, user_mailboxes, users


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


def caller_for_token(conn: Connection, token: str, now: datetime) -> dict | None:
    row = (
        conn.execute(
            select(users.c.id, users.c.role, tokens.c.app_id)
            .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
            .where(
                tokens.c.token_hash == token_hash(token),
                tokens.c.kind == "access",
                tokens.c.revoked.is_(False),
                tokens.c.expires_at > now,
            )
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    mailbox_ids: list[int] | None = None
    if row["role"] == "user":
        mailbox_ids = list(
            conn.execute(select(user_mailboxes.c.mailbox_id).where(user_mailboxes.c.user_id == row["id"]))
            .scalars()
            .all()
        )
    return {"user_id": row["id"], "role": row["role"], "app_id": row["app_id"], "mailbox_ids": mailbox_ids}
