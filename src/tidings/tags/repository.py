"""SQL for tags and how many visible conversations carry them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, func, select

from tidings.db.tables import conversation_tag_counts, tags


def list_page(conn: Connection, offset: int, limit: int) -> tuple[list[dict], int]:
    """Tags in alphabetical order (names are stored lower-case), then by id."""
    total = conn.execute(select(func.count()).select_from(tags)).scalar_one()
    if offset >= total:
        return [], int(total)
    rows = conn.execute(select(tags).order_by(tags.c.name, tags.c.id).offset(offset).limit(limit)).mappings()
    return [dict(r) for r in rows], int(total)


def get(conn: Connection, tag_id: int) -> dict | None:
    row = conn.execute(select(tags).where(tags.c.id == tag_id)).mappings().first()
    return dict(row) if row else None


def ticket_counts(
    conn: Connection, tag_ids: Iterable[int], visible_mailboxes: frozenset[int] | None
) -> dict[int, int]:
    """Non-deleted conversations the caller can see, per tag, from the trigger-kept counts per tag,
    mailbox, state and status: counting the tagged rows joined to their conversations took
    3.1 s for the billing tag (179k conversations) at 1M."""
    wanted = sorted(set(tag_ids))
    if not wanted or (visible_mailboxes is not None and not visible_mailboxes):
        return {}
    kept = conversation_tag_counts.c
    conditions = [kept.tag_id.in_(wanted), kept.state != "deleted"]
    if visible_mailboxes is not None:
        conditions.append(kept.mailbox_id.in_(sorted(visible_mailboxes)))
    rows = conn.execute(
        select(kept.tag_id, func.sum(kept.n).label("n")).where(*conditions).group_by(kept.tag_id)
    )
    return {r.tag_id: int(r.n) for r in rows}
