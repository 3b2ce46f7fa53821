"""Conversation writes: the rules that keep every derived value right.

Each public function runs inside one write transaction (`Database.write`), so a request either
changes everything it asked for or nothing. After any change `refresh_derived` recomputes the
denormalised columns (thread counts, preview, waiting times, folder) from the threads, which
keeps them correct by construction rather than by incremental bookkeeping.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Connection

from tidings.auth.caller import Caller
from tidings.conversations import repository
from tidings.conversations.schemas import (
    AttachmentIn,
    ConversationCreate,
    CustomerRef,
    FieldValueIn,
    PatchOp,
)
from tidings.customers import repository as customers_repository
from tidings.kit import timefmt
from tidings.kit.errors import ApiError, FieldError, invalid, invalid_field, not_found
from tidings.kit.schemas import MAX_ID
from tidings.mailboxes import repository as mailboxes_repository
from tidings.reports import activity as report_activity
from tidings.search import index as search_index
from tidings.users import repository as users_repository
from tidings.webhooks import outbox

MAX_THREADS = 100
_TAGS = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def preview_of(body: str | None) -> str:
    """Plain-text preview of a thread body: tags dropped, entities decoded, 255 characters."""
    if not body:
        return ""
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", body))).strip()[:255]


@dataclass
class NewThread:
    """A thread about to be written, already validated and resolved to ids."""

    type: str  # customer | message | note | chat | phone | lineitem
    body: str | None
    created_by_type: str
    created_by_id: int
    customer_id: int | None
    created_at: datetime
    state: str = "published"
    status: str = "nochange"
    source_type: str = "api"
    action_type: str = "default"
    action_text: str | None = None
    assigned_to_id: int | None = None
    saved_reply_id: int | None = None
    workflow_id: int | None = None
    to: tuple[str, ...] = ()
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    imported: bool = False
    attachments: tuple[AttachmentIn, ...] = ()


# -- lookups that raise the right error -----------------------------------------------------


def visible_conversation(
    conn: Connection, caller: Caller, conversation_id: int, *, lock: bool = False
) -> dict:
    """The conversation, or 404 when missing, deleted or in a mailbox the caller cannot see."""
    conversation = repository.get(conn, conversation_id, for_update=lock)
    if conversation is None or not caller.can_see(conversation["mailbox_id"]):
        raise not_found("Conversation")
    return conversation


def resolve_user(conn: Connection, user_id: int, path: str) -> dict:
    user = users_repository.get(conn, user_id)
    if user is None:
        raise invalid_field(path, "unknown user id", "JSON", user_id, "InvalidIdentifier")
    return user


def resolve_customer(conn: Connection, ref: CustomerRef, now: datetime, path: str) -> int:
    """By id (must exist) or by email (an unknown address creates the customer)."""
    if ref.id is not None:
        if not customers_repository.exists(conn, ref.id):
            raise invalid_field(f"{path}.id", "unknown customer id", "JSON", ref.id, "InvalidIdentifier")
        return ref.id
    assert ref.email is not None
    attrs: dict[str, Any] = {
        column: getattr(ref, key)
        for key, column in customers_repository.CUSTOMER_COLUMNS.items()
        if getattr(ref, key, None) is not None
    }
    phones = [(ref.phone, "work")] if ref.phone else []
    customer_id, made = customers_repository.find_or_create_by_email(conn, ref.email, attrs, now, phones)
    if made:
        outbox.customer_event(conn, "customer.created", customer_id)
    return customer_id


def _visible_mailbox_for_body(conn: Connection, caller: Caller, mailbox_id: int, path: str) -> dict:
    mailbox = mailboxes_repository.get(conn, mailbox_id) if caller.can_see(mailbox_id) else None
    if mailbox is None:
        raise invalid_field(path, "unknown mailbox id", "JSON", mailbox_id, "InvalidIdentifier")
    return mailbox


def validate_field_values(
    conn: Connection, mailbox_id: int, values: list[FieldValueIn], path: str = "fields"
) -> dict[int, str]:
    """Check each custom-field value against its field's type; every problem is reported."""
    definitions = {f["id"]: f for f in mailboxes_repository.fields_of(conn, [mailbox_id])}
    errors: list[FieldError] = []
    accepted: dict[int, str] = {}
    for index, item in enumerate(values):
        field = definitions.get(item.id)
        where = f"{path}[{index}]"
        if field is None:
            errors.append(FieldError(f"{where}.id", "unknown custom field for this mailbox", "JSON", item.id))
            continue
        value = str(item.value)
        problem = _field_value_problem(field, value)
        if problem:
            errors.append(FieldError(f"{where}.value", problem, "JSON", value))
            continue
        accepted[item.id] = value
    if errors:
        raise invalid(*errors)
    return accepted


