"""Threads: list, each kind of create, edit, attachments, and the counters kept on writes."""

from __future__ import annotations

import base64
import time

from tests.support.api import Api
from tests.support.asserts import vnd_error


def _get(api: Api, cid: int) -> dict:
    return api.get(f"/v2/conversations/{cid}").json()


def _threads(api: Api, cid: int) -> list[dict]:
    return api.get(f"/v2/conversations/{cid}/threads").json()["_embedded"]["threads"]


class TestCreateThreads:
    def test_reply_note_customer_phone_chat(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox)
        customer_id = _get(api, cid)["primaryCustomer"]["id"]
        for path, body in [
            ("reply", {"text": "a reply", "customer": {"id": customer_id}}),
            ("notes", {"text": "a note"}),
            ("customer", {"text": "customer again", "customer": {"id": customer_id}}),
            ("phones", {"text": "called", "customer": {"id": customer_id}}),
            ("chats", {"text": "chatted", "customer": {"id": customer_id}}),
        ]:
            response = api.post(f"/v2/conversations/{cid}/{path}", body)
            assert response.status_code == 201, (path, response.text)
            assert int(response.headers["Resource-ID"]) > 0
        types = [t["type"] for t in _threads(api, cid)]
        assert types == ["chat", "phone", "customer", "note", "message", "customer"]
        assert _get(api, cid)["threads"] == 6

    def test_reply_stops_waiting_and_customer_restarts_it(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        assert "customerWaitingSince" in _get(api, cid)
        time.sleep(1.05)
        api.post(f"/v2/conversations/{cid}/reply", {"text": "answer"})
        c = _get(api, cid)
        assert "customerWaitingSince" not in c
        assert c["preview"] == "answer"
        replied_at = c["userUpdatedAt"]
        time.sleep(1.05)
        customer_id = c["primaryCustomer"]["id"]
        api.post(f"/v2/conversations/{cid}/customer", {"text": "thanks", "customer": {"id": customer_id}})
        c = _get(api, cid)
        assert c["customerWaitingSince"]["time"] > replied_at
        assert c["userUpdatedAt"] == c["customerWaitingSince"]["time"]

    def test_reply_reactivates_unless_status_given(self, api: Api) -> None:
        cid = api.conversation(api.mailbox(), status="closed")
        api.post(f"/v2/conversations/{cid}/reply", {"text": "reopen"})
        assert _get(api, cid)["status"] == "active"
        api.post(f"/v2/conversations/{cid}/reply", {"text": "and close", "status": "closed"})
        assert _get(api, cid)["status"] == "closed"

    def test_reply_assigns(self, api: Api) -> None:
        agent = api.user("admin")
        cid = api.conversation(api.mailbox())
        api.post(f"/v2/conversations/{cid}/reply", {"text": "mine", "assignTo": agent})
        assert _get(api, cid)["assignee"]["id"] == agent

    def test_saved_reply_must_exist(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(
            api.post(f"/v2/conversations/{cid}/reply", {"text": "x", "savedReplyId": 4242}),
            400,
            "savedReplyId",
        )

    def test_created_at_needs_imported(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(
            api.post(f"/v2/conversations/{cid}/notes", {"text": "x", "createdAt": "2015-01-01T00:00:00Z"}),
            400,
            "createdAt",
        )
        ok = api.post(
            f"/v2/conversations/{cid}/notes",
            {"text": "x", "imported": True, "createdAt": "2015-01-01T00:00:00Z"},
        )
        assert ok.status_code == 201
        assert _threads(api, cid)[-1]["createdAt"] == "2015-01-01T00:00:00Z"

    def test_empty_text_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(api.post(f"/v2/conversations/{cid}/notes", {"text": ""}), 400, "text", source="JSON")

    def test_hundredth_thread_limit_is_412(self, api: Api) -> None:
        threads = [{"type": "note", "text": f"n{i}"} for i in range(99)]
        cid = api.conversation(
            api.mailbox(),
            threads=[{"type": "customer", "text": "c", "customer": {"email": "t@example.com"}}, *threads],
        )
        vnd_error(api.post(f"/v2/conversations/{cid}/notes", {"text": "one too many"}), 412)

    def test_missing_conversation_is_404(self, api: Api) -> None:
        vnd_error(api.post("/v2/conversations/98765/notes", {"text": "x"}), 404)


class TestListThreads:
    def test_paged_newest_first(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        for i in range(30):
            api.post(f"/v2/conversations/{cid}/notes", {"text": f"note {i}"})
        first = api.get(f"/v2/conversations/{cid}/threads").json()
        assert first["page"] == {"size": 25, "totalElements": 31, "totalPages": 2, "number": 1}
        bodies = [t["body"] for t in first["_embedded"]["threads"]]
        assert bodies[0] == "note 29"
        second = api.get(first["_links"]["next"]["href"].replace("http://testserver", "")).json()
        assert len(second["_embedded"]["threads"]) == 6
        assert second["_embedded"]["threads"][-1]["body"] == "Hello"


class TestEditThreads:
    def test_edit_text_and_hide(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        thread = _threads(api, cid)[0]
        path = f"/v2/conversations/{cid}/threads/{thread['id']}"
        assert api.patch(path, {"op": "replace", "path": "/text", "value": "edited"}).status_code == 204
        assert _threads(api, cid)[0]["body"] == "edited"
        assert api.patch(path, {"op": "replace", "path": "/hidden", "value": True}).status_code == 204
        assert _threads(api, cid)[0]["state"] == "hidden"
        assert _get(api, cid)["threads"] == 0

    def test_bad_edits(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        thread = _threads(api, cid)[0]
        path = f"/v2/conversations/{cid}/threads/{thread['id']}"
        vnd_error(api.patch(path, {"op": "replace", "path": "/body", "value": "x"}), 400, "path")
        vnd_error(api.patch(path, {"op": "replace", "path": "/hidden", "value": "yes"}), 400, "value")
        vnd_error(
            api.patch(
                f"/v2/conversations/{cid}/threads/999999", {"op": "replace", "path": "/text", "value": "x"}
            ),
            404,
        )


class TestAttachments:
    def test_upload_download_delete(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        assert _get(api, cid).get("threads") == 1
        thread = _threads(api, cid)[0]
        data = base64.b64encode(b"This is an attachment.").decode()
        response = api.post(
            f"/v2/conversations/{cid}/threads/{thread['id']}/attachments",
            {"fileName": "file.txt", "mimeType": "text/plain", "data": data},
        )
        attachment_id = api.created_id(response)
        fetched = api.get(f"/v2/conversations/{cid}/attachments/{attachment_id}/data")
        assert base64.b64decode(fetched.json()["data"]) == b"This is an attachment."
        listed = _threads(api, cid)[0]["_embedded"]["attachments"]
        assert [a["id"] for a in listed] == [attachment_id]
        assert api.delete(f"/v2/conversations/{cid}/attachments/{attachment_id}").status_code == 204
        vnd_error(api.get(f"/v2/conversations/{cid}/attachments/{attachment_id}/data"), 404)

    def test_bad_base64_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        thread = _threads(api, cid)[0]
        response = api.post(
            f"/v2/conversations/{cid}/threads/{thread['id']}/attachments",
            {"fileName": "f", "mimeType": "text/plain", "data": "***"},
        )
        vnd_error(response, 400, "data")


class TestSchedule:
    def test_schedule_then_send_now(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        draft = api.created_id(api.post(f"/v2/conversations/{cid}/reply", {"text": "later", "draft": True}))
        path = f"/v2/conversations/{cid}/threads/{draft}/schedule"
        body = {"scheduledFor": "2099-01-01T00:00:00Z", "unscheduleOnCustomerReply": True}
        assert api.put(path, body).status_code == 204
        thread = next(t for t in _threads(api, cid) if t["id"] == draft)
        assert thread["state"] == "draft"
        assert thread["scheduled"]["scheduledFor"] == "2099-01-01T00:00:00Z"
        assert thread["scheduled"]["unscheduleOnCustomerReply"] is True
        assert "customerWaitingSince" in _get(api, cid)
        assert api.patch(path, {"op": "replace", "path": "/state", "value": "published"}).status_code == 204
        thread = next(t for t in _threads(api, cid) if t["id"] == draft)
        assert thread["state"] == "published" and "scheduled" not in thread
        c = _get(api, cid)
        assert c["threads"] == 2 and "customerWaitingSince" not in c and c["preview"] == "later"

    def test_unschedule_and_errors(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        draft = api.created_id(api.post(f"/v2/conversations/{cid}/reply", {"text": "later", "draft": True}))
        path = f"/v2/conversations/{cid}/threads/{draft}/schedule"
        vnd_error(api.put(path, {"scheduledFor": "2001-01-01T00:00:00Z"}), 400, "scheduledFor")
        vnd_error(api.delete(path), 404)
        assert api.put(path, {"scheduledFor": "2099-01-01T00:00:00Z"}).status_code == 204
        assert api.delete(path).status_code == 204
        assert "scheduled" not in next(t for t in _threads(api, cid) if t["id"] == draft)
        customer_thread = next(t for t in _threads(api, cid) if t["type"] == "customer")["id"]
        other = f"/v2/conversations/{cid}/threads/{customer_thread}/schedule"
        vnd_error(api.put(other, {"scheduledFor": "2099-01-01T00:00:00Z"}), 400, "threadId")
        vnd_error(api.patch(path, {"op": "replace", "path": "/state", "value": "draft"}), 400, "value")
