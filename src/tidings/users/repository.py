"""SQL for users and their mailbox grants."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from tidings.db.tables import user_mailboxes, users
from tidings.kit.prepared import Prepared, Together, any_id, id_list


def create_user(conn: Connection, values: dict[str, Any], mailbox_ids: Iterable[int], now: datetime) -> int:
    user_id = int(
        conn.execute(users.insert().values(**values, created_at=now, updated_at=now)).inserted_primary_key[0]  # type: ignore[index]
    )
    rows = [{"user_id": user_id, "mailbox_id": m} for m in sorted(set(mailbox_ids))]
    if rows:
        conn.execute(user_mailboxes.insert(), rows)
    return user_id


def email_taken(conn: Connection, email: str) -> bool:
    return (
        conn.execute(select(users.c.id).where(func.lower(users.c.email) == email.lower())).first() is not None
    )


def get(conn: Connection, user_id: int) -> dict | None:
    row = conn.execute(select(users).where(users.c.id == user_id)).mappings().first()
    return dict(row) if row else None


def list_page(
    conn: Connection, *, email: str | None, mailbox_id: int | None, offset: int, limit: int
) -> tuple[list[dict], int]:
    conditions = []
    if email:
        conditions.append(func.lower(users.c.email) == email.lower())
    if mailbox_id is not None:
        # Owners and admins see every mailbox; users only those granted.
        granted = select(user_mailboxes.c.user_id).where(user_mailboxes.c.mailbox_id == mailbox_id)
        conditions.append(users.c.role.in_(("owner", "admin")) | users.c.id.in_(granted))
    total = conn.execute(select(func.count()).select_from(users).where(*conditions)).scalar_one()
    rows = conn.execute(select(users).where(*conditions).order_by(users.c.id).offset(offset).limit(limit))
    return [dict(r) for r in rows.mappings()], int(total)


# What the short form of a user (in conversations and threads) shows.
_USERS_BY_ID = Prepared(
    select(users.c.id, users.c.first_name, users.c.last_name, users.c.email, users.c.photo_url).where(
        any_id(users.c.id)
    )
)


def by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, dict]:
    """Users in their short form's fields, in one query for any number."""
    batch = Together(conn)
    found = by_ids_in(batch, ids)
    batch.run()
    return found()


def by_ids_in(batch: Together, ids: Iterable[int]) -> Callable[[], dict[int, dict]]:
    """`by_ids`, read with the batch's other statements: call the result once `batch.run()` has."""
    wanted = id_list(ids)
    pending = batch.add(_USERS_BY_ID, ids=wanted) if wanted else None
    return lambda: {u["id"]: u for u in pending.dicts()} if pending else {}
