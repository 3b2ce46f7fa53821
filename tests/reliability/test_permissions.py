"""The permission matrix: a `user` without access to a mailbox finds nothing of it anywhere,
gets 404 (403 on admin endpoints) from every operation that names it, and changes nothing."""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from fastapi.routing import APIRoute

from tests.openapi.test_document import EXAMPLE_REQUESTS, _api_routes
from tests.support.api import Api

ADMIN_ONLY = {("POST", "/v2/mailboxes/{mailbox_id}/fields"), ("PATCH", "/v2/workflows/{workflow_id}")}
SCOPED_PARAMS = {"mailbox_id", "conversation_id", "workflow_id"}


@pytest.fixture
def world(api: Api) -> dict[str, Any]:
    hidden, visible = api.mailbox("Hidden"), api.mailbox("Visible")
    field = api.created_id(api.post(f"/v2/mailboxes/{hidden}/fields", {"name": "Secret", "type": "number"}))
    reply = api.created_id(
        api.post(f"/v2/mailboxes/{hidden}/saved-replies", {"name": "R", "text": "secret reply"})
    )
    workflow = api.created_id(api.post("/v2/workflows", {"mailboxId": hidden, "name": "W", "type": "manual"}))
    data = base64.b64encode(b"secret file").decode()
    cid = api.conversation(
        hidden,
        subject="hidden secret",
        tags=["hiddentag"],
        fields=[{"id": field, "value": "7"}],
        customer={"email": "only-hidden@example.com"},
        threads=[
            {
                "type": "customer",
                "text": "secret body",
                "customer": {"email": "only-hidden@example.com"},
                "attachments": [{"fileName": "s.txt", "mimeType": "text/plain", "data": data}],
            }
        ],
    )
    api.post(f"/v2/conversations/{cid}/reply", {"text": "secret answer", "savedReplyId": reply})
    api.post(f"/v2/workflows/{workflow}/run", {"conversationIds": [cid]})
    thread = api.get(f"/v2/conversations/{cid}/threads").json()["_embedded"]["threads"][-1]
    attachment = thread["_embedded"]["attachments"][0]["id"]
    seen = api.conversation(visible, subject="visible one")
    agent = api.as_user(api.user("user", [visible]))
    before = api.get(f"/v2/conversations/{cid}", params={"embed": "threads"}).json()
    return {
        "api": api,
        "agent": agent,
        "hidden": hidden,
        "visible": visible,
        "cid": cid,
        "seen": seen,
        "thread": thread["id"],
        "attachment": attachment,
        "reply": reply,
        "workflow": workflow,
        "field": field,
        "before": before,
    }


def _fill(path: str, w: dict[str, Any]) -> str:
    ids = {
        "mailbox_id": w["hidden"],
        "conversation_id": w["cid"],
        "thread_id": w["thread"],
        "attachment_id": w["attachment"],
        "reply_id": w["reply"],
        "workflow_id": w["workflow"],
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(ids[m.group(1)]), path)


