"""Events into the outbox, inside the transaction of the change that causes them.

The services call in here as they change conversations, customers and tags. Nothing is done
unless an enabled webhook asks for the event (one read of a table of a handful of rows); then the
body is built as the API would show the resource at that moment, with links to where the
webhook's registrant reached this server, and a pending delivery is written per webhook. The
sender (`webhooks/sender.py`) posts them after the commit: a change that rolls back leaves no
event, and a crash after the commit loses none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection
from starlette.requests import Request

from tidings.conversations import repository as conversations_repository
from tidings.conversations.presenter import conversation_out, load_related
from tidings.customers import repository as customers_repository
from tidings.customers.schemas import customer_out
from tidings.kit import timefmt
from tidings.kit.hal import json_bytes, request_for_links
from tidings.tags import repository as tags_repository
from tidings.tags.schemas import tag_out
from tidings.webhooks import repository

Render = Callable[[Request], dict[str, Any]]

# What a conversation change is told as, from the facts it changed.
_CHANGE_EVENTS = (
    ("status", "convo.status"),
    ("assignee_id", "convo.assigned"),
    ("mailbox_id", "convo.moved"),
    ("tags", "convo.tags"),
    ("fields", "convo.custom-fields"),
)


@dataclass
class ConversationWatch:
    """A conversation as it was before a change, to tell after it which events the change made."""

    conversation_id: int
    hooks: list[dict[str, Any]]
    before: dict[str, Any] | None
    happened: list[str] = field(default_factory=list)

    def add(self, event: str) -> None:
        """An event the change itself is (a thread written), beside those its effects tell."""
        self.happened.append(event)


def watch_conversation(conn: Connection, conversation_id: int) -> ConversationWatch | None:
    """None when no enabled webhook exists: the change then costs one small read more."""
    hooks = repository.enabled(conn)
    if not hooks:
        return None
    return ConversationWatch(conversation_id, hooks, repository.conversation_facts(conn, conversation_id))


def conversation_changed(conn: Connection, watch: ConversationWatch | None) -> None:
    """Record the events of a change to a watched conversation (a new one: `convo.created`)."""
    if watch is None:
        return
    after = repository.conversation_facts(conn, watch.conversation_id)
    if after is None or after["state"] != "published":
        return  # deleted, or a draft: nobody's news
    before = watch.before
    events = list(watch.happened)
    if before is None or (before["state"] == "draft" and after["state"] == "published"):
        events.insert(0, "convo.created")
    else:
        events += [event for key, event in _CHANGE_EVENTS if before[key] != after[key]]
    mailboxes = {after["mailbox_id"]} | ({before["mailbox_id"]} if before else set())
    cid = watch.conversation_id

    def body(request: Request) -> dict[str, Any]:
        row = conversations_repository.get(conn, cid)
        assert row is not None
        return conversation_out(request, row, load_related(conn, [row], embed_threads=True))

    bodies: dict[tuple[str, str, bool], str] = {}  # one change's events share its bodies
    for event in dict.fromkeys(events):
        _record(conn, watch.hooks, event, mailboxes, body, f"/v2/conversations/{cid}", cid, bodies)


def conversation_created(conn: Connection, conversation_id: int) -> None:
    hooks = repository.enabled(conn)
    if hooks:
        conversation_changed(conn, ConversationWatch(conversation_id, hooks, None))


def conversation_deleted(conn: Connection, conversation_id: int, mailbox_id: int) -> None:
    hooks = repository.enabled(conn)
    if hooks:
        _record(
            conn,
            hooks,
            "convo.deleted",
            {mailbox_id},
            lambda _: {"id": conversation_id},
            f"/v2/conversations/{conversation_id}",
            conversation_id,
        )


def customer_event(conn: Connection, event: str, customer_id: int) -> None:
    """`customer.created` / `customer.updated`: every webhook asking, whatever its mailboxes."""
    hooks = repository.enabled(conn)
    if not hooks:
        return

    def body(request: Request) -> dict[str, Any]:
        customer = customers_repository.get(conn, customer_id)
        assert customer is not None
        emails = customers_repository.emails_of(conn, [customer_id])[customer_id]
        phones = customers_repository.phones_of(conn, [customer_id])[customer_id]
        return customer_out(request, customer, emails, phones)

    _record(conn, hooks, event, None, body, f"/v2/customers/{customer_id}", customer_id)


def tags_created(conn: Connection, tag_ids: Iterable[int]) -> None:
    wanted = list(tag_ids)
    hooks = repository.enabled(conn) if wanted else []
    for tag_id in wanted:

        def body(request: Request, tag_id: int = tag_id) -> dict[str, Any]:
            tag = tags_repository.get(conn, tag_id)
            assert tag is not None
            return tag_out(request, tag, tags_repository.ticket_counts(conn, [tag_id], None).get(tag_id, 0))

        _record(conn, hooks, "tag.created", None, body, f"/v2/tags/{tag_id}", tag_id)


def _record(
    conn: Connection,
    hooks: list[dict[str, Any]],
    event: str,
    mailboxes: set[int] | None,
    render: Render,
    path: str,
    resource_id: int,
    bodies: dict[tuple[str, str, bool], str] | None = None,
) -> None:
    """One pending delivery per webhook that asks for `event` (and, for conversation events, one
    of `mailboxes`); each body built once per place its links point to (and per change, given
    the change's `bodies`)."""
    bodies = {} if bodies is None else bodies
    rows = []
    for hook in hooks:
        if event not in hook["events"]:
            continue
        only = hook["mailbox_ids"]
        if mailboxes is not None and only is not None and not mailboxes & set(only):
            continue
        key = (hook["api_base_url"], hook["web_base_url"], bool(hook["notification"]))
        if key not in bodies:
            base, web, notification = key
            if notification:
                doc: dict[str, Any] = {"id": resource_id, "uri": base + path}
            else:
                doc = render(request_for_links(base, web))
            bodies[key] = json_bytes(doc).decode()
        rows.append({"webhook_id": hook["id"], "event": event, "body": bodies[key]})
    repository.add_deliveries(conn, rows, timefmt.now())