def _field_value_problem(field: dict[str, Any], value: str) -> str | None:
    kind = field["type"]
    if kind == "number":
        if not re.fullmatch(r"-?\d+(\.\d+)?", value) or len(value) > 255:
            return "expected a number"
    elif kind == "date":
        try:
            date.fromisoformat(value)
        except ValueError:
            return "expected a date as YYYY-MM-DD"
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            return "expected a date as YYYY-MM-DD"
    elif kind == "dropdown":
        if value not in {str(o["id"]) for o in field["options"]}:
            return "expected the id of one of the field's options"
    elif kind == "singleline":
        if len(value) > 255:
            return "at most 255 characters"
    elif kind == "multiline" and len(value) > 15000:
        return "at most 15000 characters"
    return None


# -- derived state --------------------------------------------------------------------------


def refresh_derived(
    conn: Connection, conversation_id: int, *, modified_at: datetime, user_acted_at: datetime | None = None
) -> None:
    """Recompute the derived columns and the search document from the threads; the folder from the state."""
    row = repository.get(conn, conversation_id)
    assert row is not None
    facts = repository.thread_facts(conn, conversation_id)
    last_customer = facts["last_customer_at"]
    last_reply = facts["last_user_reply_at"]
    waiting = last_customer if last_customer and (last_reply is None or last_customer > last_reply) else None
    candidates = [t for t in (row["user_updated_at"], user_acted_at, last_customer) if t is not None]
    repository.update_conversation(
        conn,
        conversation_id,
        {
            "thread_count": facts["thread_count"],
            "total_threads": facts["total_threads"],
            "has_attachments": facts["has_attachments"],
            "preview": preview_of(facts["preview_body"]),
            "last_customer_at": last_customer,
            "last_user_reply_at": last_reply,
            "customer_waiting_since": waiting,
            "user_updated_at": max(candidates) if candidates else row["created_at"],
            "modified_at": max(row["modified_at"], modified_at),
            "folder_id": repository.folder_id_for(
                conn, row["mailbox_id"], row["state"], row["status"], row["assignee_id"]
            ),
        },
    )
    search_index.refresh(conn, [conversation_id])
    report_activity.refresh(conn, [conversation_id])


def write_thread(conn: Connection, conversation: dict, thread: NewThread) -> int:
    """Insert a thread with its attachments and addresses; the caller refreshes derived state."""
    thread_id = repository.insert_thread(
        conn,
        {
            "conversation_id": conversation["id"],
            "type": thread.type,
            "status": thread.status,
            "state": thread.state,
            "action_type": thread.action_type,
            "action_text": thread.action_text,
            "body": thread.body,
            "source_type": thread.source_type,
            "source_via": thread.created_by_type,
            "customer_id": thread.customer_id,
            "created_by_type": thread.created_by_type,
            "created_by_id": thread.created_by_id,
            "assigned_to_id": thread.assigned_to_id,
            "saved_reply_id": thread.saved_reply_id,
            "workflow_id": thread.workflow_id,
            "to_list": list(thread.to),
            "cc_list": list(thread.cc),
            "bcc_list": list(thread.bcc),
            "imported": thread.imported,
            "created_at": thread.created_at,
        },
    )
    if thread.attachments:
        repository.insert_attachments(
            conn,
            [
                {
                    "conversation_id": conversation["id"],
                    "thread_id": thread_id,
                    "filename": a.fileName,
                    "mime_type": a.mimeType,
                    "size": len(a.decoded()),
                    "data": a.decoded(),
                    "created_at": thread.created_at,
                }
                for a in thread.attachments
            ],
        )
    repository.add_emails(conn, conversation["id"], [*thread.to, *thread.cc, *thread.bcc])
    return thread_id


def add_line_item(
    conn: Connection,
    conversation: dict,
    *,
    action_type: str,
    text: str,
    user_id: int,
    now: datetime,
    status: str = "nochange",
    assigned_to_id: int | None = None,
    workflow_id: int | None = None,
) -> int:
    """Record a change as a `lineitem` thread: how reports see history."""
    return write_thread(
        conn,
        conversation,
        NewThread(
            type="lineitem",
            body=None,
            created_by_type="user",
            created_by_id=user_id,
            customer_id=conversation["customer_id"],
            created_at=now,
            status=status,
            action_type=action_type,
            action_text=text,
            assigned_to_id=assigned_to_id,
            workflow_id=workflow_id,
        ),
    )


