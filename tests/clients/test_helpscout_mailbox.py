"""`helpscout-mailbox` (import `helpscout_mailbox`) against a real `tidings serve`.

What the client does, from its source (helpscout_mailbox/client.py):
- credentials come from HELPSCOUT_APP_ID / HELPSCOUT_APP_SECRET; the token is a form POST to the
  module global TOKEN_URL; requests go to the module global BASE_URL + path (both read at call time);
- `params` go through requests' encoder: spaces become `+`, a literal `+` becomes `%2B`;
- `search_conversations` wraps the query in parentheses, asks for status=all, createdAt desc, and
  walks pages until `page.totalPages`;
- creates read the `Resource-ID` header; a 401 refreshes the token, a 5xx is retried with back-off.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from helpscout_mailbox import APP_ID_ENVVAR, APP_SECRET_ENVVAR, HelpScoutClient
from helpscout_mailbox import client as hm_client

from tests.clients.conftest import Seeder, TidingsServer


def _fmt(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _since() -> date:
    """A `since` for `search_conversations` that every conversation created by a test passes."""
    return datetime.now(UTC).date() - timedelta(days=1)


@pytest.fixture
def hsm(tidings: TidingsServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[HelpScoutClient]:
    """The client configured the way its README says, with BASE_URL / TOKEN_URL pointed at Tidings."""
    monkeypatch.setattr(hm_client, "BASE_URL", f"{tidings.base_url}/v2")
    monkeypatch.setattr(hm_client, "TOKEN_URL", f"{tidings.base_url}/v2/oauth2/token")
    monkeypatch.setenv(APP_ID_ENVVAR, tidings.app_id)
    monkeypatch.setenv(APP_SECRET_ENVVAR, tidings.app_secret)
    client = HelpScoutClient()
    yield client
    client._session.close()


@pytest.fixture
def sent_urls(hsm: HelpScoutClient, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The final (encoded) URL of every request the client sends during the test."""
    urls: list[str] = []
    real_request = hsm._session.request

    def recording_request(method: str, url: str, **kwargs: Any) -> requests.Response:
        response = real_request(method, url, **kwargs)
        urls.append(str(response.request.url))
        return response

    monkeypatch.setattr(hsm._session, "request", recording_request)
    return urls


def test_token_and_get_conversation(hsm: HelpScoutClient, seed: Seeder, mailbox_id: int) -> None:
    """The constructor's form token request works and the token reads a conversation."""
    assert hsm._session.headers["Authorization"].startswith("Bearer ")
    # expires_in (172800 s) minus the client's 60 s margin
    assert hsm._token_expires_at > datetime.now(UTC).timestamp() + 172800 - 120
    cid = seed.conversation(mailbox_id, "Where is my parcel?", email="parcel@example.com")

    conversation = hsm.get_conversation(cid)
    assert conversation["id"] == cid
    assert conversation["subject"] == "Where is my parcel?"
    assert conversation["mailboxId"] == mailbox_id
    assert conversation["primaryCustomer"]["email"] == "parcel@example.com"


def test_search_with_plus_email_pages_by_total_pages(
    hsm: HelpScoutClient, seed: Seeder, mailbox_id: int, sent_urls: list[str]
) -> None:
    """`email:"jane+orders@…" AND subject:order` sent as requests encodes it, over 3 pages."""
    wanted = [
        seed.conversation(mailbox_id, f"Order {i} status", email="jane+orders@example.com") for i in range(51)
    ]
    decoys = {
        seed.conversation(mailbox_id, "Order status", email="jane@example.com"),
        seed.conversation(mailbox_id, "Order status", email="orders@example.com"),
        seed.conversation(mailbox_id, "Shipping status", email="jane+orders@example.com"),
    }

    found = list(hsm.search_conversations('email:"jane+orders@example.com" AND subject:order', _since()))

    ids = [c["id"] for c in found]
    assert len(ids) == 51
    assert len(set(ids)) == 51
    assert set(ids) == set(wanted)
    assert not decoys & set(ids)
    assert ids == sorted(wanted, reverse=True)  # createdAt desc, then id desc
    assert {c["primaryCustomer"]["email"] for c in found} == {"jane+orders@example.com"}

    assert len(sent_urls) == 3, sent_urls
    for number, url in enumerate(sent_urls, start=1):
        raw_query = urlsplit(url).query
        assert "jane%2Borders%40example.com" in raw_query  # the literal `+` travels as %2B
        assert "+AND+" in raw_query  # the spaces travel as `+`
        params = parse_qs(raw_query)
        assert params["query"] == ['(email:"jane+orders@example.com" AND subject:order)']
        assert params["page"] == [str(number)]
        assert params["status"] == ["all"]


