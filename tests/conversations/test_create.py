"""POST /v2/conversations and GET /v2/conversations/{id}."""

from __future__ import annotations

import base64

from tests.support.api import Api
from tests.support.asserts import vnd_error


def _body(mailbox_id: int, **overrides: object) -> dict:
    body: dict = {
        "subject": "Where is my order?",
        "type": "email",
        "mailboxId": mailbox_id,
        "status": "active",
        "customer": {"email": "Vernon.Bear@Example.com", "firstName": "Vernon", "lastName": "Bear"},
        "threads": [
            {"type": "customer", "customer": {"email": "vernon.bear@example.com"}, "text": "Hi <b>there</b>"}
        ],
    }
    body.update(overrides)
    return body


def _imported(mailbox: int, answered_at: str, **fields: object) -> dict:
    """An imported conversation of 2014-02-27 10:00 with its customer's question and the reply
    sent at `answered_at`."""
    return _body(
        mailbox,
        imported=True,
        createdAt="2014-02-27T10:00:00Z",
        threads=[
            {
                "type": "customer",
                "text": "old question",
                "createdAt": "2014-02-27T10:00:00Z",
                "customer": {"email": "old@example.com"},
            },
            {"type": "reply", "text": "old answer", "createdAt": answered_at},
        ],
        **fields,
    )


