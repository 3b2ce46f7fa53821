"""Webhook tests: a real receiver, and the app's sender run when a test says so."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.receiver import Receiver, receiving
from tidings.kit import timefmt
from tidings.webhooks import repository


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving() as found:
        yield found


class Hooks:
    """Create webhooks pointing at the receiver and send what is due."""

    def __init__(self, api: Api, client: TestClient, receiver: Receiver) -> None:
        self.api = api
        self.client = client
        self.receiver = receiver

    def create(self, events: list[str], **changes: Any) -> int:
        body = {"url": self.receiver.url, "events": events, "secret": "topsecret", **changes}
        return self.api.created_id(self.api.post("/v2/webhooks", body))

    def send(self, seconds_later: float = 0) -> int:
        """Run the app's sender once as if `seconds_later` had passed; how many it posted."""
        sender = self.client.app.state.webhook_sender  # type: ignore[attr-defined]
        at = timefmt.now() + timedelta(seconds=seconds_later)
        return int(self.client.portal.call(sender.send_due, at))  # type: ignore[union-attr]

    def deliveries(self, webhook_id: int) -> list[dict[str, Any]]:
        db = self.client.app.state.db  # type: ignore[attr-defined]
        return list(db.read_sync(repository.deliveries_of, webhook_id))

    def state(self, webhook_id: int) -> str:
        return str(self.api.get(f"/v2/webhooks/{webhook_id}").json()["state"])


@pytest.fixture
def hooks(api: Api, client: TestClient, receiver: Receiver) -> Hooks:
    return Hooks(api, client, receiver)
