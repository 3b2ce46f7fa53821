"""SQL for webhooks and their outbox of deliveries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Connection, Select, and_, delete, func, insert, or_, select, update

from tidings.db.tables import (
    conversation_fields,
    conversation_tags,
    conversations,
    mailboxes,
    webhook_deliveries,
    webhooks,
)

_W = webhooks.c
_D = webhook_deliveries.c
_C = conversations.c


def _webhook(row: Any) -> dict[str, Any]:
    found = dict(row)
    found["events"] = orjson.loads(found["events"])
    found["mailbox_ids"] = None if found["mailbox_ids"] is None else orjson.loads(found["mailbox_ids"])
    return found


def stored(values: dict[str, Any]) -> dict[str, Any]:
    """A webhook's values as columns (its lists as JSON text)."""
    columns = dict(values)
    columns["events"] = orjson.dumps(values["events"]).decode()
    if values.get("mailbox_ids") is not None:
        columns["mailbox_ids"] = orjson.dumps(values["mailbox_ids"]).decode()
    return columns


def create(conn: Connection, values: dict[str, Any], now: datetime) -> int:
    result = conn.execute(
        insert(webhooks).values(**stored(values), dropped_in_a_row=0, created_at=now, updated_at=now)
    )
    return int(result.inserted_primary_key[0])  # type: ignore[index]