def _user_name(conn: Connection, user_id: int | None) -> str:
    user = users_repository.get(conn, user_id) if user_id else None
    return f"{user['first_name']} {user['last_name']}".strip() if user else "Nobody"


# -- create ---------------------------------------------------------------------------------

_THREAD_TYPES = {"reply": "message", "customer": "customer", "note": "note", "chat": "chat", "phone": "phone"}
# The webhook event a new published thread is, by its type.
_THREAD_EVENTS = {
    "message": "convo.agent.reply.created",
    "note": "convo.note.created",
    "customer": "convo.customer.reply.created",
    "chat": "convo.customer.reply.created",
    "phone": "convo.customer.reply.created",
}


def create_conversation(conn: Connection, caller: Caller, body: ConversationCreate) -> int:
    if len(body.threads) > MAX_THREADS:
        raise ApiError(412, f"A conversation holds at most {MAX_THREADS} threads")
    now = timefmt.now()
    mailbox = _visible_mailbox_for_body(conn, caller, body.mailboxId, "mailboxId")
    acting_user = resolve_user(conn, body.user or caller.user_id, "user")
    assignee_id = resolve_user(conn, body.assignTo, "assignTo")["id"] if body.assignTo else None
    field_values = validate_field_values(conn, mailbox["id"], body.fields)
    for index, t in enumerate(body.threads):
        if t.user is not None:
            resolve_user(conn, t.user, f"threads[{index}].user")
    customer_id = resolve_customer(conn, body.customer, now, "customer")
    customer = customers_repository.by_ids(conn, [customer_id])[customer_id]

    created_at = body.createdAt or now
    is_draft = len(body.threads) == 1 and body.threads[0].type == "reply" and body.threads[0].draft
    first = body.threads[0]
    created_by_customer = first.type in ("customer", "chat", "phone")
    closed = body.status == "closed"
    values = {
        "number": repository.next_number(conn),
        "mailbox_id": mailbox["id"],
        "folder_id": repository.folder_id_for(
            conn, mailbox["id"], "draft" if is_draft else "published", body.status, assignee_id
        ),
        "type": body.type,
        "status": body.status,
        "state": "draft" if is_draft else "published",
        "subject": body.subject,
        "assignee_id": assignee_id,
        "customer_id": customer_id,
        "created_by_type": "customer" if created_by_customer else "user",
        "created_by_id": customer_id if created_by_customer else acting_user["id"],
        "source_type": "api",
        "source_via": "customer" if created_by_customer else "user",
        "cc": _json_list(body.cc),
        "bcc": _json_list(body.bcc),
        "created_at": created_at,
        "modified_at": created_at,
        "closed_at": (body.closedAt or created_at) if closed else None,
        "closed_by": acting_user["id"] if closed else None,
        "user_updated_at": created_at,
        **customers_repository.sort_keys(customer),
    }
    conversation_id = repository.insert_conversation(conn, values)
    conversation = {"id": conversation_id, **values}

    latest = created_at
    for index, t in enumerate(body.threads):
        thread_customer = (
            resolve_customer(conn, t.customer, now, f"threads[{index}].customer")
            if t.customer
            else customer_id
        )
        customer_side = t.type in ("customer", "chat", "phone")
        author = t.user or acting_user["id"]
        thread_time = t.createdAt or created_at
        latest = max(latest, thread_time)
        write_thread(
            conn,
            conversation,
            NewThread(
                type=_THREAD_TYPES[t.type],
                body=t.text,
                created_by_type="customer" if customer_side else "user",
                created_by_id=thread_customer if customer_side else author,
                customer_id=thread_customer,
                created_at=thread_time,
                state="draft" if (t.type == "reply" and t.draft) else "published",
                status=body.status,
                source_type="api",
                assigned_to_id=assignee_id,
                to=tuple(t.to),
                cc=tuple(t.cc),
                bcc=tuple(t.bcc),
                imported=t.imported or body.imported,
                attachments=tuple(t.attachments),
            ),
        )
    repository.add_emails(conn, conversation_id, [*body.cc, *body.bcc])
    if body.tags:
        tag_ids, made_tags = repository.ensure_tags(conn, body.tags, now)
        repository.set_tags(conn, conversation_id, tag_ids.values(), created_at)
        outbox.tags_created(conn, made_tags)
    if field_values:
        repository.set_fields(conn, conversation_id, field_values)

    imported = body.imported or any(t.imported for t in body.threads)
    modified = max(latest, body.closedAt or latest) if imported else now
    user_acted = None if created_by_customer else (modified if imported else now)
    repository.update_conversation(
        conn, conversation_id, {"modified_at": modified, "user_updated_at": created_at}
    )
    refresh_derived(conn, conversation_id, modified_at=modified, user_acted_at=user_acted)
    outbox.conversation_created(conn, conversation_id)
    return conversation_id


