"""`python-helpscout` (import `helpscout`) against a real `tidings serve`, base URL changed only.

What the client does, from its source (helpscout/client.py):
- the token is a form POST to `{base_url}oauth2/token`; a 401 re-authenticates and retries;
- `params` dicts are joined as `k=v` WITHOUT encoding (requests only re-quotes what is illegal,
  so `"` and spaces are encoded but a `+` stays a `+`); a string is sent as given;
- a list is read from `_embedded` only when both `_embedded` and `page` are present (otherwise the
  whole body becomes one object), then `_links.next.href` is followed verbatim until absent;
- 201/204 answers yield `None` (the client never reads `Resource-ID`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import requests
from helpscout import HelpScout

from tests.clients.conftest import Seeder, TidingsServer
from tests.support.receiver import receiving


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def hs(tidings: TidingsServer) -> HelpScout:
    """The client as its constructor documents it, with only the base URL changed."""
    return HelpScout(
        tidings.app_id,
        tidings.app_secret,
        base_url=f"{tidings.base_url}/v2/",
        sleep_on_rate_limit_exceeded=False,
    )


@pytest.fixture
def recorded_gets(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The URL of every `requests.get` the client makes during the test."""
    urls: list[str] = []
    real_get: Callable[..., requests.Response] = requests.get

    def recording_get(url: str, *args: Any, **kwargs: Any) -> requests.Response:
        urls.append(url)
        return real_get(url, *args, **kwargs)

    monkeypatch.setattr(requests, "get", recording_get)
    return urls


# -- authentication ------------------------------------------------------------------------------


def test_token_form_request_and_reauthentication(hs: HelpScout, tidings: TidingsServer) -> None:
    """The client's form-encoded token request works; a rejected token makes it re-authenticate."""
    hs._authenticate()
    assert isinstance(hs.access_token, str)
    assert hs.access_token
    me = hs.users.me.get()
    assert [user.email for user in me] == [tidings.owner_email]
    assert me[0].role == "owner"

    first_token = hs.access_token
    hs.access_token = "not-a-token"  # the server answers 401; the client fetches a new token and retries
    again = hs.users.me.get()
    assert [user.id for user in again] == [me[0].id]
    assert hs.access_token not in ("not-a-token", first_token)  # a fresh token was issued


@pytest.mark.parametrize("style", ["form", "json", "json-charset", "query-string"])
def test_token_request_styles(tidings: TidingsServer, style: str) -> None:
    """Form (both libraries here), JSON (the PHP SDK, with `;charset=UTF-8`) and query-string bodies."""
    creds = {
        "grant_type": "client_credentials",
        "client_id": tidings.app_id,
        "client_secret": tidings.app_secret,
    }
    url = f"{tidings.base_url}/v2/oauth2/token"
    if style == "form":
        response = httpx.post(url, data=creds)
    elif style == "json":
        response = httpx.post(url, json=creds)
    elif style == "json-charset":
        response = httpx.post(
            url,
            content=json.dumps(creds).encode(),
            headers={"Content-Type": "application/json;charset=UTF-8"},
        )
    else:
        response = httpx.post(f"{url}?{urlencode(creds)}")
    assert response.status_code == 200, response.text
    token = response.json()
    assert token["token_type"].lower() == "bearer"
    assert token["expires_in"] == 172800
    me = httpx.get(
        f"{tidings.base_url}/v2/users/me", headers={"Authorization": f"Bearer {token['access_token']}"}
    )
    assert me.status_code == 200, me.text
    assert me.json()["email"] == tidings.owner_email


# -- listing -------------------------------------------------------------------------------------


