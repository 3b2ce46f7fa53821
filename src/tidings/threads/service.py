"""Thread edits and attachments; thread creation lives with the conversation rules."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection
from starlette.requests import Request

from tidings.auth.caller import Caller
from tidings.conversations import repository
from tidings.conversations.presenter import Related, thread_out, thread_people
from tidings.conversations.schemas import AttachmentIn, ThreadPatch
from tidings.conversations.service import refresh_derived, visible_conversation
from tidings.customers import repository as customers_repository
from tidings.kit import timefmt
from tidings.kit.errors import invalid_field, not_found
from tidings.kit.prepared import Together
from tidings.users import repository as users_repository
from tidings.webhooks import outbox


def present(conn: Connection, request: Request, rows: list[dict]) -> list[dict]:
    """Threads as JSON, with their people and attachments loaded once for the whole page."""
    user_ids, customer_ids = thread_people(rows)
    batch = Together(conn)
    users = users_repository.by_ids_in(batch, user_ids)
    customers = customers_repository.by_ids_in(batch, customer_ids)
    batch.run()
    related = Related(
        users=users(),
        customers=customers(),
        attachments=repository.attachments_for(conn, [t["id"] for t in rows]),
    )
    return [thread_out(request, t, related) for t in rows]


def _thread(conn: Connection, caller: Caller, conversation_id: int, thread_id: int) -> dict:
    visible_conversation(conn, caller, conversation_id, lock=True)
    thread = repository.get_thread(conn, conversation_id, thread_id)
    if thread is None:
        raise not_found("Thread")
    return thread


def patch_thread(
    conn: Connection, caller: Caller, conversation_id: int, thread_id: int, body: ThreadPatch
) -> None:
    thread = _thread(conn, caller, conversation_id, thread_id)
    now = timefmt.now()
    if body.path == "/text":
        if not isinstance(body.value, str) or not body.value.strip():
            raise invalid_field("value", "expected the new, non-empty text", "JSON", body.value)
        if thread["type"] == "lineitem":
            raise invalid_field("path", "line items have no text to edit", "JSON", body.path)
        values = {"body": body.value}
        if thread["original_body"] is None:
            values["original_body"] = thread["body"]
        repository.update_thread(conn, thread_id, values)
    else:
        if not isinstance(body.value, bool):
            raise invalid_field("value", "expected true or false", "JSON", body.value)
        if thread["type"] not in ("customer", "message") or thread["state"] == "draft":
            raise invalid_field(
                "path", "only published customer or reply threads can be hidden", "JSON", body.path
            )
        repository.update_thread(conn, thread_id, {"state": "hidden" if body.value else "published"})
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)


def add_attachment(
    conn: Connection, caller: Caller, conversation_id: int, thread_id: int, body: AttachmentIn
) -> int:
    thread = _thread(conn, caller, conversation_id, thread_id)
    now = timefmt.now()
    data = body.decoded()
    [attachment_id] = repository.insert_attachments(
        conn,
        [
            {
                "conversation_id": conversation_id,
                "thread_id": thread["id"],
                "filename": body.fileName,
                "mime_type": body.mimeType,
                "size": len(data),
                "data": data,
                "created_at": now,
            }
        ],
    )
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
    return attachment_id


def delete_attachment(conn: Connection, caller: Caller, conversation_id: int, attachment_id: int) -> None:
    visible_conversation(conn, caller, conversation_id, lock=True)
    if repository.get_attachment(conn, conversation_id, attachment_id) is None:
        raise not_found("Attachment")
    repository.delete_attachment(conn, attachment_id)
    now = timefmt.now()
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)


def _draft_reply(conn: Connection, caller: Caller, conversation_id: int, thread_id: int) -> dict:
    thread = _thread(conn, caller, conversation_id, thread_id)
    if thread["type"] != "message" or thread["state"] != "draft":
        raise invalid_field("threadId", "only a draft reply can be scheduled", "path", thread_id)
    return thread


def schedule(
    conn: Connection, caller: Caller, conversation_id: int, thread_id: int, when: datetime, unschedule: bool
) -> None:
    """Set a draft reply to be sent later (Help Scout's "Send Later")."""
    now = timefmt.now()
    if when <= now:
        raise invalid_field(
            "scheduledFor", "must be in the future", "JSON", timefmt.fmt(when), "MalformedDate"
        )
    _draft_reply(conn, caller, conversation_id, thread_id)
    repository.update_thread(
        conn,
        thread_id,
        {
            "scheduled_for": when,
            "scheduled_by": caller.user_id,
            "scheduled_at": now,
            "unschedule_on_customer_reply": unschedule,
        },
    )


def unschedule(conn: Connection, caller: Caller, conversation_id: int, thread_id: int) -> None:
    thread = _draft_reply(conn, caller, conversation_id, thread_id)
    if thread["scheduled_for"] is None:
        raise not_found("Schedule")
    repository.update_thread(
        conn,
        thread_id,
        {
            "scheduled_for": None,
            "scheduled_by": None,
            "scheduled_at": None,
            "unschedule_on_customer_reply": None,
        },
    )


def send_now(conn: Connection, caller: Caller, conversation_id: int, thread_id: int) -> None:
    """Publish a scheduled draft reply now, with the effects of any published reply."""
    thread = _draft_reply(conn, caller, conversation_id, thread_id)
    if thread["scheduled_for"] is None:
        raise not_found("Schedule")
    watch = outbox.watch_conversation(conn, conversation_id)
    now = timefmt.now()
    repository.update_thread(
        conn,
        thread_id,
        {
            "state": "published",
            "created_at": now,
            "status": "active",
            "scheduled_for": None,
            "scheduled_by": None,
            "scheduled_at": None,
            "unschedule_on_customer_reply": None,
        },
    )
    repository.update_conversation(
        conn,
        conversation_id,
        {"state": "published", "status": "active", "closed_at": None, "closed_by": None},
    )
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
    if watch is not None:
        watch.add("convo.agent.reply.created")
    outbox.conversation_changed(conn, watch)