def _json_list(values: list[str]) -> str:
    return json.dumps([v.lower() for v in values])


# -- threads on an existing conversation ----------------------------------------------------


def add_thread(
    conn: Connection,
    caller: Caller,
    conversation_id: int,
    *,
    kind: str,
    text: str,
    customer_ref: CustomerRef | None = None,
    user_id: int | None = None,
    status: str | None = None,
    draft: bool = False,
    imported: bool = False,
    created_at: datetime | None = None,
    assign_to: int | None = None,
    to: list[str] | None = None,
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
    attachments: list[AttachmentIn] | None = None,
    saved_reply_id: int | None = None,
) -> int:
    """Add a reply/note/customer/chat/phone thread and apply what it implies."""
    conversation = visible_conversation(conn, caller, conversation_id, lock=True)
    if conversation["total_threads"] >= MAX_THREADS:
        raise ApiError(412, f"Locked conversation - maximum number of threads ({MAX_THREADS}) reached")
    if created_at is not None and not imported:
        raise invalid_field("createdAt", "may only be used together with imported: true", "JSON")
    now = timefmt.now()
    acting_user = resolve_user(conn, user_id or caller.user_id, "user")
    if assign_to is not None:
        resolve_user(conn, assign_to, "assignTo")
    if saved_reply_id is not None:
        _check_saved_reply(conn, saved_reply_id, conversation["mailbox_id"])
    customer_id = (
        resolve_customer(conn, customer_ref, now, "customer") if customer_ref else conversation["customer_id"]
    )
    when = created_at or now
    customer_side = kind in ("customer", "chat", "phone")
    published = not draft

    new_status = conversation["status"]
    if status in ("active", "pending", "closed", "spam"):
        new_status = status
    elif status == "open":
        new_status = "active"
    elif kind == "message" and published:
        new_status = "active"  # a reply reactivates the conversation unless told otherwise
    elif customer_side and not imported:
        new_status = "active"  # a customer writing in re-opens it
    new_assignee = assign_to if (assign_to is not None and published) else conversation["assignee_id"]

    watch = outbox.watch_conversation(conn, conversation_id)
    thread_id = write_thread(
        conn,
        conversation,
        NewThread(
            type=kind,
            body=text,
            created_by_type="customer" if customer_side else "user",
            created_by_id=customer_id if customer_side else acting_user["id"],
            customer_id=customer_id,
            created_at=when,
            state="draft" if draft else "published",
            status=new_status if new_status != conversation["status"] else "nochange",
            assigned_to_id=new_assignee,
            saved_reply_id=saved_reply_id,
            to=tuple(to or ()),
            cc=tuple(cc or ()),
            bcc=tuple(bcc or ()),
            imported=imported,
            attachments=tuple(attachments or ()),
        ),
    )
    changes: dict[str, Any] = {}
    if new_status != conversation["status"]:
        changes.update(_status_columns(new_status, acting_user["id"], when))
    if new_assignee != conversation["assignee_id"]:
        changes["assignee_id"] = new_assignee
        add_line_item(
            conn,
            conversation,
            action_type="changed-ticket-assignee",
            text=f"{_user_name(conn, acting_user['id'])} assigned to {_user_name(conn, new_assignee)}",
            user_id=acting_user["id"],
            now=when,
            assigned_to_id=new_assignee,
        )
    if changes:
        repository.update_conversation(conn, conversation_id, changes)
    refresh_derived(conn, conversation_id, modified_at=when, user_acted_at=None if customer_side else when)
    if watch is not None and published:
        watch.add(_THREAD_EVENTS[kind])
    outbox.conversation_changed(conn, watch)
    return thread_id


def _check_saved_reply(conn: Connection, saved_reply_id: int, mailbox_id: int) -> None:
    if not repository.saved_reply_in_mailbox(conn, saved_reply_id, mailbox_id):
        raise invalid_field("savedReplyId", "unknown saved reply for this mailbox", "JSON", saved_reply_id)


