"""How fast the server refuses what it must refuse: oversized bodies (413), non-JSON (415), too
many threads (412), very long and deeply nested queries (400). Prints median and worst times
over real HTTP against `tidings serve`; the figures go in the README's Guarantees."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.server import ServerProcess  # noqa: E402


def timed(client: httpx.Client, repeat: int, method: str, url: str, **kw: object) -> tuple[int, float, float]:
    times = []
    status = 0
    for _ in range(repeat):
        started = time.perf_counter()
        status = client.request(method, url, **kw).status_code  # type: ignore[arg-type]
        times.append((time.perf_counter() - started) * 1000)
    return status, statistics.median(times), max(times)


def main() -> None:
    url = f"sqlite:///{tempfile.mkdtemp()}/limits.db"
    with ServerProcess(url, workers=1) as server:
        headers = {"Authorization": f"Bearer {server.token()}"}
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=60) as client:
            mailbox = int(
                client.post("/v2/mailboxes", json={"name": "L", "email": "l@example.com"}).headers[
                    "Resource-ID"
                ]
            )
            big = b'{"subject": "' + b"x" * (11 * 1024 * 1024) + b'"}'
            threads = [{"type": "note", "text": "n"} for _ in range(101)]
            body = {
                "subject": "s",
                "type": "email",
                "mailboxId": mailbox,
                "status": "active",
                "customer": {"email": "c@example.com"},
                "threads": threads,
            }
            cases = [
                (
                    "body over 10 MB",
                    "POST",
                    "/v2/conversations",
                    {"content": big, "headers": {"content-type": "application/json"}},
                ),
                (
                    "text/plain body",
                    "POST",
                    "/v2/conversations",
                    {"content": b"hello", "headers": {"content-type": "text/plain"}},
                ),
                ("101 threads", "POST", "/v2/conversations", {"json": body}),
                (
                    "query of 2,001 characters",
                    "GET",
                    "/v2/conversations",
                    {"params": {"query": "a " * 1000 + "b"}},
                ),
                (
                    "query nested 33 deep",
                    "GET",
                    "/v2/conversations",
                    {"params": {"query": "(" * 33 + "a" + ")" * 33}},
                ),
                (
                    "query of 1,000 OR terms",
                    "GET",
                    "/v2/conversations",
                    {"params": {"query": " OR ".join(f"w{i}" for i in range(399))}},
                ),
            ]
            for name, method, path, kw in cases:
                status, median, worst = timed(client, 20, method, path, **kw)
                print(f"| {name} | {status} | {median:.1f} | {worst:.1f} |")


if __name__ == "__main__":
    main()