class TestCreate:
    def test_created_with_headers_and_readable(self, api: Api) -> None:
        mailbox = api.mailbox()
        response = api.post("/v2/conversations", _body(mailbox))
        assert response.status_code == 201
        assert response.content == b""
        cid = int(response.headers["Resource-ID"])
        assert response.headers["Location"] == f"http://testserver/v2/conversations/{cid}"

        got = api.get(f"/v2/conversations/{cid}")
        assert got.status_code == 200
        assert got.headers["content-type"] == "application/hal+json;charset=UTF-8"
        c = got.json()
        assert c["id"] == cid
        assert c["number"] >= 1
        assert c["subject"] == "Where is my order?"
        assert c["status"] == "active"
        assert c["state"] == "published"
        assert c["type"] == "email"
        assert c["mailboxId"] == mailbox
        assert c["threads"] == 1
        assert c["preview"] == "Hi there"
        assert c["createdBy"]["type"] == "customer"
        assert c["primaryCustomer"]["first"] == "Vernon"
        assert c["primaryCustomer"]["email"] == "vernon.bear@example.com"
        assert c["customerWaitingSince"]["time"] == c["createdAt"]
        assert c["userUpdatedAt"] == c["createdAt"]
        assert c["source"] == {"type": "api", "via": "customer"}
        assert c["tags"] == [] and c["customFields"] == [] and c["cc"] == [] and c["bcc"] == []
        assert "assignee" not in c
        folders = {
            f["id"]: f["type"]
            for f in api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        }
        assert folders[c["folderId"]] == "unassigned"
        links = c["_links"]
        assert links["self"]["href"] == f"http://testserver/v2/conversations/{cid}"
        assert links["mailbox"]["href"] == f"http://testserver/v2/mailboxes/{mailbox}"
        assert links["threads"]["href"] == f"http://testserver/v2/conversations/{cid}/threads/"
        assert links["createdByCustomer"]["href"] == links["primaryCustomer"]["href"]

    def test_same_email_reuses_the_customer(self, api: Api) -> None:
        mailbox = api.mailbox()
        first = api.get(
            f"/v2/conversations/{api.conversation(mailbox, customer={'email': 'a@x.com'})}"
        ).json()
        second = api.get(
            f"/v2/conversations/{api.conversation(mailbox, customer={'email': 'A@X.com'})}"
        ).json()
        assert first["primaryCustomer"]["id"] == second["primaryCustomer"]["id"]

    def test_customer_by_unknown_id_is_400(self, api: Api) -> None:
        vnd_error(
            api.post("/v2/conversations", _body(api.mailbox(), customer={"id": 999999})), 400, "customer.id"
        )

    def test_numbers_increase(self, api: Api) -> None:
        mailbox = api.mailbox()
        numbers = [
            api.get(f"/v2/conversations/{api.conversation(mailbox)}").json()["number"] for _ in range(4)
        ]
        assert numbers == sorted(numbers) and len(set(numbers)) == 4

    def test_assigned_tags_fields_and_user_reply(self, api: Api) -> None:
        mailbox = api.mailbox()
        agent = api.user("user", [mailbox], first="Mary", last="Jones")
        field = api.created_id(
            api.post(
                f"/v2/mailboxes/{mailbox}/fields",
                {"name": "Plan", "type": "dropdown", "options": [{"label": "Free"}, {"label": "Pro"}]},
            )
        )
        options = api.get(f"/v2/mailboxes/{mailbox}/fields").json()["_embedded"]["fields"][0]["options"]
        pro = next(o["id"] for o in options if o["label"] == "Pro")
        body = _body(
            mailbox,
            assignTo=agent,
            tags=["VIP", "billing"],
            fields=[{"id": field, "value": str(pro)}],
            threads=[
                {"type": "reply", "text": "We are on it", "customer": {"email": "vernon.bear@example.com"}}
            ],
        )
        cid = api.created_id(api.post("/v2/conversations", body))
        c = api.get(f"/v2/conversations/{cid}").json()
        assert c["assignee"]["id"] == agent and c["assignee"]["first"] == "Mary"
        assert [t["tag"] for t in c["tags"]] == ["billing", "vip"]
        assert c["customFields"] == [{"id": field, "name": "Plan", "value": str(pro), "text": "Pro"}]
        assert c["createdBy"]["type"] == "user"
        assert "customerWaitingSince" not in c
        folders = {
            f["type"]: f for f in api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        }
        assert folders["assigned"]["id"] == c["folderId"]
        assert folders["assigned"]["totalCount"] == 1 and folders["assigned"]["activeCount"] == 1

    def test_imported_with_past_dates(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = _imported(mailbox, "2014-02-28T10:00:00Z", status="closed", closedAt="2014-03-01T09:00:00Z")
        c = api.get(f"/v2/conversations/{api.created_id(api.post('/v2/conversations', body))}").json()
        assert c["createdAt"] == "2014-02-27T10:00:00Z"
        assert c["closedAt"] == "2014-03-01T09:00:00Z"
        assert c["status"] == "closed"
        assert c["threads"] == 2
        assert c["preview"] == "old answer"
        assert "customerWaitingSince" not in c

    def test_instants_read_the_same_in_a_list_page_and_its_threads(self, api: Api) -> None:
        """A list page writes its instants through another path than one conversation's GET."""
        mailbox = api.mailbox()
        body = _imported(mailbox, "2014-02-28T10:30:05Z")
        cid = api.created_id(api.post("/v2/conversations", body))
        listing = {"mailbox": mailbox, "status": "all", "embed": "threads"}
        page = api.get("/v2/conversations", params=listing).json()
        (listed,) = page["_embedded"]["conversations"]
        assert listed["id"] == cid
        assert listed["createdAt"] == "2014-02-27T10:00:00Z"
        assert listed["userUpdatedAt"] == api.get(f"/v2/conversations/{cid}").json()["userUpdatedAt"]
        threads = listed["_embedded"]["threads"]
        assert [t["createdAt"] for t in threads] == ["2014-02-28T10:30:05Z", "2014-02-27T10:00:00Z"]

    def test_draft_goes_to_drafts(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = _body(mailbox, threads=[{"type": "reply", "draft": True, "text": "draft text"}])
        c = api.get(f"/v2/conversations/{api.created_id(api.post('/v2/conversations', body))}").json()
        assert c["state"] == "draft"
        folders = {
            f["id"]: f["type"]
            for f in api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
        }
        assert folders[c["folderId"]] == "drafts"

    def test_attachments_inline(self, api: Api) -> None:
        mailbox = api.mailbox()
        data = base64.b64encode(b"hello attachment").decode()
        body = _body(
            mailbox,
            threads=[
                {
                    "type": "customer",
                    "text": "see file",
                    "customer": {"email": "f@example.com"},
                    "attachments": [{"fileName": "a.txt", "mimeType": "text/plain", "data": data}],
                }
            ],
        )
        cid = api.created_id(api.post("/v2/conversations", body))
        c = api.get(f"/v2/conversations/{cid}", params={"embed": "threads"}).json()
        [thread] = c["_embedded"]["threads"]
        [attachment] = thread["_embedded"]["attachments"]
        assert attachment["filename"] == "a.txt" and attachment["size"] == 16
        fetched = api.get(attachment["_links"]["data"]["href"].replace("http://testserver", ""))
        assert fetched.status_code == 200
        assert base64.b64decode(fetched.json()["data"]) == b"hello attachment"

    def test_a_listed_page_embeds_each_attachment_under_its_own_thread(self, api: Api) -> None:
        mailbox = api.mailbox()

        def attached(name: str) -> dict:
            data = base64.b64encode(name.encode()).decode()
            return {"fileName": name, "mimeType": "text/plain", "data": data}

        def conversation(name: str) -> int:
            threads = [
                {"type": "customer", "text": "plain", "customer": {"email": "f@example.com"}},
                {"type": "note", "text": f"with {name}", "attachments": [attached(name)]},
            ]
            return api.created_id(api.post("/v2/conversations", _body(mailbox, threads=threads)))

        first, second = conversation("first.txt"), conversation("second.txt")
        listed = api.get("/v2/conversations", params={"mailbox": mailbox, "embed": "threads"}).json()
        seen = {}
        for c in listed["_embedded"]["conversations"]:
            for thread in c["_embedded"]["threads"]:
                names = [a["filename"] for a in thread.get("_embedded", {}).get("attachments", [])]
                seen[(c["id"], thread["body"] if "body" in thread else thread.get("text"))] = names
        assert seen[(first, "with first.txt")] == ["first.txt"]
        assert seen[(second, "with second.txt")] == ["second.txt"]
        assert seen[(first, "plain")] == [] and seen[(second, "plain")] == []

    def test_more_than_100_threads_is_412(self, api: Api) -> None:
        threads = [{"type": "note", "text": f"n{i}"} for i in range(101)]
        vnd_error(api.post("/v2/conversations", _body(api.mailbox(), threads=threads)), 412)

    def test_every_invalid_field_is_listed(self, api: Api) -> None:
        response = api.post(
            "/v2/conversations",
            {"subject": "", "type": "fax", "mailboxId": "abc", "status": "open", "threads": []},
        )
        body = vnd_error(
            response, 400, "subject", "type", "mailboxId", "status", "customer", "threads", source="JSON"
        )
        by_path = {e["path"]: e for e in body["_embedded"]["errors"]}
        assert by_path["type"]["rejectedValue"] == "fax"
        assert "email" in by_path["type"]["message"]

    def test_bad_thread_field_names_its_path(self, api: Api) -> None:
        body = _body(api.mailbox(), threads=[{"type": "customer", "text": "x", "cc": ["not-an-email"]}])
        vnd_error(api.post("/v2/conversations", body), 400, "threads[0].cc[0]")

    def test_unknown_mailbox_is_400(self, api: Api) -> None:
        vnd_error(api.post("/v2/conversations", _body(99999)), 400, "mailboxId")

    def test_invalid_json_is_400(self, api: Api) -> None:
        response = api.client.post(
            "/v2/conversations",
            content=b"{not json",
            headers={**api.headers, "content-type": "application/json"},
        )
        vnd_error(response, 400)

    def test_non_json_is_415(self, api: Api) -> None:
        response = api.client.post(
            "/v2/conversations", content=b"subject=x", headers={**api.headers, "content-type": "text/plain"}
        )
        vnd_error(response, 415)

    def test_without_token_is_401(self, api: Api) -> None:
        vnd_error(api.client.post("/v2/conversations", json=_body(1)), 401)

    def test_nothing_is_half_written(self, api: Api) -> None:
        mailbox = api.mailbox()
        bad = _body(mailbox, customer={"email": "half@example.com"}, assignTo=424242)
        vnd_error(api.post("/v2/conversations", bad), 400, "assignTo")
        listed = api.get("/v2/customers", params={"email": "half@example.com"})
        if listed.status_code == 200:
            assert listed.json()["_embedded"]["customers"] == []
        assert api.get("/v2/conversations", params={"status": "all"}).json()["page"]["totalElements"] == 0


class TestGet:
    def test_missing_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/conversations/424242"), 404)

    def test_bad_embed_is_400(self, api: Api) -> None:
        cid = api.conversation(api.mailbox())
        vnd_error(
            api.get(f"/v2/conversations/{cid}", params={"embed": "customers"}), 400, "embed", source="query"
        )

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        vnd_error(api.get("/v2/conversations/abc"), 400, "conversation_id", source="path")

    def test_user_without_access_gets_404(self, api: Api) -> None:
        hidden = api.mailbox()
        seen = api.mailbox()
        cid = api.conversation(hidden)
        agent = api.as_user(api.user("user", [seen]))
        vnd_error(agent.get(f"/v2/conversations/{cid}"), 404)
        vnd_error(agent.post(f"/v2/conversations/{cid}/notes", {"text": "x"}), 404)
        vnd_error(agent.put(f"/v2/conversations/{cid}/tags", {"tags": ["x"]}), 404)
        assert agent.get(f"/v2/conversations/{api.conversation(seen)}").status_code == 200
