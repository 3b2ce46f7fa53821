"""A customer's emails and phones as sub-resources, and the sort keys that follow emails."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.asserts import errors_by_path, vnd_error


def _customer(api: Api, *emails: str) -> int:
    body = {"firstName": "Contact", "emails": [{"value": e} for e in emails]}
    return api.created_id(api.post("/v2/customers", body))


def _emails(api: Api, customer_id: int) -> list[tuple[str, str]]:
    body = api.get(f"/v2/customers/{customer_id}/emails").json()
    return [(e["value"], e["type"]) for e in body["_embedded"]["emails"]]


def _by_email(api: Api, mailbox_id: int) -> list[int]:
    params = {"mailbox": mailbox_id, "sortField": "customerEmail", "sortOrder": "asc"}
    response = api.get("/v2/conversations", params=params)
    return [c["id"] for c in response.json()["_embedded"]["conversations"]]


def _conversation_for(api: Api, mailbox_id: int, customer_id: int) -> int:
    return api.conversation(
        mailbox_id,
        customer={"id": customer_id},
        threads=[{"type": "customer", "customer": {"id": customer_id}, "text": "Hello"}],
    )


class TestListEmails:
    def test_lists_every_email(self, api: Api) -> None:
        cid = _customer(api, "a@example.com", "b@example.com")
        response = api.get(f"/v2/customers/{cid}/emails")
        assert response.status_code == 200
        body = response.json()
        assert [(e["value"], e["type"]) for e in body["_embedded"]["emails"]] == [
            ("a@example.com", "work"),
            ("b@example.com", "work"),
        ]
        assert set(body["_embedded"]["emails"][0]) == {"id", "value", "type"}
        assert body["page"]["totalElements"] == 2

    def test_none_keeps_embedded(self, api: Api) -> None:
        cid = _customer(api)
        assert api.get(f"/v2/customers/{cid}/emails").json()["_embedded"] == {"emails": []}

    def test_unknown_customer_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/customers/999999/emails"), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/customers/1/emails"), 401)


class TestCreateEmail:
    def test_adds_an_email(self, api: Api) -> None:
        cid = _customer(api, "first@example.com")
        response = api.post(f"/v2/customers/{cid}/emails", {"type": "Home", "value": "Second@Example.com"})
        assert response.status_code == 201, response.text
        email_id = int(response.headers["Resource-ID"])
        assert response.headers["Location"] == f"http://testserver/v2/customers/{cid}/emails/{email_id}"
        assert _emails(api, cid) == [("first@example.com", "work"), ("second@example.com", "home")]

    def test_address_of_anyone_is_409(self, api: Api) -> None:
        mine = _customer(api, "mine@example.com")
        _customer(api, "yours@example.com")
        vnd_error(api.post(f"/v2/customers/{mine}/emails", {"value": "YOURS@example.com"}), 409)
        vnd_error(api.post(f"/v2/customers/{mine}/emails", {"value": "mine@example.com"}), 409)
        assert _emails(api, mine) == [("mine@example.com", "work")]

    def test_invalid_body_is_400(self, api: Api) -> None:
        cid = _customer(api)
        errors = errors_by_path(api.post(f"/v2/customers/{cid}/emails", {"type": "pigeon", "value": "nope"}))
        assert set(errors) == {"type", "value"}
        assert errors["value"]["source"] == "JSON"
        assert set(errors_by_path(api.post(f"/v2/customers/{cid}/emails", {}))) == {"value"}

    def test_first_email_becomes_the_conversation_sort_key(self, api: Api) -> None:
        mailbox = api.mailbox()
        nameless = api.created_id(api.post("/v2/customers", {"firstName": "Nameless"}))
        other = _customer(api, "mmm@example.com")
        c_nameless = _conversation_for(api, mailbox, nameless)
        c_other = _conversation_for(api, mailbox, other)
        assert _by_email(api, mailbox) == [c_nameless, c_other]
        assert api.post(f"/v2/customers/{nameless}/emails", {"value": "zzz@example.com"}).status_code == 201
        assert _by_email(api, mailbox) == [c_other, c_nameless]

    def test_unknown_customer_is_404(self, api: Api) -> None:
        vnd_error(api.post("/v2/customers/999999/emails", {"value": "x@example.com"}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/customers/1/emails", json={"value": "x@example.com"}), 401)


class TestUpdateEmail:
    def _email_id(self, api: Api, customer_id: int, index: int = 0) -> int:
        return int(api.get(f"/v2/customers/{customer_id}/emails").json()["_embedded"]["emails"][index]["id"])

    def test_changes_the_address_and_conversation_sorting(self, api: Api) -> None:
        mailbox = api.mailbox()
        aaa, bbb = _customer(api, "aaa@example.com"), _customer(api, "bbb@example.com")
        c_aaa, c_bbb = _conversation_for(api, mailbox, aaa), _conversation_for(api, mailbox, bbb)
        assert _by_email(api, mailbox) == [c_aaa, c_bbb]
        email_id = self._email_id(api, aaa)
        response = api.put(
            f"/v2/customers/{aaa}/emails/{email_id}", {"type": "other", "value": "ZZZ@example.com"}
        )
        assert response.status_code == 204, response.text
        assert _emails(api, aaa) == [("zzz@example.com", "other")]
        assert _by_email(api, mailbox) == [c_bbb, c_aaa]
        primary = api.get(f"/v2/conversations/{c_aaa}").json()["primaryCustomer"]
        assert primary["email"] == "zzz@example.com"

    def test_keeping_its_own_address_is_allowed(self, api: Api) -> None:
        cid = _customer(api, "same@example.com")
        email_id = self._email_id(api, cid)
        assert (
            api.put(
                f"/v2/customers/{cid}/emails/{email_id}", {"type": "home", "value": "SAME@example.com"}
            ).status_code
            == 204
        )
        assert _emails(api, cid) == [("same@example.com", "home")]

    def test_address_of_another_is_409(self, api: Api) -> None:
        cid = _customer(api, "one@example.com", "two@example.com")
        email_id = self._email_id(api, cid)
        vnd_error(api.put(f"/v2/customers/{cid}/emails/{email_id}", {"value": "two@example.com"}), 409)

    def test_invalid_body_is_400(self, api: Api) -> None:
        cid = _customer(api, "one@example.com")
        errors = errors_by_path(
            api.put(f"/v2/customers/{cid}/emails/{self._email_id(api, cid)}", {"value": "@@"})
        )
        assert set(errors) == {"value"}

    def test_email_of_another_customer_is_404(self, api: Api) -> None:
        mine, other = _customer(api, "m@example.com"), _customer(api, "o@example.com")
        others_email = self._email_id(api, other)
        vnd_error(api.put(f"/v2/customers/{mine}/emails/{others_email}", {"value": "n@example.com"}), 404)
        vnd_error(api.put(f"/v2/customers/999999/emails/{others_email}", {"value": "n@example.com"}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.put("/v2/customers/1/emails/1", json={"value": "x@example.com"}), 401)


class TestDeleteEmail:
    def test_deletes_and_the_next_email_sorts_the_conversation(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = _customer(api, "aaa@example.com", "zzz@example.com")
        other = _customer(api, "mmm@example.com")
        c_mine, c_other = _conversation_for(api, mailbox, cid), _conversation_for(api, mailbox, other)
        assert _by_email(api, mailbox) == [c_mine, c_other]
        first = api.get(f"/v2/customers/{cid}/emails").json()["_embedded"]["emails"][0]["id"]
        assert api.delete(f"/v2/customers/{cid}/emails/{first}").status_code == 204
        assert _emails(api, cid) == [("zzz@example.com", "work")]
        assert _by_email(api, mailbox) == [c_other, c_mine]
        vnd_error(api.delete(f"/v2/customers/{cid}/emails/{first}"), 404)

    def test_freed_address_can_be_reused(self, api: Api) -> None:
        cid = _customer(api, "free@example.com")
        email_id = api.get(f"/v2/customers/{cid}/emails").json()["_embedded"]["emails"][0]["id"]
        assert api.delete(f"/v2/customers/{cid}/emails/{email_id}").status_code == 204
        assert api.post("/v2/customers", {"emails": [{"value": "free@example.com"}]}).status_code == 201

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        cid = _customer(api)
        errors = errors_by_path(api.delete(f"/v2/customers/{cid}/emails/first"))
        assert errors["email_id"]["source"] == "path"

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.delete("/v2/customers/1/emails/1"), 401)


class TestPhones:
    def test_create_list_update_delete(self, api: Api) -> None:
        cid = _customer(api)
        response = api.post(f"/v2/customers/{cid}/phones", {"type": "mobile", "value": "+44 20 7946 0000"})
        assert response.status_code == 201, response.text
        phone_id = int(response.headers["Resource-ID"])
        assert response.headers["Location"] == f"http://testserver/v2/customers/{cid}/phones/{phone_id}"
        listed = api.get(f"/v2/customers/{cid}/phones").json()["_embedded"]["phones"]
        assert listed == [{"id": phone_id, "value": "+44 20 7946 0000", "type": "mobile"}]
        assert (
            api.put(f"/v2/customers/{cid}/phones/{phone_id}", {"type": "fax", "value": "123"}).status_code
            == 204
        )
        customer = api.get(f"/v2/customers/{cid}").json()
        assert customer["_embedded"]["phones"] == [{"id": phone_id, "value": "123", "type": "fax"}]
        assert api.delete(f"/v2/customers/{cid}/phones/{phone_id}").status_code == 204
        assert api.get(f"/v2/customers/{cid}/phones").json()["_embedded"]["phones"] == []

    def test_same_number_on_two_customers_is_allowed(self, api: Api) -> None:
        first, second = _customer(api), _customer(api)
        for cid in (first, second):
            assert api.post(f"/v2/customers/{cid}/phones", {"value": "555"}).status_code == 201

    def test_invalid_body_is_400(self, api: Api) -> None:
        cid = _customer(api)
        errors = errors_by_path(
            api.post(f"/v2/customers/{cid}/phones", {"type": "smoke-signal", "value": "1" * 61})
        )
        assert set(errors) == {"type", "value"}
        assert errors["type"]["rejectedValue"] == "smoke-signal"

    def test_unknown_is_404(self, api: Api) -> None:
        cid = _customer(api)
        vnd_error(api.get("/v2/customers/999999/phones"), 404)
        vnd_error(api.post("/v2/customers/999999/phones", {"value": "1"}), 404)
        vnd_error(api.put(f"/v2/customers/{cid}/phones/999999", {"value": "1"}), 404)
        vnd_error(api.delete(f"/v2/customers/{cid}/phones/999999"), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/customers/1/phones"), 401)
        vnd_error(client.post("/v2/customers/1/phones", json={"value": "1"}), 401)


class TestNotStoredContacts:
    def test_chats_websites_and_social_profiles_are_empty(self, api: Api) -> None:
        cid = _customer(api)
        for path, key in (
            ("chats", "chats"),
            ("websites", "websites"),
            ("social-profiles", "social_profiles"),
        ):
            response = api.get(f"/v2/customers/{cid}/{path}")
            assert response.status_code == 200
            assert response.json()["_embedded"] == {key: []}
            vnd_error(api.get(f"/v2/customers/999999/{path}"), 404)
