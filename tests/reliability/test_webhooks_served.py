"""Webhooks from `tidings serve --workers 2`: each worker's sender runs, and every event of writes
spread over both workers is posted once."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.support.receiver import receiving
from tests.support.server import ServerProcess

EVENTS = 40


def test_two_workers_post_every_event_once(db_url: str) -> None:
    env = {"TIDINGS_WEBHOOK_POLL_SECONDS": "0.1"}
    with receiving() as receiver, ServerProcess(db_url, workers=2, extra_env=env) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            hook = {"url": receiver.url, "events": ["convo.created"], "secret": "served"}
            assert client.post("/v2/webhooks", json=hook).status_code == 201
            created = client.post("/v2/mailboxes", json={"name": "Hooks", "email": "hooks@example.com"})
            mailbox = int(created.headers["Resource-ID"])

            def create(n: int) -> int:
                body = {
                    "subject": f"hooked {n}",
                    "type": "email",
                    "mailboxId": mailbox,
                    "status": "active",
                    "customer": {"email": "hooked@example.com"},
                    "threads": [{"type": "customer", "text": f"message {n}"}],
                }
                response = client.post("/v2/conversations", json=body)
                assert response.status_code == 201, response.text
                return int(response.headers["Resource-ID"])

            with ThreadPoolExecutor(4) as pool:
                ids = set(pool.map(create, range(EVENTS)))
        receiver.wait_for(EVENTS, seconds=60)
        time.sleep(0.5)  # a second post of any event would arrive now
    posted = [r.json()["id"] for r in receiver.received]
    assert sorted(posted) == sorted(ids)
    assert {r.event for r in receiver.received} == {"convo.created"}
