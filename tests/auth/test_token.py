"""POST /v2/oauth2/token and bearer-token checks."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.asserts import vnd_error
from tidings.db.tables import apps, tokens

CREDS = {"grant_type": "client_credentials", "client_id": BOOT_APP_ID, "client_secret": BOOT_APP_SECRET}


class TestTokenRequest:
    def test_form_body(self, client: TestClient) -> None:
        response = client.post("/v2/oauth2/token", data=CREDS)
        assert response.status_code == 200
        body = response.json()
        assert body["token_type"] == "bearer"
        assert body["expires_in"] == 172800
        assert len(body["access_token"]) >= 32

    def test_json_body(self, client: TestClient) -> None:
        response = client.post(
            "/v2/oauth2/token", content=json.dumps(CREDS), headers={"content-type": "application/json"}
        )
        assert response.status_code == 200
        assert response.json()["access_token"]

    def test_query_string(self, client: TestClient) -> None:
        response = client.post("/v2/oauth2/token", params=CREDS)
        assert response.status_code == 200
        assert response.json()["access_token"]

    def test_wrong_secret_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/oauth2/token", data={**CREDS, "client_secret": "nope"}), 401)

    def test_unknown_app_is_401(self, client: TestClient) -> None:
        vnd_error(client.post("/v2/oauth2/token", data={**CREDS, "client_id": "nope"}), 401)

    def test_missing_fields_are_all_listed(self, client: TestClient) -> None:
        body = vnd_error(client.post("/v2/oauth2/token", data={"grant_type": "password"}), 400)
        paths = {e["path"]: e for e in body["_embedded"]["errors"]}
        assert set(paths) == {"client_id", "client_secret", "grant_type"}
        assert paths["grant_type"]["rejectedValue"] == "password"
        assert "client_credentials" in paths["grant_type"]["message"]

    def test_refresh_token_rotates(self, client: TestClient) -> None:
        first = client.post("/v2/oauth2/token", data=CREDS).json()
        refreshed = client.post(
            "/v2/oauth2/token",
            data={**CREDS, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        )
        assert refreshed.status_code == 200
        second = refreshed.json()
        assert second["refresh_token"] != first["refresh_token"]
        assert second["access_token"] != first["access_token"]
        again = client.post(
            "/v2/oauth2/token",
            data={**CREDS, "grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        )
        vnd_error(again, 401)
        me = client.get("/v2/users/me", headers={"Authorization": f"Bearer {second['access_token']}"})
        assert me.status_code == 200

    def test_secrets_and_tokens_are_stored_hashed(self, client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
        issued = client.post("/v2/oauth2/token", data=CREDS).json()
        with app.state.db.engine.connect() as conn:
            stored_secret = conn.execute(select(apps.c.secret_hash)).scalar_one()
            stored_tokens = conn.execute(select(tokens.c.token_hash)).scalars().all()
        assert BOOT_APP_SECRET not in stored_secret
        assert issued["access_token"] not in stored_tokens
        assert issued["refresh_token"] not in stored_tokens
        assert len(stored_tokens) == 2


class TestBearer:
    def test_missing_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/users/me"), 401)

    def test_malformed_header_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/users/me", headers={"Authorization": "Basic abc"}), 401)

    def test_unknown_token_is_401(self, client: TestClient) -> None:
        vnd_error(client.get("/v2/users/me", headers={"Authorization": "Bearer not-a-token"}), 401)

    def test_expired_token_is_401(self, client: TestClient, app) -> None:  # type: ignore[no-untyped-def]
        token = client.post("/v2/oauth2/token", data=CREDS).json()["access_token"]
        with app.state.db.engine.begin() as conn:
            conn.execute(tokens.update().values(expires_at=1))
        vnd_error(client.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"}), 401)

    def test_valid_token_acts_as_owner(self, client: TestClient) -> None:
        token = client.post("/v2/oauth2/token", data=CREDS).json()["access_token"]
        me = client.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["role"] == "owner"
        assert me.json()["email"] == "owner@example.com"
        assert me.headers["content-type"] == "application/hal+json;charset=UTF-8"


class TestUnstorableCredentials:
    def test_nul_and_surrogates_are_400(self, client: TestClient) -> None:
        body = {**CREDS, "client_id": "\x00abc"}
        response = client.post(
            "/v2/oauth2/token", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        vnd_error(response, 400)
        raw = '{"grant_type": "client_credentials", "client_id": "\\udb4b", "client_secret": "x"}'
        response = client.post("/v2/oauth2/token", content=raw, headers={"content-type": "application/json"})
        vnd_error(response, 400)