def _status_columns(status: str, user_id: int, when: datetime) -> dict[str, Any]:
    if status == "closed":
        return {"status": status, "closed_at": when, "closed_by": user_id}
    return {"status": status, "closed_at": None, "closed_by": None}


# -- PATCH ----------------------------------------------------------------------------------

_PATCHABLE = {
    ("replace", "/subject"),
    ("replace", "/primaryCustomer.id"),
    ("replace", "/draft"),
    ("move", "/mailboxId"),
    ("replace", "/mailboxId"),
    ("replace", "/status"),
    ("replace", "/assignTo"),
    ("remove", "/assignTo"),
}


def _validate_op(conn: Connection, caller: Caller, op: PatchOp, where: str) -> list[FieldError]:
    if (op.op, op.path) not in _PATCHABLE:
        allowed = ", ".join(f"{o} {p}" for o, p in sorted(_PATCHABLE))
        return [
            FieldError(
                f"{where}path",
                f"unsupported operation {op.op} {op.path}; expected one of: {allowed}",
                "JSON",
                op.path,
            )
        ]
    value = op.value
    path = f"{where}value"
    if op.path == "/subject":
        if not isinstance(value, str) or not value.strip() or len(value) > 998:
            return [FieldError(path, "expected a non-empty subject of at most 998 characters", "JSON", value)]
    elif op.path == "/status":
        if value not in ("active", "pending", "closed", "spam"):
            return [
                FieldError(
                    path,
                    "Expected one of these: 'active', 'pending', 'closed', 'spam'",
                    "JSON",
                    value,
                    "EnumValue",
                )
            ]
    elif op.path == "/draft":
        if value is not False:
            return [FieldError(path, "only false (publish the draft) is supported", "JSON", value)]
    elif op.path in ("/primaryCustomer.id", "/mailboxId") or (op.path == "/assignTo" and op.op == "replace"):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_ID:
            return [FieldError(path, "expected a positive integer id", "JSON", value, "InvalidIdentifier")]
        if op.path == "/primaryCustomer.id" and not customers_repository.exists(conn, value):
            return [FieldError(path, "unknown customer id", "JSON", value, "InvalidIdentifier")]
        if op.path == "/assignTo" and users_repository.get(conn, value) is None:
            return [FieldError(path, "unknown user id", "JSON", value, "InvalidIdentifier")]
        if op.path == "/mailboxId" and (
            not caller.can_see(value) or mailboxes_repository.get(conn, value) is None
        ):
            return [FieldError(path, "unknown mailbox id", "JSON", value, "InvalidIdentifier")]
    return []


def patch_conversation(
    conn: Connection, caller: Caller, conversation_id: int, ops: list[PatchOp], single: bool
) -> None:
    conversation = visible_conversation(conn, caller, conversation_id, lock=True)
    errors: list[FieldError] = []
    for index, op in enumerate(ops):
        errors += _validate_op(conn, caller, op, "" if single else f"[{index}].")
    if errors:
        raise invalid(*errors)
    now = timefmt.now()
    user_id = caller.user_id
    watch = outbox.watch_conversation(conn, conversation_id)
    for op in ops:
        conversation = repository.get(conn, conversation_id) or conversation
        _apply_op(conn, conversation, op, user_id, now)
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
    outbox.conversation_changed(conn, watch)