def test_every_operation_on_a_hidden_mailbox_is_404(app, world: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    bodies = {(p, m.upper()): b for p, m, b in EXAMPLE_REQUESTS}
    customer_thread = bodies[("/v2/conversations/{conversation_id}/customer", "POST")]
    for kind in ("phones", "chats"):
        bodies[(f"/v2/conversations/{{conversation_id}}/{kind}", "POST")] = customer_thread
    bodies[("/v2/mailboxes/{mailbox_id}/saved-replies/{reply_id}", "PUT")] = {"name": "x", "text": "y"}
    checked = 0
    for route in _api_routes(app.routes):
        assert isinstance(route, APIRoute)
        params = set(re.findall(r"\{(\w+)\}", route.path))
        if not params & SCOPED_PARAMS:
            continue
        for method in route.methods:
            body = bodies.get((route.path, method), {})
            if route.path.endswith("/schedule") and method == "PUT":
                body = {"scheduledFor": "2099-01-01T00:00:00Z"}
            if route.path.endswith("/schedule") and method == "PATCH":
                body = {"op": "replace", "path": "/state", "value": "published"}
            if route.path == "/v2/workflows/{workflow_id}/run":
                body = {"conversationIds": [world["seen"]]}
            response = world["agent"].client.request(
                method, _fill(route.path, world), json=body or None, headers=world["agent"].headers
            )
            expected = 403 if (method, route.path) in ADMIN_ONLY else 404
            assert response.status_code == expected, (method, route.path, response.status_code, response.text)
            assert response.headers["content-type"].startswith("application/vnd.error+json")
            assert "secret" not in response.text
            checked += 1
    assert checked >= 25
    after = world["api"].get(f"/v2/conversations/{world['cid']}", params={"embed": "threads"}).json()
    assert after == world["before"], "nothing of the hidden mailbox changed"


def test_lists_searches_and_reports_show_nothing_of_it(world: dict[str, Any]) -> None:
    agent, cid = world["agent"], world["cid"]
    number = world["before"]["number"]

    def ids(params: dict[str, Any]) -> list[int]:
        body = agent.get("/v2/conversations", params={"status": "all", **params}).json()
        return [c["id"] for c in body["_embedded"]["conversations"]]

    assert ids({}) == [world["seen"]]
    for query in (
        f"id:{cid}",
        f"number:{number}",
        "secret",
        "body:secret",
        "subject:hidden",
        "tag:hiddentag",
        "email:only-hidden@example.com",
        f"mailboxid:{world['hidden']}",
        'mailbox:"Hidden"',
    ):
        assert ids({"query": query}) == [], query
    assert ids({"mailbox": world["hidden"]}) == []
    assert ids({"tag": "hiddentag"}) == []
    assert ids({"number": number}) == []
    mailboxes = [m["id"] for m in agent.get("/v2/mailboxes").json()["_embedded"]["mailboxes"]]
    assert mailboxes == [world["visible"]]
    tags = {t["name"]: t["ticketCount"] for t in agent.get("/v2/tags").json()["_embedded"]["tags"]}
    assert tags.get("hiddentag", 0) == 0
    customers = agent.get("/v2/customers", params={"email": "only-hidden@example.com"}).json()
    assert customers["_embedded"]["customers"] == []
    workflows = [w["id"] for w in agent.get("/v2/workflows").json()["_embedded"]["workflows"]]
    assert world["workflow"] not in workflows
    interval = {"start": "2000-01-01T00:00:00Z", "end": "2099-01-01T00:00:00Z"}
    overall = agent.get("/v2/reports/conversations", params=interval).json()
    assert overall["current"]["totalConversations"] == 1
    drill = agent.get("/v2/reports/conversations/drilldown", params=interval).json()
    assert [r["id"] for r in drill["conversations"]["results"]] == [world["seen"]]
    tag_id = world["before"]["tags"][0]["id"]
    for field, value in (("tagid", tag_id), ("replyid", world["reply"]), ("workflowid", world["workflow"])):
        fields = agent.get(
            "/v2/reports/conversations/fields-drilldown",
            params={**interval, "field": field, "fieldid": value},
        ).json()
        assert fields["conversations"]["count"] == 0, field
    owner_view = world["api"].get("/v2/reports/conversations", params=interval).json()
    assert owner_view["current"]["totalConversations"] == 2


def test_expired_and_revoked_tokens_are_401(world: dict[str, Any], app) -> None:  # type: ignore[no-untyped-def]
    from tidings.db.tables import tokens

    agent = world["agent"]
    assert agent.get("/v2/users/me").status_code == 200
    with app.state.db.engine.begin() as conn:
        conn.execute(tokens.update().values(revoked=True))
    assert agent.get("/v2/users/me").status_code == 401
    with app.state.db.engine.begin() as conn:
        conn.execute(tokens.update().values(revoked=False, expires_at=1))
    assert agent.get("/v2/users/me").status_code == 401
