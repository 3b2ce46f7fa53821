"""SQL for conversations, their tags, custom-field values, addresses and threads.

Loading related data for a page is one query per kind for the whole page (users, customers,
tags, fields, threads, attachments), never one per conversation.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, case, cast, delete, func, insert, select, type_coerce, update

from tidings.db.tables import (
    Timestamp,
    attachments,
    conversation_emails,
    conversation_fields,
    conversation_tags,
    conversations,
    counters,
    folders,
    mailbox_field_options,
    mailbox_fields,
    saved_replies,
    tags,
    threads,
)
from tidings.kit.db import insert_or_existing
from tidings.kit.prepared import Prepared, Together, any_id

CUSTOMER_SIDE_TYPES = ("customer", "chat", "phone")


def next_number(conn: Connection) -> int:
    """Take the next conversation number; the counter row lock serialises concurrent creates."""
    return int(
        conn.execute(
            update(counters)
            .where(counters.c.name == "conversation_number")
            .values(value=counters.c.value + 1)
            .returning(counters.c.value)
        ).scalar_one()
    )


def insert_conversation(conn: Connection, values: dict[str, Any]) -> int:
    return int(conn.execute(insert(conversations).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def insert_thread(conn: Connection, values: dict[str, Any]) -> int:
    for key in ("to_list", "cc_list", "bcc_list"):
        if isinstance(values.get(key), list):
            values[key] = json.dumps(values[key])
    return int(conn.execute(insert(threads).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def insert_attachments(conn: Connection, rows: list[dict[str, Any]]) -> list[int]:
    return [int(conn.execute(insert(attachments).values(**row)).inserted_primary_key[0]) for row in rows]  # type: ignore[index]


def get(conn: Connection, conversation_id: int, *, for_update: bool = False) -> dict | None:
    """A conversation that is not deleted; locked for the transaction when `for_update`."""
    query = select(conversations).where(
        conversations.c.id == conversation_id, conversations.c.state != "deleted"
    )
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).mappings().first()
    return dict(row) if row else None


def update_conversation(conn: Connection, conversation_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))


def folder_id_for(conn: Connection, mailbox_id: int, state: str, status: str, assignee_id: int | None) -> int:
    """The system folder a conversation sits in follows from its state (behaviour §5)."""
    if state == "draft":
        kind = "drafts"
    elif status == "spam":
        kind = "spam"
    elif status == "closed":
        kind = "closed"
    else:
        kind = "assigned" if assignee_id else "unassigned"
    return int(
        conn.execute(
            select(folders.c.id).where(
                folders.c.mailbox_id == mailbox_id, folders.c.type == kind, folders.c.user_id == 0
            )
        ).scalar_one()
    )


def thread_facts(conn: Connection, conversation_id: int) -> dict[str, Any]:
    """Aggregates the denormalised conversation columns are derived from."""
    published = threads.c.state == "published"
    row = conn.execute(
        select(
            func.count().label("total_threads"),
            func.sum(case(((threads.c.type != "lineitem") & published, 1), else_=0)).label("thread_count"),
            type_coerce(
                func.max(case((threads.c.type.in_(CUSTOMER_SIDE_TYPES) & published, threads.c.created_at))),
                Timestamp,
            ).label("last_customer_at"),
            type_coerce(
                func.max(case(((threads.c.type == "message") & published, threads.c.created_at))), Timestamp
            ).label("last_user_reply_at"),
        ).where(threads.c.conversation_id == conversation_id)
    ).one()
    preview = conn.execute(
        select(threads.c.body)
        .where(
            threads.c.conversation_id == conversation_id,
            threads.c.type != "lineitem",
            published,
            threads.c.body.is_not(None),
        )
        .order_by(threads.c.created_at.desc(), threads.c.id.desc())
        .limit(1)
    ).scalar()
    has_attachments = (
        conn.execute(
            select(attachments.c.id).where(attachments.c.conversation_id == conversation_id).limit(1)
        ).first()
        is not None
    )
    return {
        "total_threads": int(row.total_threads or 0),
        "thread_count": int(row.thread_count or 0),
        "last_customer_at": row.last_customer_at,
        "last_user_reply_at": row.last_user_reply_at,
        "preview_body": preview,
        "has_attachments": has_attachments,
    }


def ensure_tags(conn: Connection, names: Iterable[str], now: datetime) -> tuple[dict[str, int], list[int]]:
    """Ids of the named tags (lower-case), creating the missing ones; and the ids created."""
    wanted = sorted({n.strip().lower() for n in names if n.strip()})
    if not wanted:
        return {}, []
    found = {
        r.name: r.id for r in conn.execute(select(tags.c.name, tags.c.id).where(tags.c.name.in_(wanted)))
    }
    made = []
    for name in wanted:
        if name not in found:
            found[name], created = _create_tag(conn, name, now)
            if created:
                made.append(found[name])
    return found, made


def _create_tag(conn: Connection, name: str, now: datetime) -> tuple[int, bool]:
    """A new tag (True), or the one a concurrent transaction created with the same name (False)."""

    def made_meanwhile() -> tuple[int, bool] | None:
        found = _tag_id(conn, name)
        return None if found is None else (found, False)

    return insert_or_existing(conn, lambda: (_insert_tag(conn, name, now), True), made_meanwhile)


def _insert_tag(conn: Connection, name: str, now: datetime) -> int:
    values = {
        "name": name,
        "slug": "-".join(name.split()),
        "color": None,
        "created_at": now,
        "updated_at": now,
    }
    return int(conn.execute(insert(tags).values(**values)).inserted_primary_key[0])  # type: ignore[index]


def _tag_id(conn: Connection, name: str) -> int | None:
    found = conn.execute(select(tags.c.id).where(tags.c.name == name)).scalar()
    return int(found) if found is not None else None


def set_tags(conn: Connection, conversation_id: int, tag_ids: Iterable[int], now: datetime) -> None:
    """Make the conversation carry exactly these tags, keeping the link time of those it kept."""
    wanted = set(tag_ids)
    current = set(
        conn.execute(
            select(conversation_tags.c.tag_id).where(conversation_tags.c.conversation_id == conversation_id)
        ).scalars()
    )
    removed = current - wanted
    if removed:
        conn.execute(
            delete(conversation_tags).where(
                conversation_tags.c.conversation_id == conversation_id,
                conversation_tags.c.tag_id.in_(removed),
            )
        )
    added = sorted(wanted - current)
    if added:
        conn.execute(
            insert(conversation_tags),
            [{"conversation_id": conversation_id, "tag_id": t, "created_at": now} for t in added],
        )


def set_fields(conn: Connection, conversation_id: int, values: dict[int, str]) -> None:
    conn.execute(delete(conversation_fields).where(conversation_fields.c.conversation_id == conversation_id))
    if values:
        conn.execute(
            insert(conversation_fields),
            [
                {"conversation_id": conversation_id, "field_id": f, "value": v}
                for f, v in sorted(values.items())
            ],
        )


def drop_fields_not_in_mailbox(conn: Connection, conversation_id: int, mailbox_id: int) -> None:
    keep = select(mailbox_fields.c.id).where(mailbox_fields.c.mailbox_id == mailbox_id)
    conn.execute(
        delete(conversation_fields).where(
            conversation_fields.c.conversation_id == conversation_id,
            conversation_fields.c.field_id.not_in(keep),
        )
    )


def add_emails(conn: Connection, conversation_id: int, emails: Iterable[str]) -> None:
    wanted = {e.strip().lower() for e in emails if e and e.strip()}
    if not wanted:
        return
    present = set(
        conn.execute(
            select(conversation_emails.c.email).where(
                conversation_emails.c.conversation_id == conversation_id,
                conversation_emails.c.email.in_(wanted),
            )
        ).scalars()
    )
    rows = [{"conversation_id": conversation_id, "email": e} for e in sorted(wanted - present)]
    if rows:
        conn.execute(insert(conversation_emails), rows)


# -- loading for presentation ---------------------------------------------------------------


# The columns a listed conversation shows (`presenter.conversation_out`, `load_related`): the
# others (sort keys, activity times) were read and converted for nothing, 75 timestamps a page.
LISTED_COLUMNS = tuple(
    conversations.c[name]
    for name in (
        "id", "number", "mailbox_id", "folder_id", "type", "status", "state", "subject", "preview",
        "assignee_id", "customer_id", "created_by_type", "created_by_id", "source_type", "source_via",
        "cc", "bcc", "created_at", "closed_at", "closed_by", "user_updated_at", "customer_waiting_since",
        "thread_count", "has_attachments", "snoozed_until", "snoozed_by", "unsnooze_on_customer_reply",
    )
)  # fmt: skip

# Prepared once: the page loaders run on every list request (see kit/prepared.py).
_CONVERSATIONS_BY_ID = Prepared(select(*LISTED_COLUMNS).where(any_id(conversations.c.id)))
_TAGS_OF = Prepared(
    select(conversation_tags.c.conversation_id, tags.c.id, tags.c.name, tags.c.color)
    .join(tags, tags.c.id == conversation_tags.c.tag_id)
    .where(any_id(conversation_tags.c.conversation_id))
    .order_by(tags.c.name)
)
# A dropdown's value is its option's id as text (service._field_value_problem): the label joins
# in here, where a second statement per page looked the labels up.
_FIELDS_OF = Prepared(
    select(
        conversation_fields.c.conversation_id,
        conversation_fields.c.field_id,
        conversation_fields.c.value,
        mailbox_fields.c.name,
        mailbox_field_options.c.label,
    )
    .join(mailbox_fields, mailbox_fields.c.id == conversation_fields.c.field_id)
    .outerjoin(
        mailbox_field_options,
        and_(
            mailbox_fields.c.type == "dropdown",
            mailbox_field_options.c.field_id == conversation_fields.c.field_id,
            cast(mailbox_field_options.c.id, Text) == conversation_fields.c.value,
        ),
    )
    .where(any_id(conversation_fields.c.conversation_id))
    .order_by(mailbox_fields.c.sort_order, mailbox_fields.c.id)
)


def by_ids(conn: Connection, conversation_ids: Sequence[int]) -> list[dict]:
    """The conversations with these ids, in the order of `conversation_ids`."""
    if not conversation_ids:
        return []
    found = {r["id"]: r for r in _CONVERSATIONS_BY_ID.dicts(conn, ids=list(conversation_ids))}
    return [found[i] for i in conversation_ids if i in found]


def tags_in(batch: Together, conversation_ids: Sequence[int]) -> Callable[[], dict[int, list[dict]]]:
    """The conversations' tags, read with the batch: call the result once `batch.run()` has."""
    pending = batch.add(_TAGS_OF, ids=list(conversation_ids)) if conversation_ids else None

    def found() -> dict[int, list[dict]]:
        tags: dict[int, list[dict]] = defaultdict(list)
        for conversation_id, tag_id, name, color in pending.rows() if pending else ():
            tags[conversation_id].append({"id": tag_id, "name": name, "color": color})
        return tags

    return found


