"""What a listening webhook costs a write: the median time of a create, a reply and a status
change over real HTTP against `tidings serve`, with no webhook and with one asking for every
event (its deliveries written in each write's transaction and posted to a local receiver by the
server's own sender). `python bench/webhook_writes.py [DATABASE_URL]` (default: a fresh SQLite
file); the figures go in the README's *Webhooks*."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.receiver import receiving  # noqa: E402
from tests.support.server import ServerProcess  # noqa: E402

from tidings.webhooks.schemas import CAUSED  # noqa: E402

ROUNDS = 200


def writes(client: httpx.Client, mailbox: int, rounds: int) -> list[float]:
    """Milliseconds of each write: create, reply, close, `rounds` times."""
    times = []
    for n in range(rounds):
        customer = {"email": f"writer{n % 50}@example.com"}
        body = {
            "subject": f"write {n}",
            "type": "email",
            "mailboxId": mailbox,
            "status": "active",
            "customer": customer,
            "threads": [{"type": "customer", "text": "Hello, my order has not arrived."}],
            "tags": ["bench", "writes"],
        }
        requests = [
            ("POST", "/v2/conversations", body),
            ("POST", "/v2/conversations/{id}/reply", {"text": "On its way.", "customer": customer}),
            ("PATCH", "/v2/conversations/{id}", {"op": "replace", "path": "/status", "value": "closed"}),
        ]
        conversation_id = ""
        for method, path, json in requests:
            started = time.perf_counter()
            response = client.request(method, path.format(id=conversation_id), json=json)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code in (201, 204), response.text
            conversation_id = conversation_id or response.headers["Resource-ID"]
    return times


def main() -> None:
    url = sys.argv[1] if len(sys.argv) > 1 else f"sqlite:///{tempfile.mkdtemp()}/webhook-writes.db"
    with receiving() as receiver, ServerProcess(url, workers=1) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            created = client.post("/v2/mailboxes", json={"name": "W", "email": "w@example.com"})
            mailbox = int(created.headers["Resource-ID"])
            writes(client, mailbox, 20)  # warm up
            quiet = writes(client, mailbox, ROUNDS)
            hook = {"url": receiver.url, "events": sorted(CAUSED), "secret": "bench"}
            assert client.post("/v2/webhooks", json=hook).status_code == 201
            heard = writes(client, mailbox, ROUNDS)
        receiver.wait_for(len(heard), seconds=60)
    for label, times in (("no webhook", quiet), ("a webhook asking for every event", heard)):
        p90 = statistics.quantiles(times, n=10)[-1]
        print(f"{label}: median {statistics.median(times):.2f} ms a write, p90 {p90:.2f} ms")
    print(f"posts received: {len(receiver.received)}")


if __name__ == "__main__":
    main()