def test_search_without_matches(hsm: HelpScoutClient, seed: Seeder) -> None:
    """No match: an empty page that still carries `_embedded`, and the client yields nothing."""
    assert list(hsm.search_conversations('subject:"no such subject anywhere"', _since())) == []
    body = seed.get("/v2/conversations", query='(subject:"no such subject anywhere")', status="all")
    assert body["_embedded"] == {"conversations": []}
    assert body["page"]["totalElements"] == 0


def test_create_conversation_reply_and_note(hsm: HelpScoutClient, mailbox_id: int) -> None:
    """create_conversation / create_reply / add_note read `Resource-ID`; the threads come back."""
    cid = hsm.create_conversation(
        mailbox_id, "Welcome aboard", "new.customer@example.com", "<p>Welcome!</p>", tags=["Onboarding"]
    )
    conversation = hsm.get_conversation(cid)
    assert conversation["id"] == cid
    assert conversation["subject"] == "Welcome aboard"
    assert conversation["mailboxId"] == mailbox_id
    assert conversation["status"] == "active"
    assert conversation["state"] == "published"
    assert conversation["threads"] == 1
    assert [t["tag"] for t in conversation["tags"]] == ["onboarding"]
    assert conversation["primaryCustomer"]["email"] == "new.customer@example.com"
    customer_id = conversation["primaryCustomer"]["id"]
    first_thread = hsm.conversation_threads(cid)
    assert [(t["type"], t["body"]) for t in first_thread] == [("message", "<p>Welcome!</p>")]

    reply_id = hsm.create_reply(cid, customer_id, "<p>Here is your login link.</p>")
    note_id = hsm.add_note(cid, "Sent the login link by hand.")
    draft_id = hsm.create_reply(cid, customer_id, "<p>Draft follow-up</p>", draft=True)

    threads = hsm.conversation_threads(cid)
    by_id = {t["id"]: t for t in threads}
    assert set(by_id) == {first_thread[0]["id"], reply_id, note_id, draft_id}
    assert (by_id[reply_id]["type"], by_id[reply_id]["body"], by_id[reply_id]["state"]) == (
        "message",
        "<p>Here is your login link.</p>",
        "published",
    )
    assert (by_id[note_id]["type"], by_id[note_id]["body"]) == ("note", "Sent the login link by hand.")
    assert (by_id[draft_id]["type"], by_id[draft_id]["state"]) == ("message", "draft")
    assert [t["id"] for t in threads if t["id"] != draft_id] == [note_id, reply_id, first_thread[0]["id"]]
    assert by_id[reply_id]["customer"]["id"] == customer_id

    body = hsm.conversation_body(cid)
    for text in ("<p>Welcome!</p>", "<p>Here is your login link.</p>", "Sent the login link by hand."):
        assert text in body
    assert hsm.get_conversation(cid)["threads"] == 3  # drafts are not counted

    hsm.send_draft(cid, draft_id)  # schedule + publish now, as the client sends drafts
    sent = {t["id"]: t for t in hsm.conversation_threads(cid)}[draft_id]
    assert (sent["type"], sent["state"], sent["body"]) == ("message", "published", "<p>Draft follow-up</p>")
    assert hsm.get_conversation(cid)["threads"] == 4


