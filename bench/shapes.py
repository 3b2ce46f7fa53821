"""`make bench-shapes`: many list and search shapes timed one request at a time, in process.

The benchmark (`bench/run.py`) measures a fixed mix under load; most slow searches found since
were shapes outside it: a prefix naming customers, `NOT` a common word, a tag OR-ed with
another, a name beside a word. This asks each request of `bench/shapes.txt` twice, on the data
`make bench` generated (nothing is generated here), through the app in this process: the first
request finds nothing kept for it (the process has served the shapes above it only), the second
may reuse a kept total. It writes each one's total and both times, per database, to
bench/SHAPES.md. Times are wall milliseconds of single requests, so they move with the page
cache: a first request reads from disk what no earlier one read.
"""

from __future__ import annotations

import argparse
import platform
import re
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fastapi.testclient import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.pgserver import PgServer  # noqa: E402
from tests.support.server import APP_ID, APP_SECRET  # noqa: E402

from bench.run import DATA, current_commit  # noqa: E402
from tidings.app import create_app  # noqa: E402
from tidings.kit.config import Settings  # noqa: E402

SHAPES = ROOT / "bench" / "shapes.txt"
REPORT = ROOT / "bench" / "SHAPES.md"

Timing = tuple[str, int, float, float]  # shape, status or total, first ms, second ms


def time_shapes(url: str, shapes: list[str]) -> list[Timing]:
    """Each shape asked twice by one app (reused answers off: every request is computed)."""
    app = create_app(Settings(database_url=url, rate_limit_per_minute=0, reuse_entries=0))
    timings = []
    with TestClient(app) as client:
        form = {"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET}
        token = client.post("/v2/oauth2/token", data=form).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        for shape in shapes:
            times = []
            for _ in range(2):
                started = time.perf_counter()
                response = client.get(shape, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
            body = response.json()
            total = body["page"]["totalElements"] if response.status_code == 200 else -response.status_code
            timings.append((shape, total, times[0], times[1]))
            print(f"{times[0]:9.1f} {times[1]:9.1f} ms  total {total:>9}  {unquote(shape)}", flush=True)
    return timings


def write_report(runs: dict[str, list[Timing]], conversations: int) -> None:
    labels = list(runs)
    lines = [
        "# Shapes: single requests in process",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit `{current_commit()}`; "
        f"{platform.processor() or platform.machine()}, Python {platform.python_version()}",
        f"- data: the benchmark's {conversations:,} conversations (bench/data); shapes: bench/shapes.txt",
        "- first: the shape's first request in a process that served the shapes above it; second: "
        "the next one, which may reuse a total kept by the first (see README, Performance). "
        "Wall milliseconds; a negative total is an error status.",
        "",
        "| shape | " + " | ".join(f"{label} total | first ms | second ms" for label in labels) + " |",
        "|---|" + "---:|---:|---:|" * len(labels),
    ]
    rows = zip(*(runs[label] for label in labels), strict=True)
    for row in rows:
        shape = unquote(row[0][0]).removeprefix("/v2/conversations").replace("|", "\\|") or "(page 1)"
        cells = " | ".join(f"{total:,} | {first:.1f} | {second:.1f}" for _, total, first, second in row)
        lines.append(f"| `{shape}` | {cells} |")
    REPORT.write_text("\n".join(lines) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", help="regular expression: time only the shapes that match")
    args = parser.parse_args()
    shapes = [line.strip() for line in SHAPES.read_text().splitlines() if line.strip()]
    if args.only:
        shapes = [shape for shape in shapes if re.search(args.only, unquote(shape))]
    runs: dict[str, Any] = {}
    if "sqlite" in args.databases:
        path = DATA / f"bench-{args.conversations}.db"
        if not Path(f"{path}.done").exists():
            raise SystemExit(f"{path} is not there: `make bench` generates it")
        runs["SQLite"] = time_shapes(f"sqlite:///{path}", shapes)
    if "postgresql" in args.databases:
        pg_dir = DATA / f"pg-{args.conversations}"
        if not (pg_dir / "loaded.done").exists():
            raise SystemExit(f"{pg_dir} is not there: `make bench` generates it")
        server = PgServer(pg_dir, tuned_for_tests=False, keep=True).start()
        try:
            runs["PostgreSQL"] = time_shapes(server.database_url("postgres"), shapes)
        finally:
            server.stop()
    write_report(runs, args.conversations)


if __name__ == "__main__":
    main()