def fields_in(batch: Together, conversation_ids: Sequence[int]) -> Callable[[], dict[int, list[dict]]]:
    """Custom-field values with their field names and, for dropdowns, option labels (see
    `tags_in`)."""
    pending = batch.add(_FIELDS_OF, ids=list(conversation_ids)) if conversation_ids else None

    def found() -> dict[int, list[dict]]:
        fields: dict[int, list[dict]] = defaultdict(list)
        for conversation_id, field_id, value, name, label in pending.rows() if pending else ():
            text = value if label is None else label
            fields[conversation_id].append({"id": field_id, "name": name, "value": value, "text": text})
        return fields

    return found


_THREADS_OF = Prepared(
    select(threads)
    .where(any_id(threads.c.conversation_id))
    .order_by(threads.c.created_at.desc(), threads.c.id.desc())
)


def threads_for(
    conn: Connection, conversation_ids: Sequence[int], *, offset: int = 0, limit: int | None = None
) -> list[dict]:
    """Threads of the conversations, newest first (all of them through the prepared loader)."""
    if not conversation_ids:
        return []
    if offset == 0 and limit is None:
        return _THREADS_OF.dicts(conn, ids=list(conversation_ids))
    query = (
        select(threads)
        .where(threads.c.conversation_id.in_(conversation_ids))
        .order_by(threads.c.created_at.desc(), threads.c.id.desc())
        .offset(offset)
    )
    if limit is not None:
        query = query.limit(limit)
    return [dict(r) for r in conn.execute(query).mappings()]


