"""Saved replies of a mailbox: plain-JSON list, get, create, overwrite, delete."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.asserts import errors_by_path, vnd_error


def _reply(api: Api, mailbox_id: int, **body: Any) -> int:
    payload = {"name": "Thanks", "text": "<p>Thank you!</p>", **body}
    return api.created_id(api.post(f"/v2/mailboxes/{mailbox_id}/saved-replies", payload))


class TestCreateSavedReply:
    def test_created_and_readable(self, api: Api) -> None:
        mailbox = api.mailbox()
        response = api.post(
            f"/v2/mailboxes/{mailbox}/saved-replies",
            {"name": "Refund", "text": "<b>Your refund</b> is on its way", "chatText": "Refund sent!"},
        )
        assert response.status_code == 201, response.text
        reply_id = int(response.headers["Resource-ID"])
        assert (
            response.headers["Location"]
            == f"http://testserver/v2/mailboxes/{mailbox}/saved-replies/{reply_id}"
        )
        body = api.get(f"/v2/mailboxes/{mailbox}/saved-replies/{reply_id}").json()
        assert body == {
            "id": reply_id,
            "name": "Refund",
            "text": "<b>Your refund</b> is on its way",
            "chatText": "Refund sent!",
        }

    def test_any_user_who_sees_the_mailbox_may_create(self, api: Api) -> None:
        mailbox = api.mailbox()
        member = api.as_user(api.user("user", [mailbox]))
        assert member.post(f"/v2/mailboxes/{mailbox}/saved-replies", {"name": "Mine"}).status_code == 201

    def test_every_invalid_field_is_listed(self, api: Api) -> None:
        mailbox = api.mailbox()
        errors = errors_by_path(
            api.post(f"/v2/mailboxes/{mailbox}/saved-replies", {"text": 5, "chatText": ["x"]})
        )
        assert set(errors) == {"name", "text", "chatText"}
        assert all(e["source"] == "JSON" for e in errors.values())
        assert errors["name"]["message"] == "may not be empty"
        errors = errors_by_path(api.post(f"/v2/mailboxes/{mailbox}/saved-replies", {"name": "x" * 201}))
        assert set(errors) == {"name"}

    def test_mailbox_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        member = api.as_user(api.user("user", [api.mailbox()]))
        vnd_error(member.post(f"/v2/mailboxes/{hidden}/saved-replies", {"name": "X"}), 404)
        assert api.get(f"/v2/mailboxes/{hidden}/saved-replies").json() == []

    def test_unknown_mailbox_is_404(self, api: Api) -> None:
        vnd_error(api.post("/v2/mailboxes/999999/saved-replies", {"name": "X"}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/mailboxes/1/saved-replies", json={"name": "X"}), 401)


class TestListSavedReplies:
    def test_plain_array_with_previews(self, api: Api) -> None:
        mailbox = api.mailbox()
        long_text = "<div>" + "word " * 100 + "</div>"
        thanks = _reply(api, mailbox, name="Thanks", text="<p>Thank&nbsp;you <b>so</b> much</p>")
        both = _reply(api, mailbox, name="both kinds", text="Email text", chatText="<i>Chat</i> text")
        long = _reply(api, mailbox, name="Long", text=long_text)
        _reply(api, api.mailbox(), name="Elsewhere")
        response = api.get(f"/v2/mailboxes/{mailbox}/saved-replies")
        assert response.status_code == 200
        body = response.json()
        assert isinstance(body, list)
        assert body == [
            {"id": both, "name": "both kinds", "preview": "Email text", "chatPreview": "Chat text"},
            {"id": long, "name": "Long", "preview": ("word " * 100).strip()[:255]},
            {"id": thanks, "name": "Thanks", "preview": "Thank you so much"},
        ]
        assert len(body[1]["preview"]) == 255

    def test_chat_only_replies_only_when_asked(self, api: Api) -> None:
        mailbox = api.mailbox()
        email = _reply(api, mailbox, name="Email")
        chat = _reply(api, mailbox, name="Chat only", text="", chatText="Hi there")
        default = api.get(f"/v2/mailboxes/{mailbox}/saved-replies").json()
        assert [r["id"] for r in default] == [email]
        included = api.get(
            f"/v2/mailboxes/{mailbox}/saved-replies", params={"includeChatReplies": "true"}
        ).json()
        assert [r["id"] for r in included] == [chat, email]
        assert included[0] == {"id": chat, "name": "Chat only", "preview": "", "chatPreview": "Hi there"}

    def test_empty_mailbox_is_an_empty_array(self, api: Api) -> None:
        assert api.get(f"/v2/mailboxes/{api.mailbox()}/saved-replies").json() == []

    def test_bad_flag_is_400(self, api: Api) -> None:
        mailbox = api.mailbox()
        errors = errors_by_path(
            api.get(f"/v2/mailboxes/{mailbox}/saved-replies", params={"includeChatReplies": "maybe"})
        )
        assert errors["includeChatReplies"]["source"] == "query"

    def test_mailbox_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        _reply(api, hidden)
        member = api.as_user(api.user("user", [api.mailbox()]))
        vnd_error(member.get(f"/v2/mailboxes/{hidden}/saved-replies"), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/mailboxes/1/saved-replies"), 401)


class TestGetSavedReply:
    def test_without_chat_text(self, api: Api) -> None:
        mailbox = api.mailbox()
        reply_id = _reply(api, mailbox)
        body = api.get(f"/v2/mailboxes/{mailbox}/saved-replies/{reply_id}").json()
        assert body == {"id": reply_id, "name": "Thanks", "text": "<p>Thank you!</p>", "chatText": ""}

    def test_reply_of_another_mailbox_is_404(self, api: Api) -> None:
        reply_id = _reply(api, api.mailbox())
        vnd_error(api.get(f"/v2/mailboxes/{api.mailbox()}/saved-replies/{reply_id}"), 404)

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.get(f"/v2/mailboxes/{api.mailbox()}/saved-replies/999999"), 404)

    def test_mailbox_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        reply_id = _reply(api, hidden)
        member = api.as_user(api.user("user", []))
        vnd_error(member.get(f"/v2/mailboxes/{hidden}/saved-replies/{reply_id}"), 404)

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        errors = errors_by_path(api.get(f"/v2/mailboxes/{api.mailbox()}/saved-replies/thanks"))
        assert errors["reply_id"]["source"] == "path"

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/mailboxes/1/saved-replies/1"), 401)


class TestUpdateSavedReply:
    def test_overwrites(self, api: Api) -> None:
        mailbox = api.mailbox()
        reply_id = _reply(api, mailbox, chatText="chat")
        url = f"/v2/mailboxes/{mailbox}/saved-replies/{reply_id}"
        assert api.put(url, {"name": "Renamed", "text": "New text"}).status_code == 204
        assert api.get(url).json() == {"id": reply_id, "name": "Renamed", "text": "New text", "chatText": ""}

    def test_invalid_body_is_400(self, api: Api) -> None:
        mailbox = api.mailbox()
        reply_id = _reply(api, mailbox)
        errors = errors_by_path(api.put(f"/v2/mailboxes/{mailbox}/saved-replies/{reply_id}", {"name": ""}))
        assert set(errors) == {"name"}
        assert errors["name"]["rejectedValue"] == ""

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.put(f"/v2/mailboxes/{api.mailbox()}/saved-replies/999999", {"name": "X"}), 404)

    def test_mailbox_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        reply_id = _reply(api, hidden)
        member = api.as_user(api.user("user", []))
        vnd_error(member.put(f"/v2/mailboxes/{hidden}/saved-replies/{reply_id}", {"name": "X"}), 404)
        assert api.get(f"/v2/mailboxes/{hidden}/saved-replies/{reply_id}").json()["name"] == "Thanks"

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.put("/v2/mailboxes/1/saved-replies/1", json={"name": "X"}), 401)


class TestDeleteSavedReply:
    def test_deletes(self, api: Api) -> None:
        mailbox = api.mailbox()
        reply_id = _reply(api, mailbox)
        url = f"/v2/mailboxes/{mailbox}/saved-replies/{reply_id}"
        assert api.delete(url).status_code == 204
        vnd_error(api.get(url), 404)
        vnd_error(api.delete(url), 404)
        assert api.get(f"/v2/mailboxes/{mailbox}/saved-replies").json() == []

    def test_mailbox_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        reply_id = _reply(api, hidden)
        member = api.as_user(api.user("user", []))
        vnd_error(member.delete(f"/v2/mailboxes/{hidden}/saved-replies/{reply_id}"), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.delete("/v2/mailboxes/1/saved-replies/1"), 401)
