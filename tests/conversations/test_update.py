"""PATCH, DELETE, tags, custom fields and snooze on a conversation."""

from __future__ import annotations

import time

from tests.support.api import Api
from tests.support.asserts import vnd_error


def _conversation(api: Api, client) -> dict:  # type: ignore[no-untyped-def]
    return api.get(f"/v2/conversations/{client}").json()


def _line_items(api: Api, cid: int) -> list[dict]:
    threads = api.get(f"/v2/conversations/{cid}/threads").json()["_embedded"]["threads"]
    return [t for t in threads if t["type"] == "lineitem"]


class TestPatch:
    def test_subject_single_op_is_204(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        before = _conversation(api, cid)
        time.sleep(1.05)
        response = api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/subject", "value": "New one"}
        )
        assert response.status_code == 204 and response.content == b""
        after = _conversation(api, cid)
        assert after["subject"] == "New one"
        assert after["userUpdatedAt"] > before["userUpdatedAt"]
        assert _line_items(api, cid) == []

    def test_json_patch_content_type(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        response = api.client.patch(
            f"/v2/conversations/{cid}",
            content=b'{"op": "replace", "path": "/subject", "value": "Patched"}',
            headers={**api.headers, "content-type": "application/json-patch+json"},
        )
        assert response.status_code == 204
        assert _conversation(api, cid)["subject"] == "Patched"

    def test_status_change_closes_and_adds_line_item(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox)
        assert (
            api.patch(
                f"/v2/conversations/{cid}", {"op": "replace", "path": "/status", "value": "closed"}
            ).status_code
            == 204
        )
        c = _conversation(api, cid)
        assert c["status"] == "closed"
        assert c["closedAt"] and c["closedByUser"]["email"] == "owner@example.com"
        [item] = _line_items(api, cid)
        assert item["action"]["type"] == "changed-ticket-status"
        assert item["status"] == "closed"
        folders = {
            f["id"]: f["type"]
            for f in api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        }
        assert folders[c["folderId"]] == "closed"
        assert c["threads"] == 1  # line items are not counted

    def test_assign_and_unassign_in_one_array(self, api: Api) -> None:
        mailbox = api.mailbox()
        agent = api.user("admin")
        cid = api.conversation(mailbox)
        ops = [
            {"op": "replace", "path": "/assignTo", "value": agent},
            {"op": "replace", "path": "/subject", "value": "Both"},
        ]
        assert api.patch(f"/v2/conversations/{cid}", ops).status_code == 204
        c = _conversation(api, cid)
        assert c["assignee"]["id"] == agent and c["subject"] == "Both"
        assert api.patch(f"/v2/conversations/{cid}", {"op": "remove", "path": "/assignTo"}).status_code == 204
        c = _conversation(api, cid)
        assert "assignee" not in c
        assert [i["action"]["type"] for i in _line_items(api, cid)] == ["changed-ticket-assignee"] * 2

    def test_move_mailbox(self, api: Api) -> None:
        source, target = api.mailbox(), api.mailbox()
        cid = api.conversation(source)
        assert (
            api.patch(
                f"/v2/conversations/{cid}", {"op": "move", "path": "/mailboxId", "value": target}
            ).status_code
            == 204
        )
        c = _conversation(api, cid)
        assert c["mailboxId"] == target
        folders = [f["id"] for f in api.get(f"/v2/mailboxes/{target}/folders").json()["_embedded"]["folders"]]
        assert c["folderId"] in folders
        assert _line_items(api, cid)[0]["action"]["type"] == "moved-from-mailbox"

    def test_change_customer(self, api: Api) -> None:
        mailbox = api.mailbox()
        other = _conversation(api, api.conversation(mailbox, customer={"email": "other@example.com"}))
        cid = api.conversation(mailbox)
        value = other["primaryCustomer"]["id"]
        op = {"op": "replace", "path": "/primaryCustomer.id", "value": value}
        assert api.patch(f"/v2/conversations/{cid}", op).status_code == 204
        assert _conversation(api, cid)["primaryCustomer"]["email"] == "other@example.com"

    def test_publish_draft(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox, threads=[{"type": "reply", "draft": True, "text": "d"}])
        assert (
            api.patch(
                f"/v2/conversations/{cid}", {"op": "replace", "path": "/draft", "value": False}
            ).status_code
            == 204
        )
        c = _conversation(api, cid)
        assert c["state"] == "published" and c["threads"] == 1

    def test_invalid_ops_are_all_reported_and_nothing_applied(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        ops = [
            {"op": "replace", "path": "/subject", "value": "Should not stick"},
            {"op": "replace", "path": "/status", "value": "wrong"},
            {"op": "replace", "path": "/colour", "value": "red"},
            {"op": "replace", "path": "/assignTo", "value": 987654},
        ]
        body = vnd_error(
            api.patch(f"/v2/conversations/{cid}", ops), 400, "[1].value", "[2].path", "[3].value"
        )
        status_error = next(e for e in body["_embedded"]["errors"] if e["path"] == "[1].value")
        assert status_error["rejectedValue"] == "wrong"
        assert _conversation(api, cid)["subject"] != "Should not stick"

    def test_bad_op_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(api.patch(f"/v2/conversations/{cid}", {"op": "copy", "path": "/subject"}), 400, "op")

    def test_missing_conversation_is_404(self, api: Api) -> None:
        vnd_error(
            api.patch("/v2/conversations/99999", {"op": "replace", "path": "/subject", "value": "x"}), 404
        )


class TestDelete:
    def test_deleted_is_gone_everywhere(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox, tags=["gone"])
        assert api.delete(f"/v2/conversations/{cid}").status_code == 204
        vnd_error(api.get(f"/v2/conversations/{cid}"), 404)
        vnd_error(api.get(f"/v2/conversations/{cid}/threads"), 404)
        assert (
            api.get("/v2/conversations", params={"status": "all"}).json()["_embedded"]["conversations"] == []
        )
        folders = api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        assert all(f["totalCount"] == 0 for f in folders)
        vnd_error(api.delete(f"/v2/conversations/{cid}"), 404)


class TestTags:
    def test_replace_and_clear(self, api: Api) -> None:
        cid = api.conversation(api.mailbox(), tags=["initial_tag"])
        assert api.put(f"/v2/conversations/{cid}/tags", {"tags": ["VIP", "pro"]}).status_code == 204
        assert [t["tag"] for t in _conversation(api, cid)["tags"]] == ["pro", "vip"]
        assert api.put(f"/v2/conversations/{cid}/tags", {"tags": []}).status_code == 204
        assert _conversation(api, cid)["tags"] == []
        assert api.put(f"/v2/conversations/{cid}/tags", {"tags": ["again"]}).status_code == 204
        assert api.put(f"/v2/conversations/{cid}/tags", {}).status_code == 204
        assert _conversation(api, cid)["tags"] == []

    def test_bad_tags_body_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(api.put(f"/v2/conversations/{cid}/tags", {"tags": "vip"}), 400, "tags")
        vnd_error(api.put(f"/v2/conversations/{cid}/tags", {"tags": [""]}), 400, "tags[0]")


class TestFields:
    def _mailbox_with_fields(self, api: Api) -> tuple[int, dict[str, int]]:
        mailbox = api.mailbox()
        ids = {}
        for name, kind in [
            ("Count", "number"),
            ("Due", "date"),
            ("Note", "singleline"),
            ("Long", "multiline"),
        ]:
            ids[name] = api.created_id(
                api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": name, "type": kind})
            )
        return mailbox, ids

    def test_replace_fields(self, api: Api) -> None:
        mailbox, ids = self._mailbox_with_fields(api)
        cid = api.conversation(mailbox)
        values = [{"id": ids["Count"], "value": 1000}, {"id": ids["Due"], "value": "2025-02-15"}]
        assert api.put(f"/v2/conversations/{cid}/fields", {"fields": values}).status_code == 204
        got = {f["name"]: f["value"] for f in _conversation(api, cid)["customFields"]}
        assert got == {"Count": "1000", "Due": "2025-02-15"}
        assert api.put(f"/v2/conversations/{cid}/fields", {"fields": []}).status_code == 204
        assert _conversation(api, cid)["customFields"] == []

    def test_invalid_values_all_reported(self, api: Api) -> None:
        mailbox, ids = self._mailbox_with_fields(api)
        cid = api.conversation(mailbox)
        values = [
            {"id": ids["Count"], "value": "lots"},
            {"id": ids["Due"], "value": "15/02/2025"},
            {"id": 777, "value": "x"},
        ]
        vnd_error(
            api.put(f"/v2/conversations/{cid}/fields", {"fields": values}),
            400,
            "fields[0].value",
            "fields[1].value",
            "fields[2].id",
        )


class TestSnooze:
    def test_snooze_and_unsnooze(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        body = {"snoozedUntil": "2099-06-03T12:00:00Z", "unsnoozeOnCustomerReply": True}
        assert api.put(f"/v2/conversations/{cid}/snooze", body).status_code == 204
        c = _conversation(api, cid)
        assert c["snooze"]["snoozedUntil"] == "2099-06-03T12:00:00Z"
        assert c["snooze"]["unsnoozeOnCustomerReply"] is True
        assert c["nextEvent"]["eventType"] == "snooze"
        assert api.delete(f"/v2/conversations/{cid}/snooze").status_code == 204
        assert "snooze" not in _conversation(api, cid)

    def test_past_or_far_future_or_missing_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(
            api.put(
                f"/v2/conversations/{cid}/snooze",
                {"snoozedUntil": "2001-01-01T00:00:00Z", "unsnoozeOnCustomerReply": True},
            ),
            400,
            "snoozedUntil",
        )
        vnd_error(
            api.put(
                f"/v2/conversations/{cid}/snooze",
                {"snoozedUntil": "2101-01-01T00:00:00Z", "unsnoozeOnCustomerReply": True},
            ),
            400,
            "snoozedUntil",
        )
        vnd_error(
            api.put(f"/v2/conversations/{cid}/snooze", {"snoozedUntil": "tomorrow"}),
            400,
            "snoozedUntil",
            "unsnoozeOnCustomerReply",
        )
