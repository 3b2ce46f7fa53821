"""Users: list with filters, get, me, and the admin endpoints for users and apps."""

from __future__ import annotations

from tests.support.api import Api
from tests.support.asserts import vnd_error


class TestUsers:
    def test_create_get_and_list(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = {
            "firstName": "Mary",
            "lastName": "Jones",
            "email": "mary@example.com",
            "role": "user",
            "mailboxIds": [mailbox],
        }
        user = api.created_id(api.post("/v2/users", body))
        got = api.get(f"/v2/users/{user}").json()
        assert (got["firstName"], got["lastName"], got["email"], got["role"], got["type"]) == (
            "Mary",
            "Jones",
            "mary@example.com",
            "user",
            "user",
        )
        assert got["_links"]["self"]["href"] == f"http://testserver/v2/users/{user}"
        by_email = api.get("/v2/users", params={"email": "MARY@example.com"}).json()["_embedded"]["users"]
        assert [u["id"] for u in by_email] == [user]
        other_mailbox = api.mailbox()
        in_mailbox = {
            u["id"] for u in api.get("/v2/users", params={"mailbox": mailbox}).json()["_embedded"]["users"]
        }
        in_other = {
            u["id"]
            for u in api.get("/v2/users", params={"mailbox": other_mailbox}).json()["_embedded"]["users"]
        }
        assert user in in_mailbox and user not in in_other

    def test_me_and_company(self, api: Api) -> None:
        me = api.get("/v2/users/me").json()
        assert me["role"] == "owner" and me["companyId"] == 1

    def test_duplicate_email_is_409(self, api: Api) -> None:
        api.user(email="twice@example.com")
        vnd_error(
            api.post("/v2/users", {"firstName": "A", "email": "Twice@example.com", "role": "user"}), 409
        )

    def test_invalid_user_body(self, api: Api) -> None:
        vnd_error(
            api.post("/v2/users", {"firstName": "", "email": "x", "role": "boss"}),
            400,
            "firstName",
            "email",
            "role",
        )
        vnd_error(
            api.post("/v2/users", {"firstName": "A", "email": "a@example.com", "mailboxIds": [999]}),
            400,
            "mailboxIds",
        )

    def test_user_role_cannot_administer(self, api: Api) -> None:
        agent_id = api.user("user")
        agent = api.as_user(agent_id)
        vnd_error(agent.post("/v2/users", {"firstName": "A", "email": "a2@example.com"}), 403)
        vnd_error(agent.post(f"/v2/users/{agent_id}/apps", {}), 403)
        assert agent.get("/v2/users/me").json()["id"] == agent_id

    def test_admin_cannot_create_owner(self, api: Api) -> None:
        admin = api.as_user(api.user("admin"))
        vnd_error(
            admin.post("/v2/users", {"firstName": "A", "email": "o2@example.com", "role": "owner"}), 403
        )
        assert admin.created_id(
            admin.post("/v2/users", {"firstName": "A", "email": "a3@example.com", "role": "admin"})
        )

    def test_apps_give_working_credentials(self, api: Api) -> None:
        user = api.user("admin")
        response = api.post(f"/v2/users/{user}/apps", {"name": "Zapier"})
        assert response.status_code == 201 and response.headers["content-type"].startswith("application/json")
        creds = response.json()
        assert set(creds) == {"appId", "appSecret"}
        token = api.client.post(
            "/v2/oauth2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": creds["appId"],
                "client_secret": creds["appSecret"],
            },
        ).json()["access_token"]
        me = api.client.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"}).json()
        assert me["id"] == user
        vnd_error(api.post("/v2/users/4242/apps", {}), 404)

    def test_missing_user_is_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/users/4242"), 404)
