"""The JSON shapes of conversations and threads, built from rows loaded in batches.

`load_related` fetches everything a page of conversations shows (people, tags, custom fields
and, with `embed=threads`, the threads and their attachments) in one query per kind; the
tags, custom fields, users and customers as one batch (one round trip on PostgreSQL).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection
from starlette.requests import Request

from tidings.conversations import repository
from tidings.customers import repository as customers_repository
from tidings.kit import timefmt
from tidings.kit.hal import base_url, web_base_url
from tidings.kit.prepared import Together
from tidings.users import repository as users_repository
from tidings.users.schemas import person

DEFAULT_TAG_COLOR = "#A5B2BD"


@dataclass
class Related:
    users: dict[int, dict] = field(default_factory=dict)
    customers: dict[int, dict] = field(default_factory=dict)
    tags: dict[int, list[dict]] = field(default_factory=dict)
    fields: dict[int, list[dict]] = field(default_factory=dict)
    threads: dict[int, list[dict]] | None = None
    attachments: dict[int, list[dict]] = field(default_factory=dict)
    # One instant for the whole page: snoozes and "waiting since" wording agree across rows.
    now: datetime = field(default_factory=lambda: timefmt.now())  # looked up late: tests set the clock
    # When wording derived from `now` first reads differently (None: never): how long the page
    # may be sent again unchanged (kit/reuse.py).
    changes_at: datetime | None = None

    # The short forms of the people the page shows, built once each: with `embed=threads` a
    # page names the same few people in ~100 threads (1M conversations: 3.15 -> 2.75 ms a page).
    # The documents are shared between places in the page and never changed once built.
    _people: dict[tuple[str, int], dict[str, Any] | None] = field(default_factory=dict)

    def changes(self, at: datetime | None) -> None:
        if at is not None and (self.changes_at is None or at < self.changes_at):
            self.changes_at = at

    def user(self, user_id: int) -> dict[str, Any] | None:
        """The user's short form (`person`), or None for a user not on the page."""
        key = ("user", user_id)
        if key not in self._people:
            self._people[key] = person(self.users.get(user_id))
        return self._people[key]

    def customer(self, customer_id: int, *, with_type: bool = True) -> dict[str, Any] | None:
        """The customer's short form (`customer_person`), or None for one not on the page."""
        key = ("customer" if with_type else "customer-untyped", customer_id)
        if key not in self._people:
            self._people[key] = customer_person(self.customers.get(customer_id), with_type=with_type)
        return self._people[key]


def load_related(conn: Connection, rows: list[dict], *, embed_threads: bool = False) -> Related:
    ids = [r["id"] for r in rows]
    user_ids = {r["assignee_id"] for r in rows} | {r["closed_by"] for r in rows}
    user_ids |= {r["created_by_id"] for r in rows if r["created_by_type"] == "user"}
    customer_ids = {r["customer_id"] for r in rows}
    customer_ids |= {r["created_by_id"] for r in rows if r["created_by_type"] == "customer"}
    related = Related()
    thread_rows: list[dict] = []
    if embed_threads:
        thread_rows = repository.threads_for(conn, ids)
        related.threads = {}
        for t in thread_rows:
            related.threads.setdefault(t["conversation_id"], []).append(t)
        thread_users, thread_customers = thread_people(thread_rows)
        user_ids |= thread_users
        customer_ids |= thread_customers
    batch = Together(conn)
    tags = repository.tags_in(batch, ids)
    fields = repository.fields_in(batch, ids)
    users = users_repository.by_ids_in(batch, user_ids)
    customers = customers_repository.by_ids_in(batch, customer_ids)
    batch.run()
    related.tags, related.fields, related.users, related.customers = tags(), fields(), users(), customers()
    if any(r["has_attachments"] for r in rows) and thread_rows:
        related.attachments = repository.attachments_for(conn, [t["id"] for t in thread_rows])
    return related


def thread_people(threads: list[dict]) -> tuple[set[int], set[int]]:
    """Ids of the users and customers that threads show (assignee, author, customer)."""
    users = {t["assigned_to_id"] for t in threads} | {
        t["created_by_id"] for t in threads if t["created_by_type"] == "user"
    }
    customers = {t["customer_id"] for t in threads} | {
        t["created_by_id"] for t in threads if t["created_by_type"] == "customer"
    }
    return users, customers