def get(conn: Connection, webhook_id: int, *, for_update: bool = False) -> dict[str, Any] | None:
    query = select(webhooks).where(_W.id == webhook_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return _webhook(row) if row else None


def list_page(conn: Connection, offset: int, limit: int) -> tuple[list[dict[str, Any]], int]:
    total = int(conn.execute(select(func.count()).select_from(webhooks)).scalar_one())
    rows = conn.execute(select(webhooks).order_by(_W.id).offset(offset).limit(limit)).mappings()
    return [_webhook(r) for r in rows], total


def replace(conn: Connection, webhook_id: int, values: dict[str, Any], now: datetime) -> None:
    """Overwrite a webhook; it starts counting dropped events afresh."""
    conn.execute(
        update(webhooks)
        .where(_W.id == webhook_id)
        .values(**stored(values), dropped_in_a_row=0, updated_at=now)
    )


def lock_deliveries(conn: Connection, which: ColumnElement[bool]) -> None:
    """PostgreSQL: lock the deliveries `which` selects in id order, before a transaction changes
    any. Deleting a webhook and a sender recording its posts changed the same rows in different
    orders and deadlocked (the deletion answered 500); taken in one order, one waits instead."""
    if conn.dialect.name == "postgresql":
        conn.execute(select(_D.id).where(which).order_by(_D.id).with_for_update())


def posted_or_pending(posted: list[Claimed]) -> ColumnElement[bool]:
    """The deliveries posted and the pending ones of their webhooks."""
    webhook_ids = sorted({delivery.webhook_id for delivery in posted})
    pending = and_(_D.webhook_id.in_(webhook_ids), _D.state == "pending")
    return or_(_D.id.in_([delivery.id for delivery in posted]), pending)


def delete_webhook(conn: Connection, webhook_id: int) -> bool:
    """Delete a webhook and its deliveries; False when there is no such webhook. Its deliveries
    are locked before its row, the order of a sender recording posts (deliveries, then the
    webhook's count of dropped events): the route had locked the row first, to answer 404, and
    the two deadlocked (PostgreSQL; a CI run's DELETE answered 500)."""
    lock_deliveries(conn, _D.webhook_id == webhook_id)
    if get(conn, webhook_id, for_update=True) is None:
        return False
    conn.execute(delete(webhook_deliveries).where(_D.webhook_id == webhook_id))
    conn.execute(delete(webhooks).where(_W.id == webhook_id))
    return True


def existing_mailboxes(conn: Connection, mailbox_ids: list[int]) -> set[int]:
    """Which of these mailboxes exist, in one query."""
    if not mailbox_ids:
        return set()
    return set(conn.execute(select(mailboxes.c.id).where(mailboxes.c.id.in_(mailbox_ids))).scalars())


def enabled(conn: Connection) -> list[dict[str, Any]]:
    """Every enabled webhook (a handful at most): asked once per change that may cause events."""
    return [_webhook(r) for r in conn.execute(select(webhooks).where(_W.state == "enabled")).mappings()]


# -- what a conversation looks like, to tell what a change did -------------------------------


def conversation_facts(conn: Connection, conversation_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute(
            select(_C.status, _C.state, _C.assignee_id, _C.mailbox_id).where(_C.id == conversation_id)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    tag_ids = conn.execute(
        select(conversation_tags.c.tag_id)
        .where(conversation_tags.c.conversation_id == conversation_id)
        .order_by(conversation_tags.c.tag_id)
    ).scalars()
    fields = conn.execute(
        select(conversation_fields.c.field_id, conversation_fields.c.value)
        .where(conversation_fields.c.conversation_id == conversation_id)
        .order_by(conversation_fields.c.field_id)
    )
    return {**row, "tags": tuple(tag_ids), "fields": tuple(tuple(f) for f in fields)}


# -- the outbox -----------------------------------------------------------------------------


def add_deliveries(conn: Connection, rows: Iterable[dict[str, Any]], now: datetime) -> None:
    values = [
        {**row, "state": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now} for row in rows
    ]
    if values:
        conn.execute(insert(webhook_deliveries), values)


def any_due(conn: Connection, now: datetime) -> bool:
    """A read through the partial index of pending rows: no write lock while nothing is due."""
    return conn.execute(_due(now).limit(1)).first() is not None


def _due(now: datetime) -> Select[Any]:
    """Pending deliveries of enabled webhooks that are due and held by no sender, oldest first."""
    return (
        select(_D.id)
        .join(webhooks, _W.id == _D.webhook_id)
        .where(_D.state == "pending", _D.next_attempt_at <= now, _unclaimed(now), _W.state == "enabled")
        .order_by(_D.next_attempt_at, _D.id)
    )


def _unclaimed(now: datetime) -> Any:
    return or_(_D.claimed_until.is_(None), _D.claimed_until <= now)


@dataclass(frozen=True)
class Claimed:
    """A delivery a sender holds until its lease ends."""

    id: int
    webhook_id: int
    event: str
    body: str
    attempts: int
    url: str
    secret: str


def claim_due(conn: Connection, now: datetime, lease: timedelta, limit: int) -> list[Claimed]:
    """Take up to `limit` due deliveries of enabled webhooks, oldest first, for `lease`. Other
    processes skip the rows (PostgreSQL: SKIP LOCKED; SQLite: one writer at a time), and a
    sender that dies lets them go when the lease ends."""
    due = _due(now).limit(limit)
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(of=webhook_deliveries, skip_locked=True)
    ids = [int(i) for i in conn.execute(due).scalars()]
    if not ids:
        return []
    conn.execute(update(webhook_deliveries).where(_D.id.in_(ids)).values(claimed_until=now + lease))
    rows = conn.execute(
        select(_D.id, _D.webhook_id, _D.event, _D.body, _D.attempts, _W.url, _W.secret)
        .join(webhooks, _W.id == _D.webhook_id)
        .where(_D.id.in_(ids))
        .order_by(_D.next_attempt_at, _D.id)
    )
    return [Claimed(*row) for row in rows]


def _attempted(
    conn: Connection, delivery: Claimed, status: int | None, error: str | None, **outcome: Any
) -> None:
    """Record one more attempt at a delivery, what it got, and `outcome` (its state, times)."""
    conn.execute(
        update(webhook_deliveries)
        .where(_D.id == delivery.id)
        .values(
            attempts=delivery.attempts + 1,
            last_status=status,
            last_error=error,
            claimed_until=None,
            **outcome,
        )
    )


def delivered(conn: Connection, delivery: Claimed, status: int, now: datetime) -> None:
    _attempted(conn, delivery, status, None, state="delivered", finished_at=now)
    conn.execute(update(webhooks).where(_W.id == delivery.webhook_id).values(dropped_in_a_row=0))


def retry_later(conn: Connection, delivery: Claimed, status: int | None, error: str, at: datetime) -> None:
    _attempted(conn, delivery, status, error, next_attempt_at=at)


def dropped(conn: Connection, delivery: Claimed, status: int | None, error: str, now: datetime) -> int:
    """Give up on a delivery; how many events the webhook has now dropped in a row."""
    _attempted(conn, delivery, status, error, state="dropped", finished_at=now)
    conn.execute(
        update(webhooks).where(_W.id == delivery.webhook_id).values(dropped_in_a_row=_W.dropped_in_a_row + 1)
    )
    return int(
        conn.execute(select(_W.dropped_in_a_row).where(_W.id == delivery.webhook_id)).scalar_one_or_none()
        or 0
    )


def disable(conn: Connection, webhook_id: int, reason: str, now: datetime) -> None:
    """Stop a webhook: its pending deliveries are dropped with the reason."""
    conn.execute(update(webhooks).where(_W.id == webhook_id).values(state="disabled", updated_at=now))
    conn.execute(
        update(webhook_deliveries)
        .where(_D.webhook_id == webhook_id, _D.state == "pending")
        .values(state="dropped", last_error=reason, claimed_until=None, finished_at=now)
    )


def forget_finished(conn: Connection, before: datetime) -> int:
    """Delete delivered and dropped deliveries that finished before `before`; how many."""
    lock_deliveries(conn, _D.finished_at < before)
    result = conn.execute(delete(webhook_deliveries).where(_D.finished_at < before))
    return int(result.rowcount or 0)


def deliveries_of(conn: Connection, webhook_id: int) -> list[dict[str, Any]]:
    """A webhook's deliveries, oldest first."""
    rows = conn.execute(
        select(webhook_deliveries).where(_D.webhook_id == webhook_id).order_by(_D.id)
    ).mappings()
    return [dict(r) for r in rows]


def newest_deliveries(conn: Connection, webhook_id: int | None, limit: int) -> list[dict[str, Any]]:
    """The newest deliveries, of one webhook or all, newest first (`tidings webhooks deliveries`)."""
    query = select(webhook_deliveries).order_by(_D.id.desc()).limit(limit)
    if webhook_id is not None:
        query = query.where(_D.webhook_id == webhook_id)
    return [dict(r) for r in conn.execute(query).mappings()]
