"""Report history built through the public API only, and small helpers for the report tests.

`january_history` is the shared fixture data of the overall and fields-drilldown tests: its
expected numbers are written out by hand in those tests, conversation by conversation.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any, TypedDict

from tests.support.api import Api

REPORTS = "/v2/reports/conversations"
JAN = {"start": "2015-01-01T00:00:00Z", "end": "2015-01-31T23:59:59Z"}
DEC = {"previousStart": "2014-12-01T00:00:00Z", "previousEnd": "2014-12-31T23:59:59Z"}
FIRST_THREAD = {"email": "customer", "chat": "chat", "phone": "phone"}


class Person(TypedDict):
    email: str
    first: str
    last: str


def report(api: Api, path: str = "", **params: Any) -> Any:
    """GET a report that must succeed; its JSON body."""
    response = api.get(f"{REPORTS}{path}", params=params)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    return response.json()


def page_of(api: Api, path: str = "/drilldown", **params: Any) -> dict[str, Any]:
    return report(api, path, **params)["conversations"]


def ids_of(api: Api, path: str = "/drilldown", **params: Any) -> list[int]:
    """The ids of a drilldown page, in the order given."""
    return [r["id"] for r in page_of(api, path, **params)["results"]]


def conversation(
    api: Api,
    mailbox: int,
    created: str,
    *,
    email: str,
    first: str = "Cust",
    last: str = "Omer",
    type: str = "email",
    tags: list[str] | None = None,
    assign: int | None = None,
    attachment: bool = False,
    customer_id: int | None = None,
) -> int:
    """An imported conversation created at `created` with one customer-side thread at that time."""
    customer: dict[str, Any] = (
        {"id": customer_id} if customer_id else {"email": email, "firstName": first, "lastName": last}
    )
    thread: dict[str, Any] = {"type": FIRST_THREAD[type], "text": f"Hello from {email}", "createdAt": created}
    if attachment:
        data = base64.b64encode(b"invoice").decode()
        thread["attachments"] = [{"fileName": "invoice.txt", "mimeType": "text/plain", "data": data}]
    body: dict[str, Any] = {
        "subject": f"About {email} at {created}",
        "type": type,
        "mailboxId": mailbox,
        "status": "active",
        "imported": True,
        "createdAt": created,
        "customer": customer,
        "threads": [thread],
        "tags": tags or [],
    }
    if assign:
        body["assignTo"] = assign
    return api.created_id(api.post("/v2/conversations", body))


def reply(api: Api, conversation_id: int, at: str, saved_reply: int | None = None, **extra: Any) -> None:
    body: dict[str, Any] = {"text": "Thanks for writing", "imported": True, "createdAt": at, **extra}
    if saved_reply is not None:
        body["savedReplyId"] = saved_reply
    api.created_id(api.post(f"/v2/conversations/{conversation_id}/reply", body))


def customer_thread(api: Api, conversation_id: int, at: str, email: str) -> None:
    body = {"text": "One more thing", "imported": True, "createdAt": at, "customer": {"email": email}}
    api.created_id(api.post(f"/v2/conversations/{conversation_id}/customer", body))


def note(api: Api, conversation_id: int, at: str) -> None:
    body = {"text": "internal", "imported": True, "createdAt": at}
    api.created_id(api.post(f"/v2/conversations/{conversation_id}/notes", body))


def mark_spam(api: Api, conversation_id: int) -> None:
    response = api.patch(
        f"/v2/conversations/{conversation_id}", {"op": "replace", "path": "/status", "value": "spam"}
    )
    assert response.status_code == 204, response.text


def delete(api: Api, conversation_id: int) -> None:
    response = api.delete(f"/v2/conversations/{conversation_id}")
    assert response.status_code == 204, response.text


def saved_reply(api: Api, mailbox: int, name: str) -> int:
    return api.created_id(api.post(f"/v2/mailboxes/{mailbox}/saved-replies", {"name": name, "text": name}))


def workflow(api: Api, mailbox: int, name: str) -> int:
    return api.created_id(api.post("/v2/workflows", {"mailboxId": mailbox, "name": name, "type": "manual"}))


def run_workflow(api: Api, workflow_id: int, conversation_ids: list[int]) -> None:
    response = api.post(f"/v2/workflows/{workflow_id}/run", {"conversationIds": conversation_ids})
    assert response.status_code == 204, response.text


def tag_ids(api: Api, conversation_id: int) -> dict[str, int]:
    """Tag name -> id, as the conversation shows them."""
    got = api.get(f"/v2/conversations/{conversation_id}").json()
    return {t["tag"]: t["id"] for t in got["tags"]}


def customer_of(api: Api, conversation_id: int) -> int:
    return int(api.get(f"/v2/conversations/{conversation_id}").json()["primaryCustomer"]["id"])


def number_of(api: Api, conversation_id: int) -> int:
    return int(api.get(f"/v2/conversations/{conversation_id}").json()["number"])


@dataclass
class January:
    """Ids of the shared history; comments in `january_history` say why each one is there."""

    mailbox: int
    mary: int
    refund: int  # saved reply "Refund policy"
    shipping: int  # saved reply "Shipping times"
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int
    g: int
    s: int
    x: int
    vip: int
    billing: int
    alice: int
    bob: int
    carol: int


def january_history(api: Api) -> January:
    """The January 2015 history (interval JAN, previous interval DEC).

    In the January bucket: A, B, E, F, G. New in January: A, E, F, G.
    In the December bucket: B, C, D.
    """
    mailbox = api.mailbox()
    mary = api.user("user", [mailbox], first="Mary", last="Jones")
    refund = saved_reply(api, mailbox, "Refund policy")
    shipping = saved_reply(api, mailbox, "Shipping times")
    alice: Person = {"email": "alice@example.com", "first": "Alice", "last": "Smith"}
    bob: Person = {"email": "bob@example.com", "first": "Bob", "last": "Brown"}
    carol: Person = {"email": "carol@example.com", "first": "Carol", "last": "White"}

    # A: new on Monday 2015-01-05 10:00, Refund reply inside January; a draft that uses
    # Shipping is not a reply sent.
    a = conversation(api, mailbox, "2015-01-05T10:00:00Z", **alice, tags=["vip", "billing"], attachment=True)
    reply(api, a, "2015-01-06T09:00:00Z", refund)
    reply(api, a, "2015-01-06T09:00:00Z", shipping, draft=True)
    # B: created in December, touched in January by a Shipping reply.
    b = conversation(api, mailbox, "2014-12-20T08:00:00Z", **bob, tags=["vip"])
    reply(api, b, "2015-01-10T12:00:00Z", shipping)
    # C: created one second before January starts, never touched again.
    c = conversation(api, mailbox, "2014-12-31T23:59:59Z", **alice, tags=["vip"])
    # D: created in December, next touched one second after January ends (with a Refund reply).
    d = conversation(api, mailbox, "2014-12-15T00:00:00Z", **carol, tags=["vip"])
    reply(api, d, "2015-02-01T00:00:00Z", refund)
    # E: a chat created on the very last second of January (Saturday 23:59:59).
    e = conversation(api, mailbox, "2015-01-31T23:59:59Z", **carol, type="chat")
    # F: a phone call on the very first second (Thursday 00:00), assigned to Mary.
    f = conversation(
        api, mailbox, "2015-01-01T00:00:00Z", **alice, type="phone", tags=["billing"], assign=mary
    )
    # G: new on Friday 2015-01-02 15:00; its Refund reply comes after January.
    g = conversation(api, mailbox, "2015-01-02T15:00:00Z", **bob)
    reply(api, g, "2015-02-05T10:00:00Z", refund)
    # S: would count, but is marked as spam.
    s = conversation(api, mailbox, "2015-01-15T10:00:00Z", **alice, tags=["vip"])
    reply(api, s, "2015-01-15T11:00:00Z", refund)
    mark_spam(api, s)
    # X: would count, but is deleted.
    x = conversation(api, mailbox, "2015-01-16T10:00:00Z", **alice, tags=["vip"])
    reply(api, x, "2015-01-16T11:00:00Z", refund)
    delete(api, x)

    tags = tag_ids(api, a)
    return January(
        mailbox=mailbox,
        mary=mary,
        refund=refund,
        shipping=shipping,
        a=a,
        b=b,
        c=c,
        d=d,
        e=e,
        f=f,
        g=g,
        s=s,
        x=x,
        vip=tags["vip"],
        billing=tags["billing"],
        alice=customer_of(api, a),
        bob=customer_of(api, b),
        carol=customer_of(api, d),
    )