def customer_person(customer: dict | None, *, with_type: bool = True) -> dict[str, Any] | None:
    if customer is None:
        return None
    doc: dict[str, Any] = {"id": customer["id"]}
    if with_type:
        doc["type"] = "customer"
    doc["first"] = customer["first_name"]
    doc["last"] = customer["last_name"]
    if customer.get("photo_url"):
        doc["photoUrl"] = customer["photo_url"]
    doc["email"] = customer.get("email") or ""
    return doc


def author(row: dict, related: Related) -> dict[str, Any]:
    """The person who created a conversation or thread, in its short form."""
    if row["created_by_type"] == "user":
        return related.user(row["created_by_id"]) or {"id": row["created_by_id"], "type": "user"}
    return related.customer(row["created_by_id"]) or {"id": row["created_by_id"], "type": "customer"}


def _address_list(stored: str) -> list[str]:
    """A stored JSON list of addresses (most are empty: skip the parser for those)."""
    return [] if stored == "[]" else list(orjson.loads(stored))


def conversation_out(request: Request, row: dict, related: Related) -> dict[str, Any]:
    cid = row["id"]
    now = related.now
    base = base_url(request)
    assignee = related.users.get(row["assignee_id"]) if row["assignee_id"] else None
    closer = related.users.get(row["closed_by"]) if row["closed_by"] else None
    customer = related.customers.get(row["customer_id"]) if row["customer_id"] else None
    created_by = author(row, related)
    doc: dict[str, Any] = {
        "id": cid,
        "number": row["number"],
        "threads": row["thread_count"],
        "type": row["type"],
        "folderId": row["folder_id"],
        "status": row["status"],
        "state": row["state"],
        "subject": row["subject"],
        "preview": row["preview"],
        "mailboxId": row["mailbox_id"],
    }
    if assignee:
        doc["assignee"] = related.user(assignee["id"])
    doc["createdBy"] = created_by
    doc["createdAt"] = row["created_at"]
    doc["closedBy"] = row["closed_by"] or 0
    if closer:
        doc["closedByUser"] = related.user(closer["id"])
    if row["closed_at"]:
        doc["closedAt"] = row["closed_at"]
    doc["userUpdatedAt"] = row["user_updated_at"]
    if row["customer_waiting_since"]:
        doc["customerWaitingSince"] = {
            "time": row["customer_waiting_since"],
            "friendly": timefmt.friendly(row["customer_waiting_since"], now),
            "latestReplyFrom": "customer",
        }
        related.changes(timefmt.friendly_changes_at(row["customer_waiting_since"], now))
    doc["source"] = {"type": row["source_type"], "via": row["source_via"]}
    doc["tags"] = [
        {"id": t["id"], "color": t["color"] or DEFAULT_TAG_COLOR, "tag": t["name"]}
        for t in related.tags.get(cid, [])
    ]
    doc["cc"] = _address_list(row["cc"])
    doc["bcc"] = _address_list(row["bcc"])
    if customer:
        doc["primaryCustomer"] = related.customer(customer["id"])
    if row["snoozed_until"] and row["snoozed_until"] > now:
        related.changes(row["snoozed_until"])
        doc["snooze"] = {
            "snoozedBy": row["snoozed_by"],
            "snoozedUntil": row["snoozed_until"],
            "unsnoozeOnCustomerReply": bool(row["unsnooze_on_customer_reply"]),
        }
        doc["nextEvent"] = {
            "time": row["snoozed_until"],
            "eventType": "snooze",
            "userId": row["snoozed_by"],
            "cancelOnCustomerReply": bool(row["unsnooze_on_customer_reply"]),
        }
    doc["customFields"] = related.fields.get(cid, [])
    if related.threads is not None:
        doc["_embedded"] = {
            "threads": [thread_out(request, t, related) for t in related.threads.get(cid, [])],
        }
    links: dict[str, Any] = {"self": {"href": f"{base}/v2/conversations/{cid}"}}
    links["mailbox"] = {"href": f"{base}/v2/mailboxes/{row['mailbox_id']}"}
    if customer:
        links["primaryCustomer"] = {"href": f"{base}/v2/customers/{customer['id']}"}
    if row["created_by_type"] == "user":
        links["createdByUser"] = {"href": f"{base}/v2/users/{row['created_by_id']}"}
    else:
        links["createdByCustomer"] = {"href": f"{base}/v2/customers/{row['created_by_id']}"}
    if closer:
        links["closedBy"] = {"href": f"{base}/v2/users/{closer['id']}"}
    links["threads"] = {"href": f"{base}/v2/conversations/{cid}/threads/"}
    if assignee:
        links["assignee"] = {"href": f"{base}/v2/users/{assignee['id']}"}
    links["web"] = {"href": f"{web_base_url(request)}/conversation/{cid}/{row['number']}"}
    doc["_links"] = links
    return doc


