"""What each change posts: which events, to which webhooks, with which body and signature."""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

import jsonschema_rs

from tests.support.api import Api
from tests.support.receiver import Receiver
from tests.webhooks.conftest import Hooks
from tidings.webhooks.schemas import CAUSED


def _without_clock_wording(doc: dict[str, Any]) -> dict[str, Any]:
    """The "waiting since" wording follows the clock, which may tick between two reads."""
    waiting = doc.get("customerWaitingSince")
    if waiting:
        doc["customerWaitingSince"] = {k: v for k, v in waiting.items() if k != "friendly"}
    return doc


def test_a_new_conversation_is_posted_signed_in_the_api_shape(
    api: Api, hooks: Hooks, receiver: Receiver
) -> None:
    hooks.create(["convo.created"])
    cid = api.conversation(api.mailbox(), tags=["vip"])
    assert receiver.received == []  # written to the outbox; nothing is posted before the sender runs
    assert hooks.send() == 1
    [got] = receiver.received
    assert got.path == "/hooks"
    assert got.headers["content-type"] == "application/json"
    assert got.event == "convo.created"
    expected = base64.b64encode(hmac.new(b"topsecret", got.body, hashlib.sha1).digest()).decode()
    assert got.headers["x-helpscout-signature"] == expected
    shown = api.get(f"/v2/conversations/{cid}", params={"embed": "threads"}).json()
    assert _without_clock_wording(got.json()) == _without_clock_wording(shown)
    assert got.json()["tags"][0]["tag"] == "vip"
    assert got.json()["_embedded"]["threads"][0]["body"] == "Hello"
    assert hooks.send() == 0  # delivered once