def test_close_conversation(hsm: HelpScoutClient, seed: Seeder, mailbox_id: int) -> None:
    """close_conversation is a PATCH replace /status (204); the status, closer and a line item follow."""
    owner_id = seed.get("/v2/users/me")["id"]
    cid = seed.conversation(mailbox_id, "Please close me")
    keep = seed.conversation(mailbox_id, "Keep me open")

    hsm.close_conversation(cid)

    conversation = hsm.get_conversation(cid)
    assert conversation["status"] == "closed"
    assert conversation["closedBy"] == owner_id
    assert "closedAt" in conversation
    assert hsm.get_conversation(keep)["status"] == "active"
    line_items = [t for t in hsm.conversation_threads(cid) if t["type"] == "lineitem"]
    assert len(line_items) == 1
    assert line_items[0]["status"] == "closed"
    closed = seed.get("/v2/conversations", mailbox=mailbox_id, status="closed")
    assert [c["id"] for c in closed["_embedded"]["conversations"]] == [cid]


def test_snooze_conversation(hsm: HelpScoutClient, seed: Seeder, mailbox_id: int) -> None:
    """snooze_conversation is a PUT …/snooze (204); the conversation then shows `snooze` and `nextEvent`."""
    owner_id = seed.get("/v2/users/me")["id"]
    cid = seed.conversation(mailbox_id, "Remind me next week")
    until = (datetime.now(UTC) + timedelta(days=2)).replace(microsecond=0)

    hsm.snooze_conversation(cid, until, unsnooze_on_customer_reply=False)

    conversation = hsm.get_conversation(cid)
    assert conversation["snooze"] == {
        "snoozedBy": owner_id,
        "snoozedUntil": _fmt(until),
        "unsnoozeOnCustomerReply": False,
    }
    assert conversation["nextEvent"]["eventType"] == "snooze"
    assert conversation["nextEvent"]["time"] == _fmt(until)

    later = until + timedelta(days=1)
    hsm.snooze_conversation(cid, later)  # each call replaces the previous snooze
    snooze = hsm.get_conversation(cid)["snooze"]
    assert (snooze["snoozedUntil"], snooze["unsnoozeOnCustomerReply"]) == (_fmt(later), True)


def test_add_tags_keeps_existing(hsm: HelpScoutClient, seed: Seeder, mailbox_id: int) -> None:
    """add_tags reads `tags[].tag` and PUTs the merged list."""
    cid = seed.conversation(mailbox_id, "Tag merge", tags=["alpha-hm"])
    hsm.add_tags(cid, ["beta-hm", "alpha-hm"])
    assert sorted(t["tag"] for t in hsm.get_conversation(cid)["tags"]) == ["alpha-hm", "beta-hm"]


def test_edit_note_and_attachment_roundtrip(hsm: HelpScoutClient, seed: Seeder, mailbox_id: int) -> None:
    """update_thread_text (PATCH thread), upload_attachment and attachment_data (base64 both ways)."""
    cid = seed.conversation(mailbox_id, "Invoice attached")
    note_id = hsm.add_note(cid, "Original note")
    hsm.update_thread_text(cid, note_id, "Edited note")
    note = next(t for t in hsm.conversation_threads(cid) if t["id"] == note_id)
    assert note["body"] == "Edited note"

    content = b"total: 42\nthanks \xe2\x9c\x93\n"
    hsm.upload_attachment(cid, note_id, "invoice.txt", content)
    note = next(t for t in hsm.conversation_threads(cid) if t["id"] == note_id)
    attachments = note["_embedded"]["attachments"]
    assert [(a["filename"], a["mimeType"]) for a in attachments] == [("invoice.txt", "text/plain")]
    assert hsm.attachment_data(cid, attachments[0]["id"]) == content
