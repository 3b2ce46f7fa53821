"""A thin authenticated wrapper over the TestClient, with factories that build test data
through the public API only (so tests exercise the same paths as real clients)."""

from __future__ import annotations

import itertools
from typing import Any

import httpx
from fastapi.testclient import TestClient

_seq = itertools.count(1)


class Api:
    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.token = token

    @classmethod
    def for_app(cls, client: TestClient, app_id: str, secret: str) -> Api:
        response = client.post(
            "/v2/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": app_id, "client_secret": secret},
        )
        assert response.status_code == 200, response.text
        return cls(client, response.json()["access_token"])

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def get(self, url: str, headers: dict[str, str] | None = None, **kw: Any) -> httpx.Response:
        return self.client.get(url, headers={**self.headers, **(headers or {})}, **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.post(url, json=json, headers=self.headers, **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.put(url, json=json, headers=self.headers, **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> httpx.Response:
        return self.client.patch(url, json=json, headers=self.headers, **kw)

    def delete(self, url: str, **kw: Any) -> httpx.Response:
        return self.client.delete(url, headers=self.headers, **kw)

    # -- factories (each returns the new resource's id) --------------------------------------

    def created_id(self, response: httpx.Response) -> int:
        assert response.status_code == 201, response.text
        return int(response.headers["Resource-ID"])

    def mailbox(self, name: str | None = None, email: str | None = None) -> int:
        n = next(_seq)
        return self.created_id(
            self.post(
                "/v2/mailboxes", {"name": name or f"Mailbox {n}", "email": email or f"support{n}@example.com"}
            )
        )

    def user(
        self,
        role: str = "user",
        mailbox_ids: list[int] | None = None,
        first: str | None = None,
        last: str = "Tester",
        email: str | None = None,
    ) -> int:
        n = next(_seq)
        body = {
            "firstName": first or f"User{n}",
            "lastName": last,
            "email": email or f"user{n}@example.com",
            "role": role,
            "mailboxIds": mailbox_ids or [],
        }
        return self.created_id(self.post("/v2/users", body))

    def as_user(self, user_id: int) -> Api:
        """An Api acting as another user, through an app created for that user."""
        response = self.post(f"/v2/users/{user_id}/apps", {})
        assert response.status_code == 201, response.text
        creds = response.json()
        return Api.for_app(self.client, creds["appId"], creds["appSecret"])

    def conversation(self, mailbox_id: int, **overrides: Any) -> int:
        n = next(_seq)
        body: dict[str, Any] = {
            "subject": f"Subject {n}",
            "type": "email",
            "mailboxId": mailbox_id,
            "status": "active",
            "customer": {"email": f"customer{n}@example.com", "firstName": "Cust", "lastName": f"Omer{n}"},
            "threads": [
                {"type": "customer", "customer": {"email": f"customer{n}@example.com"}, "text": "Hello"}
            ],
        }
        body.update(overrides)
        return self.created_id(self.post("/v2/conversations", body))