def _apply_op(conn: Connection, conversation: dict, op: PatchOp, user_id: int, now: datetime) -> None:
    cid = conversation["id"]
    if op.path == "/subject":
        repository.update_conversation(conn, cid, {"subject": op.value})
    elif op.path == "/draft":
        repository.update_conversation(conn, cid, {"state": "published"})
        repository.publish_drafts(conn, cid)
    elif op.path == "/primaryCustomer.id":
        customer = customers_repository.by_ids(conn, [op.value])[op.value]
        repository.update_conversation(
            conn, cid, {"customer_id": op.value, **customers_repository.sort_keys(customer)}
        )
    elif op.path == "/status":
        if op.value != conversation["status"]:
            repository.update_conversation(conn, cid, _status_columns(op.value, user_id, now))
            add_line_item(
                conn,
                conversation,
                action_type="changed-ticket-status",
                text=f"{_user_name(conn, user_id)} marked as {op.value}",
                user_id=user_id,
                now=now,
                status=op.value,
            )
    elif op.path == "/assignTo":
        new_assignee = None if op.op == "remove" else op.value
        if new_assignee != conversation["assignee_id"]:
            repository.update_conversation(conn, cid, {"assignee_id": new_assignee})
            text = (
                f"{_user_name(conn, user_id)} assigned to {_user_name(conn, new_assignee)}"
                if new_assignee
                else f"{_user_name(conn, user_id)} unassigned"
            )
            add_line_item(
                conn,
                conversation,
                action_type="changed-ticket-assignee",
                text=text,
                user_id=user_id,
                now=now,
                assigned_to_id=new_assignee,
            )
    elif op.path == "/mailboxId" and op.value != conversation["mailbox_id"]:
        old = mailboxes_repository.get(conn, conversation["mailbox_id"])
        repository.update_conversation(conn, cid, {"mailbox_id": op.value})
        repository.drop_fields_not_in_mailbox(conn, cid, op.value)
        add_line_item(
            conn,
            {**conversation, "mailbox_id": op.value},
            action_type="moved-from-mailbox",
            text=f"{_user_name(conn, user_id)} moved from {old['name'] if old else 'another mailbox'}",
            user_id=user_id,
            now=now,
        )


# -- tags, fields, snooze, delete -----------------------------------------------------------


def replace_tags(conn: Connection, caller: Caller, conversation_id: int, names: list[str]) -> None:
    visible_conversation(conn, caller, conversation_id, lock=True)
    watch = outbox.watch_conversation(conn, conversation_id)
    now = timefmt.now()
    tag_ids, made_tags = repository.ensure_tags(conn, names, now)
    repository.set_tags(conn, conversation_id, tag_ids.values(), now)
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
    outbox.tags_created(conn, made_tags)
    outbox.conversation_changed(conn, watch)


def replace_fields(
    conn: Connection, caller: Caller, conversation_id: int, values: list[FieldValueIn]
) -> None:
    conversation = visible_conversation(conn, caller, conversation_id, lock=True)
    accepted = validate_field_values(conn, conversation["mailbox_id"], values)
    watch = outbox.watch_conversation(conn, conversation_id)
    now = timefmt.now()
    repository.set_fields(conn, conversation_id, accepted)
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
    outbox.conversation_changed(conn, watch)


def snooze(
    conn: Connection, caller: Caller, conversation_id: int, until: datetime, unsnooze_on_reply: bool
) -> None:
    now = timefmt.now()
    if until <= now:
        raise invalid_field(
            "snoozedUntil", "must be in the future", "JSON", timefmt.fmt(until), "MalformedDate"
        )
    if until.year > 2100:
        raise invalid_field("snoozedUntil", "must not be after the year 2100", "JSON", timefmt.fmt(until))
    visible_conversation(conn, caller, conversation_id, lock=True)
    repository.update_conversation(
        conn,
        conversation_id,
        {
            "snoozed_until": until,
            "snoozed_by": caller.user_id,
            "unsnooze_on_customer_reply": unsnooze_on_reply,
        },
    )
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)


def unsnooze(conn: Connection, caller: Caller, conversation_id: int) -> None:
    visible_conversation(conn, caller, conversation_id, lock=True)
    now = timefmt.now()
    repository.update_conversation(
        conn, conversation_id, {"snoozed_until": None, "snoozed_by": None, "unsnooze_on_customer_reply": None}
    )
    refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)


def delete_conversation(conn: Connection, caller: Caller, conversation_id: int) -> None:
    """Deleted conversations are gone from every read; the rows stay, as in the service's trash."""
    conversation = visible_conversation(conn, caller, conversation_id, lock=True)
    repository.update_conversation(conn, conversation_id, {"state": "deleted", "modified_at": timefmt.now()})
    outbox.conversation_deleted(conn, conversation_id, conversation["mailbox_id"])


def run_manual_workflow(
    conn: Connection, caller: Caller, workflow: dict, conversation_ids: list[int], now: datetime
) -> None:
    """Record a manual workflow run on each conversation as a `manual-workflow` line item."""
    name = _user_name(conn, caller.user_id)
    for conversation_id in conversation_ids:
        conversation = visible_conversation(conn, caller, conversation_id, lock=True)
        add_line_item(
            conn,
            conversation,
            action_type="manual-workflow",
            text=f"{name} ran the {workflow['name']} workflow",
            user_id=caller.user_id,
            now=now,
            workflow_id=workflow["id"],
        )
        refresh_derived(conn, conversation_id, modified_at=now, user_acted_at=now)
