"""SQL for workflows, and the facts a workflow run checks about its conversations."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, Connection, false, func, insert, select, update

from tidings.db.tables import conversations, workflows


def list_page(
    conn: Connection,
    *,
    visible_mailboxes: frozenset[int] | None,
    mailbox_id: int | None,
    kind: str | None,
    offset: int,
    limit: int,
) -> tuple[list[dict], int]:
    """Workflows of the mailboxes the caller can see, by mailbox then their display order."""
    c = workflows.c
    conditions: list[ColumnElement[bool]] = []
    if visible_mailboxes is not None:
        conditions.append(c.mailbox_id.in_(sorted(visible_mailboxes)) if visible_mailboxes else false())
    if mailbox_id is not None:
        conditions.append(c.mailbox_id == mailbox_id)
    if kind is not None:
        conditions.append(c.type == kind)
    total = conn.execute(select(func.count()).select_from(workflows).where(*conditions)).scalar_one()
    if offset >= total:
        return [], int(total)
    rows = conn.execute(
        select(workflows)
        .where(*conditions)
        .order_by(c.mailbox_id, c.sort_order, c.id)
        .offset(offset)
        .limit(limit)
    ).mappings()
    return [dict(r) for r in rows], int(total)


def get(conn: Connection, workflow_id: int) -> dict | None:
    row = conn.execute(select(workflows).where(workflows.c.id == workflow_id)).mappings().first()
    return dict(row) if row else None


def create(conn: Connection, mailbox_id: int, name: str, kind: str, status: str, now: datetime) -> int:
    """A new workflow goes last in its mailbox's order."""
    order = conn.execute(
        select(func.coalesce(func.max(workflows.c.sort_order), 0)).where(workflows.c.mailbox_id == mailbox_id)
    ).scalar_one()
    return int(
        conn.execute(
            insert(workflows).values(
                mailbox_id=mailbox_id,
                name=name,
                type=kind,
                status=status,
                sort_order=int(order) + 1,
                created_at=now,
                modified_at=now,
            )
        ).inserted_primary_key[0]  # type: ignore[index]
    )


def set_status(conn: Connection, workflow_id: int, status: str, now: datetime) -> None:
    conn.execute(
        update(workflows).where(workflows.c.id == workflow_id).values(status=status, modified_at=now)
    )


def conversation_mailboxes(conn: Connection, conversation_ids: Iterable[int]) -> dict[int, int]:
    """`{conversation id: mailbox id}` of the non-deleted conversations among the ids."""
    wanted = sorted(set(conversation_ids))
    if not wanted:
        return {}
    rows = conn.execute(
        select(conversations.c.id, conversations.c.mailbox_id).where(
            conversations.c.id.in_(wanted), conversations.c.state != "deleted"
        )
    )
    return {r.id: r.mailbox_id for r in rows}
