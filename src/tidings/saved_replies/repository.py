"""SQL for a mailbox's saved replies."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, or_, select, update

from tidings.db.tables import saved_replies


def list_for_mailbox(conn: Connection, mailbox_id: int, include_chat_only: bool) -> list[dict]:
    """A mailbox's replies by name; chat-only ones (no email text) only when asked for."""
    c = saved_replies.c
    conditions = [c.mailbox_id == mailbox_id]
    if not include_chat_only:
        conditions.append(or_(c.text != "", c.chat_text.is_(None), c.chat_text == ""))
    rows = conn.execute(
        select(saved_replies).where(*conditions).order_by(func.lower(c.name), c.id)
    ).mappings()
    return [dict(r) for r in rows]


def get(conn: Connection, mailbox_id: int, reply_id: int) -> dict | None:
    row = (
        conn.execute(
            select(saved_replies).where(
                saved_replies.c.id == reply_id, saved_replies.c.mailbox_id == mailbox_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def create(conn: Connection, mailbox_id: int, values: dict[str, Any], now: datetime) -> int:
    return int(
        conn.execute(
            insert(saved_replies).values(mailbox_id=mailbox_id, **values, created_at=now, updated_at=now)
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def update_reply(conn: Connection, reply_id: int, values: dict[str, Any], now: datetime) -> None:
    conn.execute(update(saved_replies).where(saved_replies.c.id == reply_id).values(**values, updated_at=now))


def delete_reply(conn: Connection, reply_id: int) -> None:
    conn.execute(delete(saved_replies).where(saved_replies.c.id == reply_id))