def thread_out(request: Request, thread: dict, related: Related) -> dict[str, Any]:
    tid = thread["id"]
    cid = thread["conversation_id"]
    action: dict[str, Any] = {"type": thread["action_type"]}
    if thread["type"] == "lineitem":
        action["text"] = thread["action_text"] or ""
        action["associatedEntities"] = {"workflow": thread["workflow_id"]} if thread["workflow_id"] else {}
    customer = related.customers.get(thread["customer_id"]) if thread["customer_id"] else None
    created_by = author(thread, related)
    state = thread["state"]
    doc: dict[str, Any] = {
        "id": tid,
        "type": thread["type"],
        "status": thread["status"],
        "state": state,
        "action": action,
    }
    if thread["type"] != "lineitem":
        doc["body"] = thread["body"] or ""
    doc["source"] = {"type": thread["source_type"], "via": thread["source_via"]}
    if customer:
        doc["customer"] = related.customer(customer["id"], with_type=False)
    doc["createdBy"] = created_by
    assigned = related.users.get(thread["assigned_to_id"]) if thread["assigned_to_id"] else None
    if assigned:
        doc["assignedTo"] = related.user(assigned["id"])
    if thread["type"] in ("message", "customer"):
        doc["savedReplyId"] = thread["saved_reply_id"] or 0
    doc["to"] = _address_list(thread["to_list"])
    doc["cc"] = _address_list(thread["cc_list"])
    doc["bcc"] = _address_list(thread["bcc_list"])
    doc["createdAt"] = thread["created_at"]
    if thread["opened_at"]:
        doc["openedAt"] = thread["opened_at"]
    if thread["scheduled_for"]:
        doc["scheduled"] = {
            "scheduledBy": thread["scheduled_by"],
            "sendAsId": thread["scheduled_by"],
            "createdAt": thread["scheduled_at"],
            "scheduledFor": thread["scheduled_for"],
            "unscheduleOnCustomerReply": bool(thread["unschedule_on_customer_reply"]),
        }
    base = base_url(request)
    web = web_base_url(request)
    doc["_embedded"] = {
        "attachments": [
            {
                "id": a["id"],
                "filename": a["filename"],
                "mimeType": a["mime_type"],
                "width": a["width"],
                "height": a["height"],
                "size": a["size"],
                "_links": {
                    "data": {"href": f"{base}/v2/conversations/{cid}/attachments/{a['id']}/data"},
                    "self": {"href": f"{base}/v2/conversations/{cid}/attachments/{a['id']}"},
                    "web": {"href": f"{web}/file/{a['id']}/{a['filename']}"},
                },
            }
            for a in related.attachments.get(tid, [])
        ]
    }
    links: dict[str, Any] = {}
    if assigned:
        links["assignedTo"] = {"href": f"{base}/v2/users/{assigned['id']}"}
    if thread["created_by_type"] == "user":
        links["createdByUser"] = {"href": f"{base}/v2/users/{thread['created_by_id']}"}
    else:
        links["createdByCustomer"] = {"href": f"{base}/v2/customers/{thread['created_by_id']}"}
    if customer:
        links["customer"] = {"href": f"{base}/v2/customers/{customer['id']}"}
    doc["_links"] = links
    return doc
