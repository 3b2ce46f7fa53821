"""`/v2/webhooks`: create, read, list, overwrite, delete; who may; what a bad body gets."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.api import Api
from tests.support.asserts import vnd_error

BODY: dict[str, Any] = {
    "url": "https://example.com/helpscout",
    "events": ["convo.assigned", "convo.created"],
    "secret": "mZ9XbGHodX",
    "payloadVersion": "V2",
    "label": "cool webhook",
}


def _create(api: Api, **changes: Any) -> int:
    return api.created_id(api.post("/v2/webhooks", {**BODY, **changes}))


def test_create_answers_201_with_its_location_and_reads_back(api: Api) -> None:
    response = api.post("/v2/webhooks", BODY)
    assert response.status_code == 201
    webhook_id = int(response.headers["Resource-ID"])
    assert response.headers["Location"] == f"http://testserver/v2/webhooks/{webhook_id}"
    assert response.content == b""
    got = api.get(f"/v2/webhooks/{webhook_id}").json()
    assert got["id"] == webhook_id
    assert got["url"] == BODY["url"]
    assert got["state"] == "enabled"
    assert got["events"] == ["convo.assigned", "convo.created"]
    assert got["secret"] == BODY["secret"]
    assert got["payloadVersion"] == "V2"
    assert got["label"] == "cool webhook"
    assert got["notification"] is False
    assert "mailboxIds" not in got
    assert got["_links"]["self"]["href"] == f"http://testserver/v2/webhooks/{webhook_id}"


def test_list_is_a_hal_page_of_every_webhook(api: Api) -> None:
    first = _create(api)
    second = _create(api, url="http://hooks.internal:8080/in", notification=True)
    page = api.get("/v2/webhooks").json()
    assert [w["id"] for w in page["_embedded"]["webhooks"]] == [first, second]
    assert page["_embedded"]["webhooks"][1]["notification"] is True
    assert page["page"] == {"size": 50, "totalElements": 2, "totalPages": 1, "number": 1}


def test_put_overwrites_and_delete_removes(api: Api) -> None:
    mailbox = api.mailbox()
    webhook_id = _create(api)
    changed = {
        "url": "https://example.org/other",
        "events": ["customer.created"],
        "secret": "s" * 40,
        "mailboxIds": [mailbox],
    }
    assert api.put(f"/v2/webhooks/{webhook_id}", changed).status_code == 204
    got = api.get(f"/v2/webhooks/{webhook_id}").json()
    assert (got["url"], got["events"], got["secret"]) == (changed["url"], ["customer.created"], "s" * 40)
    assert got["mailboxIds"] == [mailbox]
    assert "label" not in got  # PUT overwrites: what the body leaves out is cleared
    assert api.delete(f"/v2/webhooks/{webhook_id}").status_code == 204
    vnd_error(api.get(f"/v2/webhooks/{webhook_id}"), 404)
    vnd_error(api.delete(f"/v2/webhooks/{webhook_id}"), 404)
    vnd_error(api.put(f"/v2/webhooks/{webhook_id}", BODY), 404)


def test_put_can_disable_and_enable(api: Api) -> None:
    webhook_id = _create(api)
    assert api.put(f"/v2/webhooks/{webhook_id}", {**BODY, "state": "disabled"}).status_code == 204
    assert api.get(f"/v2/webhooks/{webhook_id}").json()["state"] == "disabled"
    assert api.put(f"/v2/webhooks/{webhook_id}", BODY).status_code == 204
    assert api.get(f"/v2/webhooks/{webhook_id}").json()["state"] == "enabled"


def test_only_owners_and_admins_manage_webhooks(api: Api) -> None:
    webhook_id = _create(api)
    user = api.as_user(api.user(role="user"))
    vnd_error(user.get("/v2/webhooks"), 403)
    vnd_error(user.get(f"/v2/webhooks/{webhook_id}"), 403)
    vnd_error(user.post("/v2/webhooks", BODY), 403)
    vnd_error(user.put(f"/v2/webhooks/{webhook_id}", BODY), 403)
    vnd_error(user.delete(f"/v2/webhooks/{webhook_id}"), 403)
    admin = api.as_user(api.user(role="admin"))
    assert admin.get(f"/v2/webhooks/{webhook_id}").status_code == 200
    assert api.client.get("/v2/webhooks").status_code == 401


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ({"url": "ftp://example.com/x"}, "url"),
        ({"url": "/relative/path"}, "url"),
        ({"url": ""}, "url"),
        ({"events": []}, "events"),
        ({"events": ["convo.exploded"]}, "events[0]"),
        ({"events": "convo.created"}, "events"),
        ({"secret": "x" * 41}, "secret"),
        ({"secret": ""}, "secret"),
        ({"payloadVersion": "V9"}, "payloadVersion"),
        ({"notification": "sometimes"}, "notification"),
        ({"mailboxIds": [0]}, "mailboxIds"),
        ({"mailboxIds": "all"}, "mailboxIds"),
        ({"state": "paused"}, "state"),
        ({"label": "l" * 201}, "label"),
    ],
)
def test_a_bad_body_is_a_400_naming_the_field(api: Api, changes: dict[str, Any], path: str) -> None:
    vnd_error(api.post("/v2/webhooks", {**BODY, **changes}), 400, path)
    assert api.get("/v2/webhooks").json()["page"]["totalElements"] == 0


@pytest.mark.parametrize("missing", ["url", "events", "secret"])
def test_required_fields(api: Api, missing: str) -> None:
    body = {k: v for k, v in BODY.items() if k != missing}
    vnd_error(api.post("/v2/webhooks", body), 400, missing)


def test_unknown_mailbox_ids_are_refused_and_nothing_changes(api: Api) -> None:
    webhook_id = _create(api)
    body = vnd_error(
        api.put(f"/v2/webhooks/{webhook_id}", {**BODY, "mailboxIds": [987654]}), 400, "mailboxIds"
    )
    assert "987654" in body["_embedded"]["errors"][0]["message"]
    known = api.mailbox()
    mixed = vnd_error(api.post("/v2/webhooks", {**BODY, "mailboxIds": [known, 987655]}), 400, "mailboxIds")
    assert mixed["_embedded"]["errors"][0]["rejectedValue"] == [987655]
    assert "mailboxIds" not in api.get(f"/v2/webhooks/{webhook_id}").json()