def count_threads(conn: Connection, conversation_id: int) -> int:
    return int(
        conn.execute(select(func.count()).where(threads.c.conversation_id == conversation_id)).scalar_one()
    )


def get_thread(conn: Connection, conversation_id: int, thread_id: int) -> dict | None:
    row = (
        conn.execute(
            select(threads).where(threads.c.id == thread_id, threads.c.conversation_id == conversation_id)
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def update_thread(conn: Connection, thread_id: int, values: dict[str, Any]) -> None:
    conn.execute(update(threads).where(threads.c.id == thread_id).values(**values))


_ATTACHMENTS_OF = Prepared(
    select(
        attachments.c.id,
        attachments.c.thread_id,
        attachments.c.conversation_id,
        attachments.c.filename,
        attachments.c.mime_type,
        attachments.c.size,
        attachments.c.width,
        attachments.c.height,
    )
    .where(any_id(attachments.c.thread_id))
    .order_by(attachments.c.id)
)


def attachments_for(conn: Connection, thread_ids: Sequence[int]) -> dict[int, list[dict]]:
    """Attachment metadata (not the data) by thread, through a prepared loader: a page with
    `embed=threads` asks for a hundred threads' (an IN list of that length was a statement
    SQLAlchemy built and cached per length)."""
    found: dict[int, list[dict]] = defaultdict(list)
    if not thread_ids:
        return found
    for row in _ATTACHMENTS_OF.dicts(conn, ids=list(thread_ids)):
        found[row["thread_id"]].append(row)
    return found


def get_attachment(conn: Connection, conversation_id: int, attachment_id: int) -> dict | None:
    row = (
        conn.execute(
            select(attachments).where(
                attachments.c.id == attachment_id, attachments.c.conversation_id == conversation_id
            )
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


def delete_attachment(conn: Connection, attachment_id: int) -> None:
    conn.execute(delete(attachments).where(attachments.c.id == attachment_id))


def publish_drafts(conn: Connection, conversation_id: int) -> None:
    conn.execute(
        update(threads)
        .where(threads.c.conversation_id == conversation_id, threads.c.state == "draft")
        .values(state="published")
    )


def saved_reply_in_mailbox(conn: Connection, saved_reply_id: int, mailbox_id: int) -> bool:
    found = conn.execute(
        select(saved_replies.c.id).where(
            saved_replies.c.id == saved_reply_id, saved_replies.c.mailbox_id == mailbox_id
        )
    ).first()
    return found is not None
