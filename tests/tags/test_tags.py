"""GET /v2/tags and /v2/tags/{id}: alphabetical, with exact visible ticket counts."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update

from tests.support.api import Api
from tests.support.asserts import vnd_error
from tests.support.sql import statements
from tidings.db.tables import conversation_tags, conversations, tags


def _tag(api: Api, conversation_id: int, *names: str) -> None:
    response = api.put(f"/v2/conversations/{conversation_id}/tags", {"tags": list(names)})
    assert response.status_code == 204, response.text


def _listed(api: Api, **params: Any) -> dict[str, dict]:
    response = api.get("/v2/tags", params=params)
    assert response.status_code == 200, response.text
    return {t["name"]: t for t in response.json()["_embedded"]["tags"]}


class TestListTags:
    def test_every_key_of_a_tag(self, api: Api) -> None:
        _tag(api, api.conversation(api.mailbox()), "Billing Issue")
        response = api.get("/v2/tags")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/hal+json;charset=UTF-8"
        body = response.json()
        (tag,) = body["_embedded"]["tags"]
        assert list(tag) == ["id", "name", "slug", "color", "createdAt", "updatedAt", "ticketCount", "_links"]
        assert tag["name"] == "billing issue"
        assert tag["slug"] == "billing-issue"
        assert tag["color"] == "#A5B2BD"
        assert tag["createdAt"].endswith("Z") and tag["updatedAt"].endswith("Z")
        assert tag["ticketCount"] == 1
        assert tag["_links"] == {"self": {"href": f"http://testserver/v2/tags/{tag['id']}"}}
        assert body["page"] == {"size": 50, "totalElements": 1, "totalPages": 1, "number": 1}

    def test_stored_color_is_shown(self, api: Api, app: Any) -> None:
        _tag(api, api.conversation(api.mailbox()), "red")
        with app.state.db.engine.begin() as conn:
            conn.execute(update(tags).values(color="#FF0000"))
        assert _listed(api)["red"]["color"] == "#FF0000"

    def test_alphabetical(self, api: Api) -> None:
        _tag(api, api.conversation(api.mailbox()), "Zeta", "alpha", "Mid", "beta")
        body = api.get("/v2/tags").json()
        assert [t["name"] for t in body["_embedded"]["tags"]] == ["alpha", "beta", "mid", "zeta"]

    def test_ticket_count_follows_tagging_and_deleting(self, api: Api) -> None:
        mailbox = api.mailbox()
        first, second, third = (api.conversation(mailbox) for _ in range(3))
        _tag(api, first, "vip", "refund")
        _tag(api, second, "VIP")
        _tag(api, third, "vip", "refund")
        counts = {name: t["ticketCount"] for name, t in _listed(api).items()}
        assert counts == {"refund": 2, "vip": 3}
        _tag(api, third, "refund")
        assert {n: t["ticketCount"] for n, t in _listed(api).items()} == {"refund": 2, "vip": 2}
        assert api.delete(f"/v2/conversations/{first}").status_code == 204
        assert {n: t["ticketCount"] for n, t in _listed(api).items()} == {"refund": 1, "vip": 1}
        _tag(api, second)
        assert {n: t["ticketCount"] for n, t in _listed(api).items()} == {"refund": 1, "vip": 0}

    def test_user_counts_only_conversations_they_can_see(self, api: Api) -> None:
        mine, theirs = api.mailbox(), api.mailbox()
        _tag(api, api.conversation(mine), "shared")
        _tag(api, api.conversation(theirs), "shared")
        _tag(api, api.conversation(theirs), "elsewhere")
        member = api.as_user(api.user("user", [mine]))
        counts = {n: t["ticketCount"] for n, t in _listed(member).items()}
        assert counts == {"elsewhere": 0, "shared": 1}
        assert {n: t["ticketCount"] for n, t in _listed(api).items()} == {"elsewhere": 1, "shared": 2}

    def test_paging(self, api: Api) -> None:
        _tag(api, api.conversation(api.mailbox()), *(f"t{n:02d}" for n in range(51)))
        first = api.get("/v2/tags").json()
        assert first["page"] == {"size": 50, "totalElements": 51, "totalPages": 2, "number": 1}
        assert len(first["_embedded"]["tags"]) == 50
        second = api.get(first["_links"]["next"]["href"]).json()
        assert [t["name"] for t in second["_embedded"]["tags"]] == ["t50"]
        assert second["_embedded"]["tags"][0]["ticketCount"] == 1

    def test_one_grouped_query_for_the_counts(self, api: Api, app: Any) -> None:
        mailbox = api.mailbox()
        _tag(api, api.conversation(mailbox), "only")

        def run() -> int:
            with statements(app) as seen:
                assert api.get("/v2/tags").status_code == 200
            return len(seen)

        few = run()
        for n in range(5):
            _tag(api, api.conversation(mailbox), *(f"tag{n}-{k}" for k in range(4)))
        assert run() == few

    def test_counts_equal_the_tagged_conversations_counted(self, api: Api, app: Any) -> None:
        """The counts come from the trigger-kept per-tag counts: after moves between mailboxes,
        status changes, retagging and deletion they equal a COUNT of the tagged rows."""
        first, second = api.mailbox(), api.mailbox()
        ids = [api.conversation(first if n % 2 else second) for n in range(8)]
        for n, conversation_id in enumerate(ids):
            _tag(api, conversation_id, "all", f"part{n % 3}")
        changes = [
            (ids[0], "/mailboxId", first),
            (ids[1], "/status", "closed"),
            (ids[2], "/status", "spam"),
            (ids[3], "/mailboxId", second),
        ]
        for conversation_id, path, value in changes:
            patched = api.patch(
                f"/v2/conversations/{conversation_id}", {"op": "replace", "path": path, "value": value}
            )
            assert patched.status_code == 204, patched.text
        _tag(api, ids[4], "part0")
        assert api.delete(f"/v2/conversations/{ids[5]}").status_code == 204
        member = api.as_user(api.user("user", [first]))
        for caller, visible in ((api, None), (member, [first])):
            with app.state.db.engine.connect() as conn:
                counted_query = (
                    select(tags.c.name, func.count())
                    .join(conversation_tags, conversation_tags.c.tag_id == tags.c.id)
                    .join(conversations, conversations.c.id == conversation_tags.c.conversation_id)
                    .where(conversations.c.state != "deleted")
                    .group_by(tags.c.name)
                )
                if visible is not None:
                    counted_query = counted_query.where(conversations.c.mailbox_id.in_(visible))
                counted = {name: n for name, n in conn.execute(counted_query)}
            listed = {n: t["ticketCount"] for n, t in _listed(caller).items()}
            assert listed == {name: counted.get(name, 0) for name in listed}
            # Eight tagged, one retagged without it, one deleted; the first mailbox keeps three.
            assert listed["all"] == (6 if visible is None else 3)
            for name, tag in _listed(caller).items():
                assert caller.get(f"/v2/tags/{tag['id']}").json()["ticketCount"] == listed[name]

    def test_empty_list_keeps_embedded(self, api: Api) -> None:
        assert api.get("/v2/tags").json()["_embedded"] == {"tags": []}

    def test_bad_page_is_400(self, api: Api) -> None:
        body = vnd_error(api.get("/v2/tags", params={"page": "zero"}), 400)
        (error,) = body["_embedded"]["errors"]
        assert (error["path"], error["source"]) == ("page", "query")

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/tags"), 401)


class TestGetTag:
    def test_one_tag(self, api: Api) -> None:
        mailbox = api.mailbox()
        _tag(api, api.conversation(mailbox), "Urgent")
        _tag(api, api.conversation(mailbox), "urgent")
        listed = _listed(api)["urgent"]
        response = api.get(f"/v2/tags/{listed['id']}")
        assert response.status_code == 200
        assert response.json() == listed
        assert response.json()["ticketCount"] == 2

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/tags/999999"), 404)

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        body = vnd_error(api.get("/v2/tags/urgent"), 400)
        assert body["_embedded"]["errors"][0]["source"] == "path"

    def test_user_count_hides_other_mailboxes(self, api: Api) -> None:
        _tag(api, api.conversation(api.mailbox()), "secret")
        tag_id = _listed(api)["secret"]["id"]
        member = api.as_user(api.user("user", [api.mailbox()]))
        assert member.get(f"/v2/tags/{tag_id}").json()["ticketCount"] == 0

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/tags/1"), 401)