def test_list_filters_and_query(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """mailbox/status filters and `query=` with quotes, `+` in an email and `+` as a space."""
    refund_open = seed.conversation(
        mailbox_id, "Refund request for order 1001", email="jane+orders@example.com"
    )
    refund_closed = seed.conversation(mailbox_id, "Refund processed", status="closed")
    shipping = seed.conversation(mailbox_id, "Shipping question", email="jane@example.com")
    invoice = seed.conversation(mailbox_id, "Invoice copy", status="pending", email="orders@example.com")
    other_mailbox = seed.mailbox()
    seed.conversation(other_mailbox, "Refund elsewhere", email="jane+orders@example.com")

    active = hs.conversations.get(params={"mailbox": mailbox_id})
    assert sorted(c.id for c in active) == sorted([refund_open, shipping])
    assert {c.status for c in active} == {"active"}
    assert {c.mailboxId for c in active} == {mailbox_id}

    closed = hs.conversations.get(params={"mailbox": mailbox_id, "status": "closed"})
    assert [(c.id, c.subject, c.status) for c in closed] == [(refund_closed, "Refund processed", "closed")]

    everything = hs.conversations.get(params={"mailbox": mailbox_id, "status": "all"})
    assert sorted(c.id for c in everything) == sorted([refund_open, refund_closed, shipping, invoice])

    # Sent raw by the client: query=subject:"refund" (requests percent-encodes the quotes).
    refunds = hs.conversations.get(
        params={"mailbox": mailbox_id, "status": "all", "query": 'subject:"refund"'}
    )
    assert sorted(c.id for c in refunds) == sorted([refund_open, refund_closed])
    assert all("Refund" in c.subject for c in refunds)

    # A caller that encodes its own parameters: `+` in the address travels as %2B, spaces as `+`.
    encoded = urlencode(
        {
            "mailbox": mailbox_id,
            "status": "all",
            "query": 'email:"jane+orders@example.com" OR subject:invoice',
        }
    )
    assert "%2B" in encoded
    assert "+OR+" in encoded
    by_email = hs.conversations.get(params=encoded)
    assert sorted(c.id for c in by_email) == sorted([refund_open, invoice])
    emails = {c.id: c.primaryCustomer["email"] for c in by_email}
    assert emails == {refund_open: "jane+orders@example.com", invoice: "orders@example.com"}


def test_paging_follows_absolute_next_links(
    hs: HelpScout, seed: Seeder, mailbox_id: int, tidings: TidingsServer, recorded_gets: list[str]
) -> None:
    """60 conversations = 3 pages: the client follows `_links.next` verbatim and sees each id once."""
    created = [seed.conversation(mailbox_id, f"Bulk item {i:02d}", text=f"Bulk body {i}") for i in range(60)]
    decoy_mailbox = seed.mailbox()
    decoys = {seed.conversation(decoy_mailbox, f"Bulk item {i:02d} decoy") for i in range(3)}

    params = {
        "mailbox": mailbox_id,
        "status": "all",
        "sortField": "subject",
        "sortOrder": "asc",
        "query": 'subject:"bulk item"',
    }
    found = hs.conversations.get(params=params)

    ids = [c.id for c in found]
    assert len(ids) == 60
    assert len(set(ids)) == 60
    assert set(ids) == set(created)
    assert not decoys & set(ids)
    assert [c.subject for c in found] == [f"Bulk item {i:02d}" for i in range(60)]

    # The first request plus the two `next` links, each absolute and keeping every parameter.
    assert len(recorded_gets) == 3, recorded_gets
    for number, url in enumerate(recorded_gets[1:], start=2):
        assert url.startswith(f"{tidings.base_url}/v2/conversations?"), url
        assert " " not in url
        assert '"' not in url
        query = parse_qs(urlsplit(url).query)
        assert query == {
            "mailbox": [str(mailbox_id)],
            "status": ["all"],
            "sortField": ["subject"],
            "sortOrder": ["asc"],
            "query": ['subject:"bulk item"'],
            "page": [str(number)],
        }

    last = seed.get("/v2/conversations", **params, page=3)
    assert last["page"] == {"size": 25, "totalElements": 60, "totalPages": 3, "number": 3}
    assert len(last["_embedded"]["conversations"]) == 10
    assert "next" not in last["_links"]
    assert parse_qs(urlsplit(last["_links"]["previous"]["href"]).query)["page"] == ["2"]
    assert last["_links"]["page"]["templated"] is True


def test_empty_list_keeps_embedded(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """An empty result still has `_embedded`, so the client returns [] (not the envelope as one object)."""
    assert hs.conversations.get(params={"mailbox": mailbox_id}) == []
    assert hs.conversations.get(params={"mailbox": mailbox_id, "query": 'subject:"nothing here"'}) == []

    body = seed.get("/v2/conversations", mailbox=mailbox_id)
    assert body["_embedded"] == {"conversations": []}
    assert body["page"]["totalElements"] == 0
    assert body["page"]["totalPages"] == 0
    assert "next" not in body["_links"]


def test_other_lists_embed_under_the_endpoint_name(
    hs: HelpScout, seed: Seeder, mailbox_id: int, tidings: TidingsServer
) -> None:
    """The client reads `_embedded[<last path word>]`: mailboxes, folders, users, tags."""
    seed.conversation(mailbox_id, "Folder counts", tags=["listed-tag"])
    mailboxes = hs.mailboxes.get()
    assert mailbox_id in {m.id for m in mailboxes}
    mailbox = hs.mailboxes.get(resource_id=mailbox_id)
    assert mailbox.id == mailbox_id
    assert mailbox.name.startswith("Clients ")

    folders = {f.type: f for f in hs.mailboxes[mailbox_id].folders.get()}
    assert {"unassigned", "assigned", "drafts", "closed", "spam"} <= set(folders)
    assert folders["unassigned"].activeCount == 1

    assert tidings.owner_email in {u.email for u in hs.users.get()}
    assert "listed-tag" in {t.name for t in hs.tags.get()}


# -- one conversation ----------------------------------------------------------------------------


def test_get_conversation_with_embedded_threads(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """GET conversations/{id}?embed=threads and GET conversations/{id}/threads through the client."""
    cid = seed.conversation(mailbox_id, "Broken widget", text="My widget is broken")
    customer_id = seed.get(f"/v2/conversations/{cid}")["primaryCustomer"]["id"]
    reply = seed.http.post(
        f"/v2/conversations/{cid}/reply", json={"customer": {"id": customer_id}, "text": "We are on it"}
    )
    reply_id = seed.created_id(reply)

    conversation = hs.conversations.get(resource_id=cid, params={"embed": "threads"})
    assert conversation.id == cid
    assert conversation.subject == "Broken widget"
    assert conversation.mailboxId == mailbox_id
    assert conversation.status == "active"
    assert conversation.threads == 2
    threads = conversation._embedded["threads"]
    assert [(t["type"], t["body"]) for t in threads] == [
        ("message", "We are on it"),
        ("customer", "My widget is broken"),
    ]
    assert threads[0]["id"] == reply_id

    listed = hs.conversations[cid].threads.get()
    assert [(t.id, t.type, t.body) for t in listed] == [(t["id"], t["type"], t["body"]) for t in threads]


def test_create_conversation_and_add_note(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """POST conversations and POST conversations/{id}/notes through the client (both answer 201)."""
    body = {
        "subject": "Created through python-helpscout",
        "type": "email",
        "mailboxId": mailbox_id,
        "status": "pending",
        "customer": {"email": "py.client@example.com", "firstName": "Py", "lastName": "Client"},
        "threads": [
            {"type": "customer", "customer": {"email": "py.client@example.com"}, "text": "Please help me"}
        ],
        "tags": ["python-client"],
    }
    assert hs.conversations.post(data=body) is None

    created = hs.conversations.get(params={"mailbox": mailbox_id, "status": "all"})
    assert len(created) == 1
    conversation = created[0]
    assert conversation.subject == "Created through python-helpscout"
    assert conversation.status == "pending"
    assert conversation.primaryCustomer["email"] == "py.client@example.com"
    assert [t["tag"] for t in conversation.tags] == ["python-client"]

    assert hs.conversations[conversation.id].notes.post(data={"text": "Refund approved by phone."}) is None
    threads = hs.conversations[conversation.id].threads.get()
    assert [(t.type, t.body) for t in threads] == [
        ("note", "Refund approved by phone."),
        ("customer", "Please help me"),
    ]
    assert hs.conversations.get(resource_id=conversation.id).threads == 2


def test_replace_tags(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """PUT conversations/{id}/tags replaces the whole list; names are stored lower-case."""
    cid = seed.conversation(mailbox_id, "Tag me", tags=["legacy-tag"])
    other = seed.conversation(mailbox_id, "Leave my tags", tags=["legacy-tag"])

    assert hs.conversations[cid].tags.put(data={"tags": ["VIP", "Refund-Asked"]}) is None
    conversation = hs.conversations.get(resource_id=cid)
    assert sorted(t["tag"] for t in conversation.tags) == ["refund-asked", "vip"]
    assert [t["tag"] for t in hs.conversations.get(resource_id=other).tags] == ["legacy-tag"]

    tagged = hs.conversations.get(params={"mailbox": mailbox_id, "tag": "VIP"})
    assert [c.id for c in tagged] == [cid]
    legacy = hs.conversations.get(params={"mailbox": mailbox_id, "tag": "legacy-tag"})
    assert [c.id for c in legacy] == [other]

    assert hs.conversations[cid].tags.put(data={"tags": []}) is None
    assert hs.conversations.get(resource_id=cid).tags == []


# -- reports -------------------------------------------------------------------------------------


def test_fields_drilldown_through_hit(hs: HelpScout, seed: Seeder, mailbox_id: int) -> None:
    """GET reports/conversations/fields-drilldown through the generic `hit` (plain JSON, no `_embedded`)."""
    tag = "drill-python-client"
    tagged = [
        seed.conversation(mailbox_id, f"Drill {i}", email=f"drill{i}@example.com", tags=[tag])
        for i in range(3)
    ]
    seed.conversation(mailbox_id, "Not tagged")
    tag_id = seed.tag_id(tag)
    now = datetime.now(UTC)
    params: dict[str, Any] = {
        "start": _fmt(now - timedelta(days=1)),
        "end": _fmt(now + timedelta(hours=1)),
        "field": "tagid",
        "fieldid": tag_id,
        "mailboxes": mailbox_id,
        "rows": 2,
    }

    first = hs.hit("reports/conversations/fields-drilldown", "get", params={**params, "page": 1})
    assert len(first) == 1
    report = first[0]["conversations"]
    assert (report["count"], report["pages"], report["page"]) == (3, 2, 1)
    second = hs.hit("reports/conversations/fields-drilldown", "get", params={**params, "page": 2})
    report2 = second[0]["conversations"]
    assert (report2["count"], report2["pages"], report2["page"]) == (3, 2, 2)

    rows = report["results"] + report2["results"]
    assert [r["id"] for r in rows] == sorted(tagged, reverse=True)  # modifiedAt desc, then id desc
    newest = rows[0]
    assert newest["subject"] == "Drill 2"
    assert newest["mailboxid"] == mailbox_id
    assert newest["status"] == "active"
    assert newest["type"] == "email"
    assert newest["threadCount"] == 1
    assert newest["customerEmail"] == "drill2@example.com"
    assert newest["attachments"] is False
    assert newest["assignedid"] is None
    assert newest["tags"] == [{"id": tag_id, "name": tag, "color": "none"}]


# -- webhooks ------------------------------------------------------------------------------------


def test_manage_a_webhook_and_verify_what_it_posts(hs: HelpScout, mailbox_id: int) -> None:
    """CRUD through the client; then the server's own sender posts an event whose signature checks
    out the way Help Scout's documentation computes it (base64 of the HMAC-SHA1 of the raw body)."""
    secret = "mZ9XbGHodX"
    with receiving() as receiver:
        body = {"url": receiver.url, "events": ["convo.created"], "secret": secret, "label": "py"}
        assert hs.webhooks.post(data=body) is None
        [webhook] = [w for w in hs.webhooks.get() if w.url == receiver.url]
        assert (webhook.events, webhook.state, webhook.label) == (["convo.created"], "enabled", "py")
        assert hs.webhooks.get(resource_id=webhook.id).secret == secret
        changed = {**body, "events": ["convo.created", "convo.status"], "label": "py 2"}
        assert hs.webhooks.put(resource_id=webhook.id, data=changed) is None
        assert hs.webhooks.get(resource_id=webhook.id).events == ["convo.created", "convo.status"]

        conversation = {
            "subject": "Heard by a webhook",
            "type": "email",
            "mailboxId": mailbox_id,
            "status": "active",
            "customer": {"email": "hooked.client@example.com"},
            "threads": [{"type": "customer", "text": "Ping"}],
        }
        assert hs.conversations.post(data=conversation) is None
        receiver.wait_for(1, seconds=30)
        assert hs.webhooks.delete(resource_id=webhook.id) is None
    [posted] = receiver.received
    assert posted.event == "convo.created"
    digest = hmac.new(secret.encode(), posted.body, hashlib.sha1).digest()
    assert posted.headers["x-helpscout-signature"] == base64.b64encode(digest).decode()
    assert posted.json()["subject"] == "Heard by a webhook"
    assert [w for w in hs.webhooks.get() if w.url == receiver.url] == []
