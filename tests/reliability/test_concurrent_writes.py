"""Many writers against `tidings serve --workers 2`: nothing acknowledged is lost, numbers stay
unique, counts are exact, and concurrent updates of one conversation end in a serial state."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select

from tests.support.server import ServerProcess
from tidings.db.tables import conversations
from tidings.kit.db import create_db_engine

WRITERS = 8
CREATES_PER_WRITER = 250


def _create(client: httpx.Client, mailbox: int, n: int) -> int | None:
    body = {
        "subject": f"load {n}",
        "type": "email",
        "mailboxId": mailbox,
        "status": "active",
        "customer": {"email": f"load{n % 97}@example.com"},
        "threads": [
            {"type": "customer", "text": f"message {n}", "customer": {"email": f"load{n % 97}@example.com"}}
        ],
    }
    response = client.post("/v2/conversations", json=body)
    return int(response.headers["Resource-ID"]) if response.status_code == 201 else None


def test_parallel_creates_are_all_kept(db_url: str) -> None:
    with ServerProcess(db_url, workers=2) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            mailbox = int(
                client.post("/v2/mailboxes", json={"name": "Load", "email": "load@example.com"}).headers[
                    "Resource-ID"
                ]
            )

            def writer(w: int) -> list[int | None]:
                with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as own:
                    return [
                        _create(own, mailbox, w * CREATES_PER_WRITER + i) for i in range(CREATES_PER_WRITER)
                    ]

            with ThreadPoolExecutor(WRITERS) as pool:
                results = [cid for batch in pool.map(writer, range(WRITERS)) for cid in batch]
            acknowledged = [cid for cid in results if cid is not None]
            assert len(acknowledged) == WRITERS * CREATES_PER_WRITER, "every create was acknowledged"
            listed = client.get("/v2/conversations", params={"mailbox": mailbox}).json()
            assert listed["page"]["totalElements"] == len(acknowledged)
            folders = client.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
            assert sum(f["totalCount"] for f in folders) == len(acknowledged)
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(select(conversations.c.id, conversations.c.number)).all()
            assert {r.id for r in rows} == set(acknowledged)
            numbers = [r.number for r in rows]
            assert len(set(numbers)) == len(numbers) == len(acknowledged)
            by_id = sorted(rows)
            assert [r.number for r in by_id] == sorted(numbers), "numbers increase with creation"
            assert conn.execute(select(func.max(conversations.c.number))).scalar_one() == len(acknowledged)
    finally:
        engine.dispose()


def test_concurrent_updates_end_in_a_serial_state(db_url: str) -> None:
    tag_sets = [["red"], ["blue", "green"], ["red", "gold"], []]
    statuses = ["active", "pending", "closed"]
    with ServerProcess(db_url, workers=2) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            mailbox = int(
                client.post("/v2/mailboxes", json={"name": "Race", "email": "race@example.com"}).headers[
                    "Resource-ID"
                ]
            )
            cid = _create(client, mailbox, 1)

            def update(i: int) -> int:
                with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as own:
                    rng = random.Random(i)
                    if i % 2:
                        return own.put(
                            f"/v2/conversations/{cid}/tags", json={"tags": rng.choice(tag_sets)}
                        ).status_code
                    op = {"op": "replace", "path": "/status", "value": rng.choice(statuses)}
                    return own.patch(f"/v2/conversations/{cid}", json=op).status_code

            with ThreadPoolExecutor(8) as pool:
                codes = list(pool.map(update, range(80)))
            assert set(codes) == {204}
            final = client.get(f"/v2/conversations/{cid}").json()
            assert sorted(t["tag"] for t in final["tags"]) in [sorted(s) for s in tag_sets]
            assert final["status"] in statuses
            folders = {
                f["id"]: f["type"]
                for f in client.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
            }
            assert folders[final["folderId"]] == ("closed" if final["status"] == "closed" else "unassigned")
            threads = client.get(f"/v2/conversations/{cid}/threads", params={"page": 1}).json()
            items = [t for t in threads["_embedded"]["threads"] if t["type"] == "lineitem"]
            if items:
                assert items[0]["status"] == final["status"], (
                    "the newest status line item matches the final status"
                )
