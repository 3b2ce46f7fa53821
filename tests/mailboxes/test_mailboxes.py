"""Mailboxes, folders with counts, custom fields, and the admin endpoints."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import case, func, select, update

from tests.support.api import Api
from tests.support.asserts import vnd_error
from tidings.db.tables import conversations, folders


class TestMailboxes:
    def test_create_list_get(self, api: Api) -> None:
        response = api.post("/v2/mailboxes", {"name": "Orders", "email": "orders@example.com"})
        mailbox = api.created_id(response)
        assert response.headers["Location"] == f"http://testserver/v2/mailboxes/{mailbox}"
        got = api.get(f"/v2/mailboxes/{mailbox}").json()
        assert got["name"] == "Orders" and got["email"] == "orders@example.com" and got["slug"] == "orders"
        assert set(got) == {"id", "name", "slug", "email", "createdAt", "updatedAt", "_links"}
        assert got["_links"]["folders"]["href"] == f"http://testserver/v2/mailboxes/{mailbox}/folders/"
        listed = api.get("/v2/mailboxes").json()
        assert [m["id"] for m in listed["_embedded"]["mailboxes"]] == [mailbox]
        assert listed["page"] == {"size": 50, "totalElements": 1, "totalPages": 1, "number": 1}

    def test_invalid_body_lists_every_field(self, api: Api) -> None:
        vnd_error(
            api.post("/v2/mailboxes", {"name": "", "email": "nope"}), 400, "name", "email", source="JSON"
        )

    def test_user_sees_only_granted_mailboxes(self, api: Api) -> None:
        granted, hidden = api.mailbox(), api.mailbox()
        agent = api.as_user(api.user("user", [granted]))
        assert [m["id"] for m in agent.get("/v2/mailboxes").json()["_embedded"]["mailboxes"]] == [granted]
        vnd_error(agent.get(f"/v2/mailboxes/{hidden}"), 404)
        vnd_error(agent.get(f"/v2/mailboxes/{hidden}/folders"), 404)
        vnd_error(agent.post("/v2/mailboxes", {"name": "X", "email": "x@example.com"}), 403)

    def test_missing_is_404_and_no_token_401(self, api: Api) -> None:
        vnd_error(api.get("/v2/mailboxes/4242"), 404)
        vnd_error(api.client.get("/v2/mailboxes"), 401)


class TestFolders:
    def test_system_folders_and_counts(self, api: Api) -> None:
        mailbox = api.mailbox()
        api.conversation(mailbox)
        api.conversation(mailbox, status="pending")
        api.conversation(mailbox, status="closed")
        body = api.get(f"/v2/mailboxes/{mailbox}/folders").json()
        folders = {f["type"]: f for f in body["_embedded"]["folders"]}
        assert set(folders) == {"unassigned", "assigned", "drafts", "closed", "spam"}
        assert (folders["unassigned"]["totalCount"], folders["unassigned"]["activeCount"]) == (2, 1)
        assert (folders["closed"]["totalCount"], folders["closed"]["activeCount"]) == (1, 0)
        assert folders["spam"]["totalCount"] == 0
        assert set(folders["closed"]) == {
            "id",
            "name",
            "type",
            "userId",
            "totalCount",
            "activeCount",
            "updatedAt",
        }

    def test_counts_and_updated_at_equal_the_conversations_grouped(self, api: Api, app: Any) -> None:
        """Counts from the kept per-folder counts and `updatedAt` from the index's last entries
        equal a grouped read of the conversations, after status changes, moves and deletion."""
        mailbox, other = api.mailbox(), api.mailbox()
        ids = [
            api.conversation(mailbox, status=s) for s in ("active", "pending", "closed", "active", "active")
        ]
        api.conversation(other)
        changes = [(ids[0], "/status", "closed"), (ids[1], "/status", "spam"), (ids[3], "/mailboxId", other)]
        for conversation_id, path, value in changes:
            response = api.patch(
                f"/v2/conversations/{conversation_id}", {"op": "replace", "path": path, "value": value}
            )
            assert response.status_code == 204, response.text
        assert api.delete(f"/v2/conversations/{ids[4]}").status_code == 204
        c = conversations.c
        with app.state.db.engine.begin() as conn:  # distinct, in no order of the ids
            for day, conversation_id in zip((9, 3, 14, 6, 11), ids, strict=True):
                stamp = datetime(2030, 1, day, tzinfo=UTC)
                conn.execute(update(conversations).where(c.id == conversation_id).values(modified_at=stamp))
        for box in (mailbox, other):
            listed = api.get(f"/v2/mailboxes/{box}/folders").json()["_embedded"]["folders"]
            with app.state.db.engine.connect() as conn:
                grouped = select(
                    c.folder_id,
                    func.count(),
                    func.sum(case((c.status == "active", 1), else_=0)),
                    func.max(c.modified_at),
                ).where(c.mailbox_id == box, c.state != "deleted")
                expected = {
                    f: (n, int(a), latest) for f, n, a, latest in conn.execute(grouped.group_by(c.folder_id))
                }
                created = dict(conn.execute(select(folders.c.id, folders.c.updated_at)).all())
            for folder in listed:
                n, active, latest = expected.get(folder["id"], (0, 0, None))
                assert (folder["totalCount"], folder["activeCount"]) == (n, active), folder
                shown = max(latest, created[folder["id"]]) if latest else created[folder["id"]]
                assert folder["updatedAt"] == shown.strftime("%Y-%m-%dT%H:%M:%SZ"), folder
        closed = {
            f["type"]: f for f in api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        }
        assert (
            closed["closed"]["totalCount"],
            closed["spam"]["totalCount"],
            closed["unassigned"]["totalCount"],
        ) == (
            2,
            1,
            0,
        )


class TestFields:
    def test_create_and_list(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = {
            "name": "Plan",
            "type": "dropdown",
            "required": True,
            "options": [{"label": "Free"}, {"label": "Pro", "order": 5}],
        }
        field = api.created_id(api.post(f"/v2/mailboxes/{mailbox}/fields", body))
        [got] = api.get(f"/v2/mailboxes/{mailbox}/fields").json()["_embedded"]["fields"]
        assert (
            got["id"] == field
            and got["name"] == "Plan"
            and got["type"] == "dropdown"
            and got["required"] is True
        )
        assert [(o["label"], o["order"]) for o in got["options"]] == [("Free", 1), ("Pro", 5)]

    def test_bad_field_type_and_dropdown_without_options(self, api: Api) -> None:
        mailbox = api.mailbox()
        vnd_error(api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": "X", "type": "color"}), 400, "type")
        vnd_error(
            api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": "X", "type": "dropdown"}), 400, "options"
        )
        vnd_error(api.post("/v2/mailboxes/4242/fields", {"name": "X", "type": "number"}), 404)
