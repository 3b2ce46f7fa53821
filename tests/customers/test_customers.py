"""Customers: create, get, list, PUT/PATCH, and the sort keys conversations keep of them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from tests.support.api import Api
from tests.support.asserts import errors_by_path, vnd_error
from tests.support.sql import statements
from tidings.db.tables import customers

# Keys of the recorded GET /v2/customers/{id} response of the real service, in its order.
RECORDED_KEYS = [
    "id",
    "firstName",
    "lastName",
    "gender",
    "jobTitle",
    "location",
    "organization",
    "photoType",
    "photoUrl",
    "age",
    "createdAt",
    "updatedAt",
    "background",
    "_embedded",
    "_links",
]
EMBEDDED_KEYS = ["emails", "websites", "chats", "phones", "social_profiles"]
LINK_KEYS = ["address", "chats", "emails", "phones", "self", "social-profiles", "websites"]

FULL = {
    "firstName": "Vernon",
    "lastName": "Bear",
    "gender": "male",
    "jobTitle": "CEO and Co-Founder",
    "location": "Greater Dallas/FT Worth Area",
    "organization": "Acme, Inc",
    "photoType": "twitter",
    "photoUrl": "https://example.com/bear.png",
    "background": "Met at the fair",
    "age": "30-35",
    "emails": [{"type": "work", "value": "Bear@Acme.com"}, {"type": "home", "value": "vernon@home.example"}],
    "phones": [{"type": "mobile", "value": "+1 555 0100"}],
}


def _customer(api: Api, **body: Any) -> int:
    return api.created_id(api.post("/v2/customers", body or {"firstName": "Plain"}))


def _conversation_for(api: Api, mailbox_id: int, customer_id: int) -> int:
    return api.conversation(
        mailbox_id,
        customer={"id": customer_id},
        threads=[{"type": "customer", "customer": {"id": customer_id}, "text": "Hello"}],
    )


class TestCreateCustomer:
    def test_created_with_every_field(self, api: Api) -> None:
        response = api.post("/v2/customers", FULL)
        assert response.status_code == 201, response.text
        cid = int(response.headers["Resource-ID"])
        assert response.headers["Location"] == f"http://testserver/v2/customers/{cid}"
        assert response.content == b""
        body = api.get(f"/v2/customers/{cid}").json()
        assert body["id"] == cid
        assert body["firstName"] == "Vernon"
        assert body["lastName"] == "Bear"
        assert body["gender"] == "Male"
        assert body["jobTitle"] == "CEO and Co-Founder"
        assert body["location"] == "Greater Dallas/FT Worth Area"
        assert body["organization"] == "Acme, Inc"
        assert body["photoType"] == "twitter"
        assert body["photoUrl"] == "https://example.com/bear.png"
        assert body["background"] == "Met at the fair"
        assert body["age"] == "30-35"
        assert body["createdAt"].endswith("Z") and body["updatedAt"].endswith("Z")
        emails = body["_embedded"]["emails"]
        assert [(e["value"], e["type"]) for e in emails] == [
            ("bear@acme.com", "work"),
            ("vernon@home.example", "home"),
        ]
        assert all(isinstance(e["id"], int) for e in emails)
        phones = body["_embedded"]["phones"]
        assert [(p["value"], p["type"]) for p in phones] == [("+1 555 0100", "mobile")]

    def test_email_alone_is_enough(self, api: Api) -> None:
        cid = _customer(api, emails=[{"value": "only@example.com"}])
        body = api.get(f"/v2/customers/{cid}").json()
        assert body["firstName"] == "" and body["lastName"] == ""
        assert body["_embedded"]["emails"][0]["type"] == "work"

    def test_age_as_number_is_accepted(self, api: Api) -> None:
        cid = _customer(api, firstName="Aged", age=45)
        assert api.get(f"/v2/customers/{cid}").json()["age"] == "45"

    def test_user_role_may_create(self, api: Api) -> None:
        member = api.as_user(api.user("user", [api.mailbox()]))
        assert member.post("/v2/customers", {"firstName": "Made"}).status_code == 201

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/customers", json={"firstName": "X"}), 401)

    def test_needs_first_name_or_email(self, api: Api) -> None:
        errors = errors_by_path(api.post("/v2/customers", {"lastName": "Only"}))
        assert set(errors) == {"firstName"}
        assert errors["firstName"]["source"] == "JSON"
        assert "email" in errors["firstName"]["message"]

    def test_every_invalid_field_is_listed(self, api: Api) -> None:
        errors = errors_by_path(
            api.post(
                "/v2/customers",
                {
                    "firstName": "x" * 41,
                    "lastName": "",
                    "gender": "robot",
                    "photoType": "polaroid",
                    "emails": [
                        {"type": "work", "value": "not-an-email"},
                        {"type": "pigeon", "value": "a@b.co"},
                    ],
                    "phones": [{"type": "mobile", "value": ""}],
                },
            )
        )
        assert set(errors) == {
            "firstName",
            "lastName",
            "gender",
            "photoType",
            "emails[0].value",
            "emails[1].type",
            "phones[0].value",
        }
        assert all(e["source"] == "JSON" for e in errors.values())
        assert errors["gender"]["rejectedValue"] == "robot"
        assert "male" in errors["gender"]["message"]
        assert "email" in errors["emails[0].value"]["message"]

    def test_same_address_twice_in_body_is_400(self, api: Api) -> None:
        errors = errors_by_path(
            api.post(
                "/v2/customers", {"emails": [{"value": "twice@example.com"}, {"value": "TWICE@example.com"}]}
            )
        )
        assert set(errors) == {"emails[1].value"}

    def test_address_owned_by_another_customer_is_409(self, api: Api) -> None:
        first = _customer(api, emails=[{"value": "taken@example.com"}])
        response = api.post(
            "/v2/customers", {"firstName": "Second", "emails": [{"value": "Taken@Example.com"}]}
        )
        body = vnd_error(response, 409)
        assert "taken@example.com" in body["message"]
        assert str(first) in body["message"]
        listed = api.get("/v2/customers", params={"firstName": "Second"}).json()
        assert listed["_embedded"]["customers"] == []

    def test_not_json_is_400(self, api: Api) -> None:
        response = api.client.post(
            "/v2/customers", content=b"{nope", headers={**api.headers, "content-type": "application/json"}
        )
        vnd_error(response, 400)


class TestGetCustomer:
    def test_shape_follows_the_recorded_response(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        response = api.get(f"/v2/customers/{cid}")
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/hal+json;charset=UTF-8"
        body = response.json()
        assert list(body) == RECORDED_KEYS
        assert list(body["_embedded"]) == EMBEDDED_KEYS
        assert body["_embedded"]["chats"] == []
        assert body["_embedded"]["websites"] == []
        assert body["_embedded"]["social_profiles"] == []
        assert list(body["_links"]) == LINK_KEYS
        base = f"http://testserver/v2/customers/{cid}"
        assert body["_links"]["self"] == {"href": base}
        assert body["_links"]["emails"] == {"href": f"{base}/emails/"}
        assert body["_links"]["social-profiles"] == {"href": f"{base}/social-profiles/"}
        assert body["_links"]["address"] == {"href": f"{base}/address/"}

    def test_unset_fields_are_left_out_or_empty(self, api: Api) -> None:
        cid = _customer(api, firstName="Bare")
        body = api.get(f"/v2/customers/{cid}").json()
        assert body["lastName"] == ""
        assert body["gender"] == "Unknown"
        assert body["background"] == ""
        for key in ("jobTitle", "location", "organization", "photoType", "photoUrl", "age"):
            assert key not in body
        assert body["_embedded"]["emails"] == [] and body["_embedded"]["phones"] == []

    def test_links_with_trailing_slash_resolve(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        body = api.get(f"/v2/customers/{cid}").json()
        for rel in ("emails", "phones", "chats", "websites", "social-profiles"):
            response = api.get(body["_links"][rel]["href"])
            assert response.status_code == 200, (rel, response.text)
            assert "_embedded" in response.json()

    def test_any_user_may_read_a_customer(self, api: Api) -> None:
        cid = _customer(api, firstName="Shared")
        member = api.as_user(api.user("user", []))
        assert member.get(f"/v2/customers/{cid}").json()["firstName"] == "Shared"

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/customers/999999"), 404)

    def test_non_numeric_id_is_400(self, api: Api) -> None:
        errors = errors_by_path(api.get("/v2/customers/abc"))
        assert errors["customer_id"]["source"] == "path"

    def test_id_too_large_to_exist_is_400(self, api: Api) -> None:
        for url in ("/v2/customers/99999999999999999999", "/v2/customers/0"):
            errors = errors_by_path(api.get(url))
            assert errors["customer_id"]["source"] == "path"
        assert "mailbox" in errors_by_path(
            api.get("/v2/customers", params={"mailbox": "99999999999999999999"})
        )

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/customers/1"), 401)


class TestListCustomers:
    def test_lists_with_embedded_emails(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        response = api.get("/v2/customers")
        assert response.status_code == 200
        body = response.json()
        assert body["page"] == {"size": 50, "totalElements": 1, "totalPages": 1, "number": 1}
        (item,) = body["_embedded"]["customers"]
        assert item == api.get(f"/v2/customers/{cid}").json()
        assert [e["value"] for e in item["_embedded"]["emails"]] == ["bear@acme.com", "vernon@home.example"]

    def test_empty_list_keeps_embedded(self, api: Api) -> None:
        body = api.get("/v2/customers").json()
        assert body["_embedded"] == {"customers": []}
        assert body["page"]["totalElements"] == 0

    def test_filters(self, api: Api) -> None:
        ann = _customer(api, firstName="Ann", lastName="Lee", emails=[{"value": "ann@example.com"}])
        bob = _customer(api, firstName="Bob", lastName="Lee", emails=[{"value": "bob@example.com"}])

        def ids(**params: Any) -> list[int]:
            response = api.get("/v2/customers", params=params)
            assert response.status_code == 200, response.text
            return [c["id"] for c in response.json()["_embedded"]["customers"]]

        assert ids(firstName="ANN") == [ann]
        assert ids(lastName="lee", sortField="firstName", sortOrder="asc") == [ann, bob]
        assert ids(email="Bob@Example.com") == [bob]
        assert ids(email="nobody@example.com") == []
        assert ids(firstName="ann", lastName="smith") == []
        assert ids(modifiedSince="2000-01-01T00:00:00Z", sortOrder="asc") == [ann, bob]
        assert ids(modifiedSince="2999-01-01T00:00:00Z") == []

    def test_mailbox_filter(self, api: Api) -> None:
        mailbox, other = api.mailbox(), api.mailbox()
        inside = _customer(api, firstName="Inside")
        _customer(api, firstName="Outside")
        gone = _customer(api, firstName="Gone")
        _conversation_for(api, mailbox, inside)
        _conversation_for(api, other, inside)
        deleted = _conversation_for(api, mailbox, gone)
        assert api.delete(f"/v2/conversations/{deleted}").status_code == 204
        body = api.get("/v2/customers", params={"mailbox": mailbox}).json()
        assert [c["id"] for c in body["_embedded"]["customers"]] == [inside]

    def test_sorting(self, api: Api) -> None:
        zed = _customer(api, firstName="zed", lastName="Alpha")
        amy = _customer(api, firstName="Amy", lastName="Zulu")
        mia = _customer(api, firstName="mia", lastName="Mid")

        def ids(**params: Any) -> list[int]:
            return [c["id"] for c in api.get("/v2/customers", params=params).json()["_embedded"]["customers"]]

        assert ids() == [mia, amy, zed]  # score without a query: newest first
        assert ids(sortField="score", sortOrder="asc") == [zed, amy, mia]
        assert ids(sortField="firstName", sortOrder="asc") == [amy, mia, zed]
        assert ids(sortField="firstName") == [zed, mia, amy]
        assert ids(sortField="lastName", sortOrder="asc") == [zed, mia, amy]

    def test_modified_at_sort_and_filter(self, api: Api, app: Any) -> None:
        early, late, middle = (_customer(api, firstName=n) for n in ("Early", "Late", "Middle"))
        stamps = {early: 1_500_000_000, middle: 1_600_000_000, late: 1_700_000_000}
        with app.state.db.engine.begin() as conn:
            for cid, stamp in stamps.items():
                conn.execute(update(customers).where(customers.c.id == cid).values(updated_at=stamp))

        def ids(**params: Any) -> list[int]:
            return [c["id"] for c in api.get("/v2/customers", params=params).json()["_embedded"]["customers"]]

        assert ids(sortField="modifiedAt") == [late, middle, early]
        assert ids(sortField="modifiedAt", sortOrder="asc") == [early, middle, late]
        assert ids(modifiedSince="2020-09-13T12:26:40Z", sortField="modifiedAt") == [late, middle]

    def test_paging(self, api: Api) -> None:
        for n in range(51):
            _customer(api, firstName=f"P{n:02d}")
        first = api.get("/v2/customers", params={"sortField": "firstName", "sortOrder": "asc"}).json()
        assert first["page"] == {"size": 50, "totalElements": 51, "totalPages": 2, "number": 1}
        assert len(first["_embedded"]["customers"]) == 50
        assert "page=2" in first["_links"]["next"]["href"]
        assert "sortField=firstName" in first["_links"]["next"]["href"]
        second = api.get(first["_links"]["next"]["href"]).json()
        assert [c["firstName"] for c in second["_embedded"]["customers"]] == ["P50"]
        past = api.get("/v2/customers", params={"page": 9}).json()
        assert past["_embedded"]["customers"] == [] and past["page"]["totalElements"] == 51

    def test_one_query_for_all_emails_of_a_page(self, api: Api, app: Any) -> None:
        def run() -> int:
            with statements(app) as seen:
                assert api.get("/v2/customers").status_code == 200
            return len(seen)

        _customer(api, firstName="One", emails=[{"value": "one@example.com"}])
        few = run()
        for n in range(12):
            _customer(api, firstName=f"Many{n}", emails=[{"value": f"many{n}@example.com"}])
        assert run() == few

    def test_every_invalid_parameter_is_listed(self, api: Api) -> None:
        errors = errors_by_path(
            api.get(
                "/v2/customers",
                params={
                    "sortField": "shoeSize",
                    "sortOrder": "up",
                    "modifiedSince": "yesterday",
                    "page": 0,
                    "mailbox": "x",
                },
            )
        )
        assert set(errors) == {"sortField", "sortOrder", "modifiedSince", "page", "mailbox"}
        assert all(e["source"] == "query" for e in errors.values())
        assert errors["sortField"]["rejectedValue"] == "shoeSize"
        assert "firstName" in errors["sortField"]["message"]

    def test_user_sees_only_customers_of_their_mailboxes(self, api: Api) -> None:
        mine, theirs = api.mailbox(), api.mailbox()
        visible = _customer(api, firstName="Visible")
        hidden = _customer(api, firstName="Hidden")
        _customer(api, firstName="NoConversation")
        _conversation_for(api, mine, visible)
        _conversation_for(api, theirs, hidden)
        member = api.as_user(api.user("user", [mine]))
        body = member.get("/v2/customers").json()
        assert [c["id"] for c in body["_embedded"]["customers"]] == [visible]
        assert body["page"]["totalElements"] == 1
        assert member.get("/v2/customers", params={"mailbox": theirs}).json()["_embedded"]["customers"] == []
        assert len(api.get("/v2/customers").json()["_embedded"]["customers"]) == 3

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/customers"), 401)


class TestPutCustomer:
    def test_overwrites_every_scalar_field(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        response = api.put(f"/v2/customers/{cid}", {"firstName": "Vera", "gender": "FEMALE", "age": "40"})
        assert response.status_code == 204, response.text
        body = api.get(f"/v2/customers/{cid}").json()
        assert body["firstName"] == "Vera"
        assert body["lastName"] == ""
        assert body["gender"] == "Female"
        assert body["age"] == "40"
        assert body["background"] == ""
        for key in ("jobTitle", "location", "organization", "photoType", "photoUrl"):
            assert key not in body
        assert len(body["_embedded"]["emails"]) == 2, "PUT leaves emails alone"

    def test_renaming_updates_conversations(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = _customer(api, firstName="Old", lastName="Name", emails=[{"value": "old@example.com"}])
        conversation = _conversation_for(api, mailbox, cid)
        assert api.put(f"/v2/customers/{cid}", {"firstName": "New", "lastName": "Name"}).status_code == 204
        primary = api.get(f"/v2/conversations/{conversation}").json()["primaryCustomer"]
        assert primary["first"] == "New"

    def test_invalid_fields_are_400(self, api: Api) -> None:
        cid = _customer(api)
        errors = errors_by_path(api.put(f"/v2/customers/{cid}", {"firstName": "", "jobTitle": "x" * 61}))
        assert set(errors) == {"firstName", "jobTitle"}

    def test_name_needed_when_no_email(self, api: Api) -> None:
        cid = _customer(api, firstName="Named")
        assert set(errors_by_path(api.put(f"/v2/customers/{cid}", {"lastName": "Only"}))) == {"firstName"}

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.put("/v2/customers/999999", {"firstName": "X"}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.put("/v2/customers/1", json={"firstName": "X"}), 401)


class TestPatchCustomer:
    def test_single_operation(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        response = api.patch(f"/v2/customers/{cid}", {"op": "replace", "path": "/jobTitle", "value": "CTO"})
        assert response.status_code == 204, response.text
        body = api.get(f"/v2/customers/{cid}").json()
        assert body["jobTitle"] == "CTO"
        assert body["firstName"] == "Vernon" and body["organization"] == "Acme, Inc"

    def test_list_of_operations(self, api: Api) -> None:
        cid = _customer(api, **FULL)
        ops = [
            {"op": "replace", "path": "/firstName", "value": "Vic"},
            {"op": "replace", "path": "/gender", "value": "unknown"},
            {"op": "remove", "path": "/location"},
        ]
        assert api.patch(f"/v2/customers/{cid}", ops).status_code == 204
        body = api.get(f"/v2/customers/{cid}").json()
        assert (body["firstName"], body["gender"]) == ("Vic", "Unknown")
        assert "location" not in body

    def test_first_name_change_reaches_conversations_and_their_sorting(self, api: Api) -> None:
        mailbox = api.mailbox()
        anna = _customer(api, firstName="Anna", lastName="A", emails=[{"value": "anna@example.com"}])
        bert = _customer(api, firstName="Bert", lastName="B", emails=[{"value": "bert@example.com"}])
        c_anna = _conversation_for(api, mailbox, anna)
        c_bert = _conversation_for(api, mailbox, bert)

        def by_name() -> list[int]:
            params = {"mailbox": mailbox, "sortField": "customerName", "sortOrder": "asc"}
            return [
                c["id"]
                for c in api.get("/v2/conversations", params=params).json()["_embedded"]["conversations"]
            ]

        assert by_name() == [c_anna, c_bert]
        assert (
            api.patch(
                f"/v2/customers/{anna}", {"op": "replace", "path": "/firstName", "value": "Zoe"}
            ).status_code
            == 204
        )
        assert api.get(f"/v2/conversations/{c_anna}").json()["primaryCustomer"]["first"] == "Zoe"
        assert by_name() == [c_bert, c_anna]

    def test_every_bad_operation_is_listed(self, api: Api) -> None:
        cid = _customer(api, firstName="Keep")
        ops = [
            {"op": "replace", "path": "/firstName", "value": "x" * 41},
            {"op": "jump", "path": "/shoeSize", "value": 1},
            {"op": "replace", "path": "/gender", "value": "robot"},
            {"op": ["replace"], "path": ["/firstName"]},
        ]
        errors = errors_by_path(api.patch(f"/v2/customers/{cid}", ops))
        assert set(errors) == {"[0].value", "[1].op", "[1].path", "[2].value", "[3].op", "[3].path"}
        assert errors["[1].path"]["rejectedValue"] == "/shoeSize"
        assert "/firstName" in errors["[1].path"]["message"]
        assert api.get(f"/v2/customers/{cid}").json()["firstName"] == "Keep"

    def test_single_bad_operation_paths_have_no_index(self, api: Api) -> None:
        cid = _customer(api)
        errors = errors_by_path(
            api.patch(f"/v2/customers/{cid}", {"op": "replace", "path": "/age", "value": "x" * 21})
        )
        assert set(errors) == {"value"}

    def test_body_must_be_an_object_or_list(self, api: Api) -> None:
        cid = _customer(api)
        vnd_error(api.patch(f"/v2/customers/{cid}", "firstName"), 400)
        assert set(errors_by_path(api.patch(f"/v2/customers/{cid}", []))) == {"body"}

    def test_unknown_is_404(self, api: Api) -> None:
        vnd_error(api.patch("/v2/customers/999999", {"op": "replace", "path": "/age", "value": "1"}), 404)

    def test_without_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.patch("/v2/customers/1", json={"op": "replace", "path": "/age", "value": "1"}), 401)
