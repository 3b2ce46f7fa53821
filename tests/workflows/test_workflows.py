"""Workflows: list, get, create and (de)activate, and manual runs on conversations."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.asserts import errors_by_path, vnd_error


def _workflow(api: Api, mailbox_id: int, **body: Any) -> int:
    payload = {"mailboxId": mailbox_id, "name": "Escalate", "type": "manual", **body}
    return api.created_id(api.post("/v2/workflows", payload))


def _listed(api: Api, **params: Any) -> list[dict]:
    response = api.get("/v2/workflows", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["_embedded"]["workflows"])


def _workflow_items(api: Api, conversation_id: int) -> list[dict]:
    response = api.get(f"/v2/conversations/{conversation_id}/threads")
    assert response.status_code == 200, response.text
    return [
        t
        for t in response.json()["_embedded"]["threads"]
        if t["type"] == "lineitem" and t["action"]["type"] == "manual-workflow"
    ]


class TestCreateWorkflow:
    def test_created_with_every_field(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = {"mailboxId": mailbox, "name": "Close spam", "type": "automatic", "status": "inactive"}
        response = api.post("/v2/workflows", body)
        assert response.status_code == 201, response.text
        wid = int(response.headers["Resource-ID"])
        assert response.headers["Location"] == f"http://testserver/v2/workflows/{wid}"
        workflow = api.get(f"/v2/workflows/{wid}").json()
        assert list(workflow) == [
            "id",
            "mailboxId",
            "type",
            "status",
            "order",
            "name",
            "createdAt",
            "modifiedAt",
            "_links",
        ]
        assert workflow["id"] == wid
        assert workflow["mailboxId"] == mailbox
        assert workflow["type"] == "automatic"
        assert workflow["status"] == "inactive"
        assert workflow["order"] == 1
        assert workflow["name"] == "Close spam"
        assert workflow["createdAt"].endswith("Z") and workflow["modifiedAt"].endswith("Z")
        assert workflow["_links"] == {"self": {"href": f"http://testserver/v2/workflows/{wid}"}}

    def test_defaults_to_active_and_goes_last(self, api: Api) -> None:
        mailbox = api.mailbox()
        _workflow(api, mailbox)
        second = api.get(f"/v2/workflows/{_workflow(api, mailbox, name='Second')}").json()
        assert (second["status"], second["order"]) == ("active", 2)

    def test_admin_may_create(self, api: Api) -> None:
        admin = api.as_user(api.user("admin"))
        assert (
            admin.post(
                "/v2/workflows", {"mailboxId": api.mailbox(), "name": "A", "type": "manual"}
            ).status_code
            == 201
        )

    def test_user_is_403(self, api: Api) -> None:
        mailbox = api.mailbox()
        member = api.as_user(api.user("user", [mailbox]))
        response = member.post("/v2/workflows", {"mailboxId": mailbox, "name": "A", "type": "manual"})
        vnd_error(response, 403)
        assert _listed(api) == []

    def test_every_invalid_field_is_listed(self, api: Api) -> None:
        errors = errors_by_path(
            api.post("/v2/workflows", {"mailboxId": 0, "name": "", "type": "sometimes", "status": "invalid"})
        )
        assert set(errors) == {"mailboxId", "name", "type", "status"}
        assert all(e["source"] == "JSON" for e in errors.values())
        assert errors["type"]["rejectedValue"] == "sometimes"
        assert "manual" in errors["type"]["message"]
        assert set(errors_by_path(api.post("/v2/workflows", {}))) == {"mailboxId", "name", "type"}

    def test_unknown_mailbox_is_400(self, api: Api) -> None:
        errors = errors_by_path(
            api.post("/v2/workflows", {"mailboxId": 999999, "name": "A", "type": "manual"})
        )
        assert errors["mailboxId"]["rejectedValue"] == 999999

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/workflows", json={"mailboxId": 1, "name": "A", "type": "manual"}), 401)


class TestListWorkflows:
    def test_lists_and_filters(self, api: Api) -> None:
        first, second = api.mailbox(), api.mailbox()
        manual = _workflow(api, first)
        automatic = _workflow(api, first, name="Auto", type="automatic")
        other = _workflow(api, second, name="Other")
        response = api.get("/v2/workflows")
        body = response.json()
        assert body["page"] == {"size": 50, "totalElements": 3, "totalPages": 1, "number": 1}
        assert [w["id"] for w in body["_embedded"]["workflows"]] == [manual, automatic, other]
        assert body["_embedded"]["workflows"][0] == api.get(f"/v2/workflows/{manual}").json()
        assert [w["id"] for w in _listed(api, mailboxId=first)] == [manual, automatic]
        assert [w["id"] for w in _listed(api, type="automatic")] == [automatic]
        assert [w["id"] for w in _listed(api, type="manual", mailboxId=second)] == [other]
        assert _listed(api, mailboxId=999999) == []

    def test_user_sees_workflows_of_their_mailboxes_only(self, api: Api) -> None:
        mine, theirs = api.mailbox(), api.mailbox()
        visible = _workflow(api, mine)
        hidden = _workflow(api, theirs)
        member = api.as_user(api.user("user", [mine]))
        assert [w["id"] for w in _listed(member)] == [visible]
        assert _listed(member, mailboxId=theirs) == []
        vnd_error(member.get(f"/v2/workflows/{hidden}"), 404)

    def test_paging(self, api: Api) -> None:
        mailbox = api.mailbox()
        for n in range(51):
            _workflow(api, mailbox, name=f"W{n}")
        first = api.get("/v2/workflows").json()
        assert first["page"] == {"size": 50, "totalElements": 51, "totalPages": 2, "number": 1}
        second = api.get(first["_links"]["next"]["href"]).json()
        assert [w["name"] for w in second["_embedded"]["workflows"]] == ["W50"]

    def test_empty_list_keeps_embedded(self, api: Api) -> None:
        assert api.get("/v2/workflows").json()["_embedded"] == {"workflows": []}

    def test_every_invalid_parameter_is_listed(self, api: Api) -> None:
        errors = errors_by_path(
            api.get("/v2/workflows", params={"type": "sometimes", "mailboxId": "x", "page": 0})
        )
        assert set(errors) == {"type", "mailboxId", "page"}
        assert all(e["source"] == "query" for e in errors.values())
        assert errors["type"]["rejectedValue"] == "sometimes"

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/workflows"), 401)


class TestGetWorkflow:
    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/workflows/999999"), 404)

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        assert errors_by_path(api.get("/v2/workflows/first"))["workflow_id"]["source"] == "path"
        assert (
            errors_by_path(api.get("/v2/workflows/99999999999999999999"))["workflow_id"]["source"] == "path"
        )

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/workflows/1"), 401)


class TestPatchWorkflow:
    def test_deactivates_and_activates(self, api: Api) -> None:
        wid = _workflow(api, api.mailbox())
        for status in ("inactive", "active"):
            response = api.patch(
                f"/v2/workflows/{wid}", {"op": "replace", "path": "/status", "value": status}
            )
            assert response.status_code == 204, response.text
            assert api.get(f"/v2/workflows/{wid}").json()["status"] == status

    def test_every_invalid_field_is_listed(self, api: Api) -> None:
        wid = _workflow(api, api.mailbox())
        errors = errors_by_path(
            api.patch(f"/v2/workflows/{wid}", {"op": "remove", "path": "/name", "value": "paused"})
        )
        assert set(errors) == {"op", "path", "value"}
        assert errors["value"]["rejectedValue"] == "paused"
        assert "inactive" in errors["value"]["message"]
        assert set(errors_by_path(api.patch(f"/v2/workflows/{wid}", {}))) == {"op", "path"}
        assert api.get(f"/v2/workflows/{wid}").json()["status"] == "active"

    def test_user_is_403(self, api: Api) -> None:
        mailbox = api.mailbox()
        wid = _workflow(api, mailbox)
        member = api.as_user(api.user("user", [mailbox]))
        response = member.patch(
            f"/v2/workflows/{wid}", {"op": "replace", "path": "/status", "value": "inactive"}
        )
        vnd_error(response, 403)
        assert api.get(f"/v2/workflows/{wid}").json()["status"] == "active"

    def test_unknown_is_404(self, api: Api) -> None:
        response = api.patch("/v2/workflows/999999", {"op": "replace", "path": "/status", "value": "active"})
        vnd_error(response, 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        response = client.patch(
            "/v2/workflows/1", json={"op": "replace", "path": "/status", "value": "active"}
        )
        vnd_error(response, 401)


class TestRunWorkflow:
    def test_adds_one_line_item_to_each_conversation(self, api: Api) -> None:
        mailbox = api.mailbox()
        wid = _workflow(api, mailbox, name="Escalate")
        first, second = api.conversation(mailbox), api.conversation(mailbox)
        before = api.get(f"/v2/conversations/{first}").json()["userUpdatedAt"]
        response = api.post(f"/v2/workflows/{wid}/run", {"conversationIds": [first, second, first]})
        assert response.status_code == 204, response.text
        assert response.content == b""
        for conversation_id in (first, second):
            (item,) = _workflow_items(api, conversation_id)
            assert item["action"]["associatedEntities"] == {"workflow": wid}
            assert "Escalate" in item["action"]["text"]
        assert api.get(f"/v2/conversations/{first}").json()["userUpdatedAt"] >= before

    def test_any_user_who_sees_the_mailbox_may_run(self, api: Api) -> None:
        mailbox = api.mailbox()
        wid = _workflow(api, mailbox)
        conversation = api.conversation(mailbox)
        member = api.as_user(api.user("user", [mailbox]))
        assert member.post(f"/v2/workflows/{wid}/run", {"conversationIds": [conversation]}).status_code == 204
        assert len(_workflow_items(api, conversation)) == 1

    def test_all_or_nothing_when_one_id_is_bad(self, api: Api) -> None:
        mailbox, other = api.mailbox(), api.mailbox()
        wid = _workflow(api, mailbox)
        good = api.conversation(mailbox)
        elsewhere = api.conversation(other)
        deleted = api.conversation(mailbox)
        assert api.delete(f"/v2/conversations/{deleted}").status_code == 204
        response = api.post(
            f"/v2/workflows/{wid}/run", {"conversationIds": [good, elsewhere, 999999, deleted, 2**40]}
        )
        errors = errors_by_path(response)
        assert set(errors) == {"conversationIds"}
        assert errors["conversationIds"]["rejectedValue"] == [elsewhere, 999999, deleted, 2**40]
        assert errors["conversationIds"]["source"] == "JSON"
        assert _workflow_items(api, good) == []
        assert _workflow_items(api, elsewhere) == []

    def test_automatic_or_inactive_workflow_is_400(self, api: Api) -> None:
        mailbox = api.mailbox()
        conversation = api.conversation(mailbox)
        automatic = _workflow(api, mailbox, type="automatic")
        errors = errors_by_path(
            api.post(f"/v2/workflows/{automatic}/run", {"conversationIds": [conversation]})
        )
        assert "manual" in errors["id"]["message"]
        assert (errors["id"]["source"], errors["id"]["rejectedValue"]) == ("path", automatic)
        inactive = _workflow(api, mailbox, status="inactive")
        errors = errors_by_path(
            api.post(f"/v2/workflows/{inactive}/run", {"conversationIds": [conversation]})
        )
        assert "inactive" in errors["id"]["message"]
        assert _workflow_items(api, conversation) == []

    def test_between_one_and_fifty_ids(self, api: Api) -> None:
        mailbox = api.mailbox()
        wid = _workflow(api, mailbox)
        errors = errors_by_path(api.post(f"/v2/workflows/{wid}/run", {"conversationIds": []}))
        assert "between 1 and 50" in errors["conversationIds"]["message"]
        errors = errors_by_path(api.post(f"/v2/workflows/{wid}/run", {"conversationIds": list(range(1, 52))}))
        assert "got 51" in errors["conversationIds"]["message"]

    def test_every_problem_is_listed(self, api: Api) -> None:
        wid = _workflow(api, api.mailbox(), type="automatic", status="inactive")
        body = vnd_error(api.post(f"/v2/workflows/{wid}/run", {"conversationIds": []}), 400)
        paths = sorted(e["path"] for e in body["_embedded"]["errors"])
        assert paths == ["conversationIds", "id", "id"]

    def test_invalid_body_is_400(self, api: Api) -> None:
        wid = _workflow(api, api.mailbox())
        assert set(errors_by_path(api.post(f"/v2/workflows/{wid}/run", {}))) == {"conversationIds"}
        assert set(errors_by_path(api.post(f"/v2/workflows/{wid}/run", {"conversationIds": ["a"]}))) == {
            "conversationIds[0]"
        }

    def test_workflow_user_cannot_see_is_404(self, api: Api) -> None:
        hidden = api.mailbox()
        wid = _workflow(api, hidden)
        conversation = api.conversation(hidden)
        member = api.as_user(api.user("user", [api.mailbox()]))
        vnd_error(member.post(f"/v2/workflows/{wid}/run", {"conversationIds": [conversation]}), 404)
        assert _workflow_items(api, conversation) == []

    def test_unknown_is_404(self, api: Api) -> None:
        conversation = api.conversation(api.mailbox())
        vnd_error(api.post("/v2/workflows/999999/run", {"conversationIds": [conversation]}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/workflows/1/run", json={"conversationIds": [1]}), 401)
