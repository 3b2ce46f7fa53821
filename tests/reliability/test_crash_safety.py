"""SIGKILL the server in the middle of a stream of writes: every write it had answered with
201 or 204 is there after a restart."""

from __future__ import annotations

import threading
import time

import httpx

from tests.support.server import ServerProcess


def test_acknowledged_writes_survive_sigkill(db_url: str) -> None:
    server = ServerProcess(db_url, workers=2).start()
    acknowledged: list[int] = []
    noted: list[tuple[int, str]] = []
    stop = threading.Event()
    try:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as client:
            mailbox = int(
                client.post("/v2/mailboxes", json={"name": "Crash", "email": "crash@example.com"}).headers[
                    "Resource-ID"
                ]
            )

        def stream(worker: int) -> None:
            with httpx.Client(base_url=server.base_url, headers=headers, timeout=10) as own:
                n = 0
                while not stop.is_set():
                    n += 1
                    body = {
                        "subject": f"crash {worker}-{n}",
                        "type": "email",
                        "mailboxId": mailbox,
                        "status": "active",
                        "customer": {"email": f"crash{worker}@example.com"},
                        "threads": [
                            {
                                "type": "customer",
                                "text": "x",
                                "customer": {"email": f"crash{worker}@example.com"},
                            }
                        ],
                    }
                    try:
                        response = own.post("/v2/conversations", json=body)
                        if response.status_code == 201:
                            cid = int(response.headers["Resource-ID"])
                            acknowledged.append(cid)
                            note = own.post(
                                f"/v2/conversations/{cid}/notes", json={"text": f"note {worker}-{n}"}
                            )
                            if note.status_code == 201:
                                noted.append((cid, f"note {worker}-{n}"))
                    except httpx.HTTPError:
                        return  # the server is gone

        writers = [threading.Thread(target=stream, args=(w,)) for w in range(4)]
        for t in writers:
            t.start()
        deadline = time.time() + 30
        while len(acknowledged) < 150 and time.time() < deadline:
            time.sleep(0.05)
        server.kill()
        stop.set()
        for t in writers:
            t.join(timeout=15)
        assert len(acknowledged) >= 150, "the stream was running when the server was killed"
    finally:
        server.kill()

    with ServerProcess(db_url, workers=1) as restarted:
        headers = {"Authorization": f"Bearer {restarted.token()}"}
        with httpx.Client(base_url=restarted.base_url, headers=headers, timeout=30) as client:
            listed = client.get("/v2/conversations", params={"mailbox": mailbox}).json()
            assert listed["page"]["totalElements"] >= len(acknowledged)
            for cid in acknowledged:
                assert client.get(f"/v2/conversations/{cid}").status_code == 200, cid
            for cid, text in noted:
                bodies = [
                    t.get("body")
                    for t in client.get(f"/v2/conversations/{cid}/threads").json()["_embedded"]["threads"]
                ]
                assert text in bodies, (cid, text)