def test_each_change_posts_its_event(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(sorted(CAUSED))
    mailbox, other = api.mailbox(), api.mailbox()
    field = api.created_id(api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": "Count", "type": "number"}))
    cid = api.conversation(mailbox)
    user = api.user(role="user", mailbox_ids=[mailbox, other])

    def posted(expected: list[str]) -> list[dict[str, Any]]:
        receiver.clear()
        hooks.send()
        assert sorted(receiver.events()) == sorted(expected)
        return [r.json() for r in receiver.received]

    [created, customer] = sorted(posted(["convo.created", "customer.created"]), key=lambda d: "number" in d)
    assert created["id"] == cid
    change = {"op": "replace", "path": "/status", "value": "closed"}
    assert api.patch(f"/v2/conversations/{cid}", change).status_code == 204
    [closed] = posted(["convo.status"])
    assert closed["status"] == "closed"
    assert (
        api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/assignTo", "value": user}
        ).status_code
        == 204
    )
    [assigned] = posted(["convo.assigned"])
    assert assigned["assignee"]["id"] == user
    assert api.put(f"/v2/conversations/{cid}/tags", {"tags": ["brand-new-tag"]}).status_code == 204
    bodies = posted(["tag.created", "convo.tags"])
    assert {b.get("name") for b in bodies} >= {"brand-new-tag"}
    assert api.put(f"/v2/conversations/{cid}/tags", {"tags": ["brand-new-tag"]}).status_code == 204
    posted([])  # the same tags again: nothing changed, nothing to tell
    fields = {"fields": [{"id": field, "value": 7}]}
    assert api.put(f"/v2/conversations/{cid}/fields", fields).status_code == 204
    [with_field] = posted(["convo.custom-fields"])
    assert with_field["customFields"][0]["value"] == "7"
    assert (
        api.post(
            f"/v2/conversations/{cid}/reply", {"text": "On it", "customer": {"id": customer["id"]}}
        ).status_code
        == 201
    )
    posted(["convo.agent.reply.created", "convo.status"])  # the reply re-opened it
    assert api.post(f"/v2/conversations/{cid}/notes", {"text": "Internal"}).status_code == 201
    [noted] = posted(["convo.note.created"])
    assert noted["_embedded"]["threads"][0]["type"] == "note"
    customer_thread = {"customer": {"id": customer["id"]}, "text": "Thanks"}
    assert api.post(f"/v2/conversations/{cid}/customer", customer_thread).status_code == 201
    posted(["convo.customer.reply.created"])
    move = {"op": "move", "path": "/mailboxId", "value": other}
    assert api.patch(f"/v2/conversations/{cid}", move).status_code == 204
    [moved] = posted(["convo.moved", "convo.custom-fields"])[:1]  # the field belonged to the old mailbox
    assert moved["mailboxId"] == other
    snooze = {"snoozedUntil": "2099-06-03T12:00:00Z", "unsnoozeOnCustomerReply": True}
    assert api.put(f"/v2/conversations/{cid}/snooze", snooze).status_code == 204
    posted([])
    assert api.delete(f"/v2/conversations/{cid}").status_code == 204
    assert posted(["convo.deleted"]) == [{"id": cid}]


def test_draft_replies_post_nothing(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    cid = api.conversation(api.mailbox())
    hooks.create(["convo.agent.reply.created", "convo.status"])
    reply = {"text": "Not yet", "draft": True, "customer": {"email": "someone@example.com"}}
    assert api.post(f"/v2/conversations/{cid}/reply", reply).status_code == 201
    assert hooks.send() == 0


def test_subscriptions_choose_events_and_mailboxes(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    watched, elsewhere = api.mailbox(), api.mailbox()
    status_only = hooks.create(["convo.status"])
    one_mailbox = hooks.create(["convo.created", "convo.moved", "customer.created"], mailboxIds=[watched])
    cid = api.conversation(elsewhere)
    assert (
        api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/status", "value": "pending"}
        ).status_code
        == 204
    )
    assert [d["event"] for d in hooks.deliveries(status_only)] == ["convo.status"]
    # customer events belong to no mailbox: every webhook asking for them hears them
    assert [d["event"] for d in hooks.deliveries(one_mailbox)] == ["customer.created"]
    assert (
        api.patch(
            f"/v2/conversations/{cid}", {"op": "move", "path": "/mailboxId", "value": watched}
        ).status_code
        == 204
    )
    assert [d["event"] for d in hooks.deliveries(one_mailbox)] == ["customer.created", "convo.moved"]
    someone = {"email": "someone-new@example.com"}
    api.conversation(
        watched, customer=someone, threads=[{"type": "customer", "customer": someone, "text": "Hi"}]
    )
    assert [d["event"] for d in hooks.deliveries(one_mailbox)] == [
        "customer.created",
        "convo.moved",
        "customer.created",
        "convo.created",
    ]
    hooks.send()
    assert [d["event"] for d in hooks.deliveries(status_only)] == ["convo.status"]
    assert len(receiver.received) == 5


def test_customer_events_carry_the_customer(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(["customer.created", "customer.updated"])
    body = {
        "firstName": "Vera",
        "lastName": "Lane",
        "emails": [{"type": "work", "value": "vera@example.com"}],
    }
    customer_id = api.created_id(api.post("/v2/customers", body))
    assert (
        api.patch(
            f"/v2/customers/{customer_id}", {"op": "replace", "path": "/jobTitle", "value": "CTO"}
        ).status_code
        == 204
    )
    assert (
        api.post(f"/v2/customers/{customer_id}/phones", {"type": "work", "value": "555-0100"}).status_code
        == 201
    )
    hooks.send()
    assert sorted(receiver.events()) == ["customer.created", "customer.updated", "customer.updated"]
    shown = api.get(f"/v2/customers/{customer_id}").json()
    latest = max(receiver.received, key=lambda r: len(r.json()["_embedded"]["phones"]))
    assert latest.json() == shown
    created = next(r for r in receiver.received if r.event == "customer.created").json()
    assert created["firstName"] == "Vera" and "jobTitle" not in created


def test_a_notification_webhook_gets_the_id_and_uri_only(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    hooks.create(["convo.created"], notification=True)
    cid = api.conversation(api.mailbox())
    hooks.send()
    assert receiver.received[0].json() == {"id": cid, "uri": f"http://testserver/v2/conversations/{cid}"}


def test_links_point_where_the_webhook_was_registered(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    body = {"url": receiver.url, "events": ["convo.created"], "secret": "k"}
    headers = {**api.headers, "Host": "help.example.com"}
    assert api.client.post("/v2/webhooks", json=body, headers=headers).status_code == 201
    cid = api.conversation(api.mailbox())
    hooks.send()
    doc = receiver.received[0].json()
    assert doc["_links"]["self"]["href"] == f"http://help.example.com/v2/conversations/{cid}"


def test_a_refused_change_leaves_no_event(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    cid = api.conversation(api.mailbox())
    webhook_id = hooks.create(["convo.status", "convo.assigned"])
    ops = [
        {"op": "replace", "path": "/status", "value": "closed"},
        {"op": "replace", "path": "/assignTo", "value": 987654},
    ]
    assert api.patch(f"/v2/conversations/{cid}", ops).status_code == 400
    assert hooks.deliveries(webhook_id) == []
    assert api.get(f"/v2/conversations/{cid}").json()["status"] == "active"


def test_a_disabled_webhook_is_told_nothing(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    webhook_id = hooks.create(["convo.created"], state="disabled")
    api.conversation(api.mailbox())
    assert hooks.deliveries(webhook_id) == []
    assert hooks.send() == 0


def test_posted_bodies_match_the_documented_events(api: Api, hooks: Hooks, receiver: Receiver) -> None:
    document = api.client.get("/openapi.json").json()
    assert sorted(document["webhooks"]) == sorted(CAUSED)
    hooks.create(sorted(CAUSED))
    hooks.create(["convo.status"], notification=True)
    mailbox = api.mailbox()
    cid = api.conversation(mailbox, tags=["documented-tag"])
    assert (
        api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/status", "value": "closed"}
        ).status_code
        == 204
    )
    assert api.delete(f"/v2/conversations/{cid}").status_code == 204
    hooks.send()
    assert set(receiver.events()) == {
        "convo.created",
        "customer.created",
        "tag.created",
        "convo.status",
        "convo.deleted",
    }
    for posted in receiver.received:
        operation = document["webhooks"][posted.event]["post"]
        schema = operation["requestBody"]["content"]["application/json"]["schema"]
        validator = jsonschema_rs.validator_for({**schema, "components": document["components"]})
        assert [str(e) for e in validator.iter_errors(posted.json())] == [], posted.event
        assert {p["name"] for p in operation["parameters"]} == {"X-HelpScout-Event", "X-HelpScout-Signature"}
