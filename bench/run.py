"""`make bench`: Tidings at scale, measured over HTTP, beside its floors and a LIKE baseline.

For each database (SQLite, PostgreSQL) it:
1. generates the data set through the product's own bulk path (`tidings.demo.generator`),
   reusing a cached one of the same size when present;
2. serves it with `tidings serve --workers 2` and runs every scenario under wrk for a fixed time;
3. measures the floors in the same run: the framework serving the scenario's own response body
   with no database (bench/floor_app.py), and the scenario's SQL replayed directly on the
   database through the raw driver;
4. times a FreeScout-style `LIKE '%word%'` search for the search scenarios;
5. writes everything, with the targets and whether each is met, to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import psycopg
from fastapi.testclient import TestClient
from sqlalchemy import event

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.pgserver import PgServer, free_port  # noqa: E402
from tests.support.server import APP_ID, APP_SECRET, ServerProcess  # noqa: E402

from bench.cpu import CORES, CpuMeter, CpuPerRequest, postgresql_postmaster  # noqa: E402
from bench.host import server_scheduling  # noqa: E402
from tidings.app import create_app  # noqa: E402
from tidings.auth.service import bootstrap  # noqa: E402
from tidings.conversations.listing import SORT_FIELDS  # noqa: E402
from tidings.db import change_log  # noqa: E402
from tidings.db.migrate import upgrade  # noqa: E402
from tidings.demo.generator import generate  # noqa: E402
from tidings.kit.config import Settings  # noqa: E402
from tidings.kit.db import POSTGRES_SESSION, create_db_engine  # noqa: E402

DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "RESULTS.md"
# The rate limiter stays on, as in a deployment, at a limit no scenario reaches: what it costs
# a request is part of what is measured.
RATE_LIMIT = 1_000_000_000
SPEED_PROBE_ADDITIONS = 5_000_000
WORD_CANDIDATES = (
    "the",
    "you",
    "order",
    "refund",
    "invoice",
    "password",
    "account",
    "shipping",
    "beautiful",
    "zanzibar",
    "espresso",
    "tracking",
    "billing",
    "subscription",
    "upgrade",
)


@dataclass
class Scenario:
    name: str
    path: str
    kind: str  # list | filtered | search | report | drilldown
    like_word: str | None = None
    # Under load, each request asks for its own interval (`path`'s, moved back a second a
    # request): identical reports asked for at once share one computation (`kit.coalesce`), and
    # this shows a report's cost when nothing can be shared.
    varied_interval: bool = False
    # Served with answers reused while the data is unchanged (kit/reuse.py, the product's
    # default); every other scenario runs on a server that computes each request
    # (TIDINGS_REUSE_ENTRIES=0), since a scenario's requests are identical. The rate limiter's
    # own count is a write too: at the benchmark's limit it commits once per ~100 requests a
    # process, and each commit stales the kept answers.
    reused: bool = False
    # Held to the page-1 targets (p99 <= 25 ms, >= 1,500 req/s).
    page_one: bool = False
    # While wrk runs, a client creates this many customers a second (`Writer`): each commit
    # makes every reused answer stale, as a busy help desk's writes do.
    writes_per_second: int = 0
    # Each request adds a parameter the list ignores (`asked=N`, a new value each time), so a
    # default server (answers reused) has nothing to send again and computes every request, as
    # it does for a help desk's many different lists: what a request costs in the product's
    # own configuration when nothing is kept, beside the rows of a server that keeps nothing.
    varied_query: bool = False
    # Each wrk thread asks the pages of `path` in order, from its `page=` on (the second thread
    # WALK_SPREAD pages further): an integration syncing every conversation page by page.
    walked: bool = False
    # Deep pages may begin at an anchor (kit/anchors.py, the product's default); off, every
    # page is read at its OFFSET (TIDINGS_PAGE_ANCHORS=0), for the comparison.
    anchors: bool = True


@dataclass
class Measure:
    rps: float = 0.0
    p50: float = 0.0
    p99: float = 0.0
    errors: int = 0
    requests: int = 0
    # CPU a request cost while wrk ran (bench/cpu.py), when the run was metered.
    cpu: CpuPerRequest | None = None


@dataclass
class Row:
    scenario: Scenario
    http: Measure
    framework: Measure
    sql_p50: float
    sql_p99: float
    statements: int
    like_ms: float | None = None
    first_ms: float = 0.0
    alone_p50: float = 0.0
    notes: list[str] = field(default_factory=list)


# -- data -----------------------------------------------------------------------------------


def prepare(url: str, conversations: int, marker: Path, *, fresh: bool) -> tuple[float, int]:
    """Migrate and fill the database once; the marker remembers a finished load."""
    if marker.exists() and not fresh:
        seconds, threads = marker.read_text().split()
        return float(seconds), int(threads)
    engine = create_db_engine(url)
    upgrade(engine)
    settings = Settings(database_url=url, bootstrap_app_id=APP_ID, bootstrap_app_secret=APP_SECRET)
    with engine.begin() as conn:
        bootstrap(conn, settings)
    done = 0

    def progress(n: int) -> None:
        nonlocal done
        done += n
        if done % 100_000 < n:
            print(f"  generated {done:,} conversations", flush=True)

    summary = generate(
        engine,
        conversations=conversations,
        mailboxes=50,
        tags=200,
        customers=max(10, conversations // 10),
        users=40,
        seed=7,
        progress=progress,
    )
    engine.dispose()
    marker.write_text(f"{summary.seconds} {summary.threads}")
    return summary.seconds, summary.threads


def discover(base: str, token: str, url: str) -> dict[str, Any]:
    """Parameters the scenarios need, read from the generated data."""
    headers = {"Authorization": f"Bearer {token}"}
    found: dict[str, Any] = {}
    engine = create_db_engine(url)
    with engine.connect() as conn:
        found["tag"], found["tag_id"] = conn.exec_driver_sql(
            "SELECT t.name, t.id FROM tags t JOIN conversation_tags ct ON ct.tag_id = t.id "
            "GROUP BY t.id, t.name ORDER BY count(*) DESC LIMIT 1"
        ).one()
        found["mailbox"] = conn.exec_driver_sql(
            "SELECT mailbox_id FROM conversations GROUP BY mailbox_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        found["email"], found["customer_id"] = conn.exec_driver_sql(
            "SELECT e.value, e.customer_id FROM customer_emails e "
            "JOIN conversations c ON c.customer_id = e.customer_id "
            "GROUP BY e.value, e.customer_id ORDER BY count(*) DESC LIMIT 1"
        ).one()
        found["reply_id"] = conn.exec_driver_sql(
            "SELECT saved_reply_id FROM threads WHERE saved_reply_id IS NOT NULL "
            "GROUP BY saved_reply_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        found["workflow_id"] = conn.exec_driver_sql(
            "SELECT workflow_id FROM threads WHERE workflow_id IS NOT NULL "
            "GROUP BY workflow_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        found["assignee"] = conn.exec_driver_sql(
            "SELECT assignee_id FROM conversations WHERE assignee_id IS NOT NULL "
            "GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        found["folder"] = conn.exec_driver_sql(
            "SELECT folder_id FROM conversations GROUP BY folder_id ORDER BY count(*) DESC LIMIT 1"
        ).scalar_one()
        found["latest"] = conn.exec_driver_sql("SELECT max(created_at) FROM conversations").scalar_one()
    engine.dispose()
    counts = {}
    with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
        for word in WORD_CANDIDATES:
            body = client.get("/v2/conversations", params={"query": f"body:{word}", "status": "all"}).json()
            counts[word] = body["page"]["totalElements"]
    present = {w: n for w, n in counts.items() if n > 0}
    found["rare"] = min(present, key=lambda w: present[w])
    found["common"] = max(present, key=lambda w: present[w])
    found["word_counts"] = counts
    return found


def scenarios(p: dict[str, Any]) -> list[Scenario]:
    end = datetime.fromtimestamp(int(p["latest"]), tz=UTC)

    def days_before_end(days: int) -> str:
        return f"start={end - timedelta(days=days):%Y-%m-%dT%H:%M:%SZ}&end={end:%Y-%m-%dT%H:%M:%SZ}"

    interval = days_before_end(30)
    q = lambda text: "/v2/conversations?query=" + quote(text)  # noqa: E731
    found = [
        Scenario("list: default page 1", "/v2/conversations", "list", page_one=True),
        Scenario("list: deep page (page 400)", "/v2/conversations?page=400", "list"),
        Scenario(
            "filter: mailbox+status+tag",
            f"/v2/conversations?mailbox={p['mailbox']}&status=closed&tag={quote(p['tag'])}",
            "filtered",
        ),
        Scenario(
            "filter: assigned_to (busiest agent)",
            f"/v2/conversations?assigned_to={p['assignee']}",
            "filtered",
        ),
        Scenario("filter: folder (largest)", f"/v2/conversations?folder={p['folder']}", "filtered"),
    ]
    for sort in SORT_FIELDS:
        found.append(Scenario(f"sort: {sort}", f"/v2/conversations?status=all&sortField={sort}", "filtered"))
    found += [
        Scenario(f"search: rare word ({p['rare']})", q(p["rare"]), "search", p["rare"]),
        Scenario(f"search: common word ({p['common']})", q(p["common"]), "search", p["common"]),
        Scenario(f"search: rare word in subjects ({p['rare']})", q(f"subject:{p['rare']}"), "search"),
        # `sort: score` above has no text and falls back to createdAt; this one ranks by relevance.
        Scenario(
            f"search: rare word by relevance ({p['rare']})", q(p["rare"]) + "&sortField=score", "search"
        ),
        Scenario("search: body phrase", q('body:"password reset"'), "search", "password reset"),
        Scenario("search: email", q(f'email:"{p["email"]}"'), "search"),
        Scenario("search: date math range", q("createdAt:[NOW-30DAYS/DAY TO NOW]"), "search"),
        Scenario(
            "search: compound boolean",
            q(f'(subject:refund OR body:"password reset") AND status:active AND NOT tag:"{p["tag"]}"'),
            "search",
            "refund",
        ),
        Scenario("embed=threads", "/v2/conversations?embed=threads", "list"),
    ]
    for kind, value in (
        ("tagid", p["tag_id"]),
        ("replyid", p["reply_id"]),
        ("workflowid", p["workflow_id"]),
        ("customerid", p["customer_id"]),
    ):
        found.append(
            Scenario(
                f"fields-drilldown: {kind}",
                f"/v2/reports/conversations/fields-drilldown?{interval}&field={kind}&fieldid={value}",
                "drilldown",
            )
        )
    found.append(
        Scenario(
            "fields-drilldown: tagid, each request its own interval",
            f"/v2/reports/conversations/fields-drilldown?{interval}&field=tagid&fieldid={p['tag_id']}",
            "drilldown",
            varied_interval=True,
        )
    )
    walk = f"/v2/conversations?status=all&page={WALK_FIRST_PAGE}"
    found.append(Scenario("sync: every page in order (status=all)", walk, "list", walked=True))
    found.append(
        Scenario("sync: every page in order, each at its OFFSET", walk, "list", walked=True, anchors=False)
    )
    found.append(Scenario("report: overall (30 days)", f"/v2/reports/conversations?{interval}", "report"))
    # A year's report reads ten times the rows: what a report over a long interval costs.
    year = days_before_end(365)
    found.append(Scenario("report: overall (12 months)", f"/v2/reports/conversations?{year}", "report"))
    found.append(
        Scenario(
            "report: overall, each request its own interval",
            f"/v2/reports/conversations?{interval}",
            "report",
            varied_interval=True,
        )
    )
    found += [
        Scenario(
            f"{scenario.name}, answer reused", scenario.path, scenario.kind, reused=True, page_one=page_one
        )
        for scenario, page_one in (
            (found[0], True),
            (found[2], False),
            (next(s for s in found if s.name.startswith("search: rare word (")), False),
            (next(s for s in found if s.name == "search: compound boolean"), False),
            (next(s for s in found if s.name == "report: overall (30 days)"), False),
        )
    ]
    found.append(
        Scenario(
            f"{found[0].name}, answer reused, {WRITES_PER_SECOND} writes a second",
            found[0].path,
            "list",
            reused=True,
            page_one=True,
            writes_per_second=WRITES_PER_SECOND,
        )
    )
    found.append(
        Scenario(
            f"{found[0].name}, default server, each request a new URL",
            found[0].path,
            "list",
            reused=True,
            page_one=True,
            varied_query=True,
        )
    )
    return found


# -- measuring ------------------------------------------------------------------------------

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def _ms(text: str) -> float:
    number, unit = re.match(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS[unit]


# Each wrk thread numbers itself, so that the values its requests vary never meet another's.
_NUMBERED_THREADS = """
local made = 0
function setup(thread)
  made = made + 1
  thread:set("thread_number", made)
end
local sent = 0
"""

_VARIED_INTERVAL = (
    _NUMBERED_THREADS
    + """local function at(epoch)
  return os.date("!%%Y-%%m-%%dT%%H:%%M:%%SZ", epoch)
end
function request()
  sent = sent + 1
  local back = thread_number * 100000 + sent
  local interval = at(%(start)d - back) .. "&end=" .. at(%(end)d - back)
  return wrk.format(nil, "%(prefix)s" .. interval .. "%(suffix)s")
end
"""
)


_VARIED_QUERY = (
    _NUMBERED_THREADS
    + """function request()
  sent = sent + 1
  return wrk.format(nil, "%(path)s" .. (thread_number * 100000000 + sent))
end
"""
)


# The sync scenarios' pages: thread 1 from WALK_FIRST_PAGE on, thread 2 WALK_SPREAD further
# (1M conversations, every status: 39,537 pages; a 10 s run asks ~5,000 a thread).
WALK_FIRST_PAGE = 1_000
WALK_SPREAD = 15_000

_WALKED = (
    _NUMBERED_THREADS
    + """function request()
  sent = sent + 1
  local page = %(first)d + (thread_number - 1) * %(spread)d + sent - 1
  return wrk.format(nil, "%(prefix)s" .. page)
end
"""
)


def walked_script(path: str) -> Path:
    """A wrk script that asks the pages of `path` (ending in `page=N`) in order from N on."""
    prefix, _, first = path.rpartition("page=")
    script = DATA / "walked-pages.lua"
    script.write_text(_WALKED % {"prefix": prefix + "page=", "first": int(first), "spread": WALK_SPREAD})
    return script


def varied_query(path: str) -> str:
    """`path` with the parameter a `varied_query` scenario adds, without its value."""
    return path + ("&" if "?" in path else "?") + "asked="


def varied_query_script(path: str) -> Path:
    """A wrk script that sends `path` with `asked=N` added, N new for every request."""
    script = DATA / "varied-query.lua"
    script.write_text(_VARIED_QUERY % {"path": varied_query(path)})
    return script


def varied_interval_script(path: str) -> Path:
    """A wrk script that sends `path` (holding `start=…&end=…`) with its interval moved back a
    second per request (each wrk thread from its own day), so that no two requests ask for the
    same report, each over as long an interval."""
    prefix, _, interval = path.rpartition("start=")
    start_text, _, rest = interval.partition("&end=")
    end_text, ampersand, after = rest.partition("&")

    def epoch(text: str) -> int:
        return int(datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp())

    script = DATA / "varied-interval.lua"
    values = {
        "prefix": prefix + "start=",
        "start": epoch(start_text),
        "end": epoch(end_text),
        "suffix": ampersand + after,
    }
    script.write_text(_VARIED_INTERVAL % values)
    return script


def wrk(
    url: str,
    token: str,
    seconds: int,
    connections: int,
    script: Path | None = None,
    meter: CpuMeter | None = None,
) -> Measure:
    """One load run. wrk's percentiles include its correction for coordinated omission: each
    response slower than twice the run's mean interval between one connection's requests adds
    the samples that requests arriving at that pace would have had while it waited. A stall of
    one process therefore counts as the requests that would have queued behind it, not once."""
    if meter is not None:
        meter.start()
    output = subprocess.run(
        [
            "wrk",
            *(["-s", str(script)] if script is not None else []),
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "10s",
            "-H",
            f"Authorization: Bearer {token}",
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    measure = Measure()
    measure.rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    measure.p50 = _ms(re.search(r"\s50%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    measure.p99 = _ms(re.search(r"\s99%\s+(\S+)", output).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    measure.errors = int(errors.group(1)) if errors else 0
    measure.requests = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    if meter is not None:
        measure.cpu = meter.per_request(measure.requests)
    return measure


WRITES_PER_SECOND = 20


class Writer:
    """Creates customers at a steady rate in a thread of its own, each one commit, while a
    scenario runs; customers appear in no scenario's answer but move the data stamp."""

    def __init__(self, base: str, token: str, per_second: int) -> None:
        self.base, self.token, self.per_second = base, token, per_second
        self.written = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Writer:
        if self.per_second:
            self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        if self.per_second:
            self._thread.join()

    def _run(self) -> None:
        interval = 1 / self.per_second
        with httpx.Client(headers={"Authorization": f"Bearer {self.token}"}, timeout=30) as client:
            next_at = time.perf_counter()
            while not self._stop.is_set():
                email = f"bench-writer-{uuid.uuid4().hex}@example.com"
                body = {
                    "firstName": "Bench",
                    "lastName": "Writer",
                    "emails": [{"type": "work", "value": email}],
                }
                response = client.post(f"{self.base}/v2/customers", json=body)
                if response.status_code == 201:
                    self.written += 1
                else:
                    self.failed += 1
                next_at += interval
                self._stop.wait(max(0.0, next_at - time.perf_counter()))


def alone(url: str, token: str, seconds: int = 2, script: Path | None = None) -> float:
    """p50 ms of one request at a time: the latency a request has when it does not queue behind
    others, comparable with the single-query LIKE baseline. wrk with one connection measures it,
    as it measures every other latency here: a Python client spends 0.5-1 ms of the two shared
    cores on each response (httpx: 3.7 ms for a list page wrk saw in 2.7), which is not the
    server's. A request too slow for three answers in that time is timed with httpx instead."""
    measured = wrk(url, token, seconds, 1, script)
    if measured.requests >= 3 and not measured.errors:
        return measured.p50
    timings: list[float] = []
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=600) as client:
        for _ in range(4):
            started = time.perf_counter()
            client.get(url)
            timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings[1:])


def keep_answer(url: str, token: str, connections: int) -> None:
    """Ask before a reused scenario, on as many new connections at once as the load will use
    and twice over, so that each server process (each keeps its own answers) has computed the
    answer the rows measure. Without it each process computes on its first requests under the
    load, and every request it receives meanwhile waits: a report's ~800 ms at the start, which
    wrk's correction for coordinated omission (below) weighs as ~150 requests each, read as a
    p99 of 350-670 ms where the same run's requests took p99 17 ms one by one (4 December)."""

    def ask() -> None:
        httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=600).raise_for_status()

    for _ in range(2):
        askers = [threading.Thread(target=ask) for _ in range(connections)]
        for asker in askers:
            asker.start()
        for asker in askers:
            asker.join()


def drain(base: str, token: str, deadline_seconds: float = 300) -> None:
    """Wait until the server answers a trivial request quickly again: a slow scenario leaves a
    backlog of queued requests behind it, which must not be charged to the next scenario."""
    deadline = time.time() + deadline_seconds
    while time.time() < deadline:
        started = time.perf_counter()
        httpx.get(f"{base}/v2/users/me", headers={"Authorization": f"Bearer {token}"}, timeout=600)
        if time.perf_counter() - started < 0.05:
            return
        time.sleep(0.5)


def capture(
    url: str,
    path: str,
    *,
    reused: bool = False,
    varied: bool = False,
    walked: bool = False,
    anchors: bool = True,
) -> tuple[bytes, list[tuple[str, Any]], float]:
    """The scenario's request in a fresh app, twice: the first's body and time (ms, nothing
    cached), and every SQL statement the second ran, which is what a request under load runs
    (totals, per-day counts and plans kept from the first, as the load's requests find them
    kept; before 7 December the first's statements were the floor, which for the searches and
    deep pages included counting what the loaded requests read kept). `reused`: the
    statements are those of the same request asked again, answered from the kept body: on
    PostgreSQL the data stamp, read on the event loop through a connection of the process's
    own (`kit.reuse._LoopReads`, which SQLAlchemy's events do not see, so it is added here);
    on SQLite none. `varied` (with `reused`): those of the request asked again with the
    `varied_query` parameter, which is computed with the caller known under that stamp.
    `walked`: those of the page after `path`'s, asked next (with `anchors`, it begins where
    `path`'s page ended)."""
    settings = Settings(
        database_url=url, rate_limit_per_minute=0, reuse_entries=1 if reused else 0, page_anchors=anchors
    )
    app = create_app(settings)
    statements: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    with TestClient(app) as client:
        token = client.post(
            "/v2/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET},
        ).json()["access_token"]
        event.listen(app.state.db.engine, "before_cursor_execute", record)
        started = time.perf_counter()
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        first_ms = (time.perf_counter() - started) * 1000
        first = response
        statements.clear()
        again = varied_query(path) + "1" if reused and varied else path
        if walked:
            prefix, _, page = path.rpartition("page=")
            again = f"{prefix}page={int(page) + 1}"
        response = client.get(again, headers={"Authorization": f"Bearer {token}"})
        event.remove(app.state.db.engine, "before_cursor_execute", record)
    app.state.db.dispose()
    for answer in (first, response):
        if answer.status_code != 200:
            raise RuntimeError(f"{path}: {answer.status_code} {answer.text[:300]}")
    kept = [
        (s, p) for s, p in statements if not s.lstrip().upper().startswith(("BEGIN", "COMMIT", "ROLLBACK"))
    ]
    if reused and not url.startswith("sqlite"):
        kept.append((change_log.stamp_sql(), None))
    return first.content, kept, first_ms


def replay(url: str, statements: list[tuple[str, Any]], seconds: float = 3.0) -> tuple[float, float]:
    """The scenario's SQL alone, through the raw driver: p50 and p99 in ms."""
    timings: list[float] = []
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        conn.execute("PRAGMA mmap_size=1073741824")
        conn.execute("PRAGMA cache_size=-65536")
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), prepare_threshold=None)
        for setting in POSTGRES_SESSION:  # as the server's connections (until 7 December not)
            conn.execute(setting)
        conn.commit()
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(timings) < 5:
        started = time.perf_counter()
        cursor = conn.cursor()
        for statement, parameters in statements:
            cursor.execute(statement, parameters)
            if cursor.description is not None:
                cursor.fetchall()
        cursor.close()
        if not url.startswith("sqlite"):
            conn.rollback()
        timings.append((time.perf_counter() - started) * 1000)
    conn.close()
    timings.sort()
    return statistics.median(timings), timings[min(len(timings) - 1, int(len(timings) * 0.99))]


def like_baseline(url: str, word: str) -> float:
    """FreeScout's search: LIKE '%word%' over subjects and thread bodies, with its join (ms)."""
    sql = (
        "SELECT c.id FROM conversations c LEFT JOIN threads t ON t.conversation_id = c.id "
        "WHERE c.state = 'published' AND c.status = 'active' "
        f"AND (c.subject LIKE '%{word}%' OR t.body LIKE '%{word}%') "
        "GROUP BY c.id, c.created_at ORDER BY c.created_at DESC LIMIT 25"
    )
    count = (
        "SELECT count(DISTINCT c.id) FROM conversations c LEFT JOIN threads t ON t.conversation_id = c.id "
        "WHERE c.state = 'published' AND c.status = 'active' "
        f"AND (c.subject LIKE '%{word}%' OR t.body LIKE '%{word}%')"
    )
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"))
    started = time.perf_counter()
    for statement in (sql, count):
        cursor = conn.cursor()
        cursor.execute(statement)
        cursor.fetchall()
    elapsed = (time.perf_counter() - started) * 1000
    conn.close()
    return elapsed


# -- one database ---------------------------------------------------------------------------


def run_database(label: str, url: str, args: argparse.Namespace, gen: tuple[float, int]) -> dict[str, Any]:
    rows: list[Row] = []
    pages = DATA / f"floor-{label}"
    shutil.rmtree(pages, ignore_errors=True)
    pages.mkdir(parents=True)
    database_probe = [database_speed(url)]
    print(f"[{label}] database speed: {database_probe[0]:,.0f} ms", flush=True)
    captured: dict[str, tuple[bytes, list[tuple[str, Any]]]] = {}
    chosen: list[Scenario] = []
    # Computed scenarios on a server that reuses no answer, then the reused ones on a default
    # one, then those without page anchors on a server without them either (last: the other
    # rows keep the conditions of earlier runs).
    servers = (
        (False, True, {"TIDINGS_REUSE_ENTRIES": "0"}),
        (True, True, {}),
        (False, False, {"TIDINGS_REUSE_ENTRIES": "0", "TIDINGS_PAGE_ANCHORS": "0"}),
    )
    for reused, anchors, env in servers:
        if chosen and not any(s.reused == reused and s.anchors == anchors for s in chosen):
            continue
        with ServerProcess(url, workers=2, rate_limit=RATE_LIMIT, extra_env=env) as server:
            assert server.process is not None
            meter = CpuMeter([server.process.pid], postgresql_postmaster(url))
            token = server.token()
            if not chosen:
                params = discover(server.base_url, token, url)
                print(f"[{label}] parameters: {params}", flush=True)
                chosen = [s for s in scenarios(params) if not args.only or re.search(args.only, s.name)]
            for scenario in [s for s in chosen if s.reused == reused and s.anchors == anchors]:
                body, statements, first_ms = capture(
                    url,
                    scenario.path,
                    reused=reused,
                    varied=scenario.varied_query,
                    walked=scenario.walked,
                    anchors=anchors,
                )
                captured[scenario.name] = (body, statements)
                (pages / f"s{len(rows)}.json").write_bytes(body)
                drain(server.base_url, token)
                if scenario.reused:
                    keep_answer(server.base_url + scenario.path, token, args.connections)
                script = None
                if scenario.varied_interval:
                    script = varied_interval_script(scenario.path)
                elif scenario.varied_query:
                    script = varied_query_script(scenario.path)
                elif scenario.walked:
                    script = walked_script(scenario.path)
                with Writer(server.base_url, token, scenario.writes_per_second) as writer:
                    http = wrk(
                        server.base_url + scenario.path, token, args.seconds, args.connections, script, meter
                    )
                if scenario.writes_per_second:
                    print(
                        f"[{label}] {scenario.name}: {writer.written} writes, {writer.failed} failed",
                        flush=True,
                    )
                    http.errors += writer.failed
                drain(server.base_url, token)
                alone_p50 = alone(
                    server.base_url + scenario.path,
                    token,
                    script=script if scenario.varied_query or scenario.walked else None,
                )
                print(
                    f"[{label}] {scenario.name}: {http.rps:,.0f} req/s "
                    f"p50 {http.p50:.1f} ms p99 {http.p99:.1f} ms, alone p50 {alone_p50:.1f} ms, "
                    f"CPU ms a request {cpu_text(http.cpu)}",
                    flush=True,
                )
                rows.append(
                    Row(
                        scenario,
                        http,
                        Measure(),
                        0.0,
                        0.0,
                        len(statements),
                        first_ms=first_ms,
                        alone_p50=alone_p50,
                    )
                )
    floor = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--workers",
            "2",
            "--host",
            "127.0.0.1",
            "--port",
            str(port := free_port()),
            "--no-ws",
            "bench.floor_app:create_floor_app",
        ],
        env={**os.environ, "TIDINGS_FLOOR_PAGES": str(pages), "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                httpx.get(f"http://127.0.0.1:{port}/floor/s0", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        floor_meter = CpuMeter([floor.pid], [])
        for index, row in enumerate(rows):
            row.framework = wrk(
                f"http://127.0.0.1:{port}/floor/s{index}",
                "x",
                args.seconds,
                args.connections,
                meter=floor_meter,
            )
            row.sql_p50, row.sql_p99 = replay(url, captured[row.scenario.name][1])
            if row.scenario.like_word:
                row.like_ms = like_baseline(url, row.scenario.like_word)
            print(
                f"[{label}] floors {row.scenario.name}: framework p50 {row.framework.p50:.1f} ms, "
                f"SQL p50 {row.sql_p50:.1f} ms" + (f", LIKE {row.like_ms:,.0f} ms" if row.like_ms else ""),
                flush=True,
            )
    finally:
        floor.terminate()
        floor.wait(timeout=10)
    database_probe.append(database_speed(url))
    print(f"[{label}] database speed: {database_probe[1]:,.0f} ms", flush=True)
    return {
        "database_speed": database_probe,
        "label": label,
        "rows": rows,
        "generation": gen,
        "params": params,
        "finished": f"{datetime.now(UTC):%Y-%m-%d %H:%M}",
    }


# -- report ---------------------------------------------------------------------------------

PAGE_ONE_RPS = 1500
TARGET_P99 = {"list": 25.0, "filtered": 50.0, "search": 50.0, "drilldown": 100.0, "report": 250.0}


def cpu_text(cpu: CpuPerRequest | None) -> str:
    """`server, database, wrk` ms of CPU a request; the database part only where it is a
    server of its own (PostgreSQL; SQLite's work is inside the server's)."""
    if cpu is None:
        return ""
    parts = [f"{cpu.server:.2f}", f"{cpu.database:.2f}" if cpu.database else "-", f"{cpu.load:.2f}"]
    return ", ".join(parts)


def verdicts(row: Row) -> list[str]:
    missed = []
    target = TARGET_P99[row.scenario.kind]
    if row.scenario.page_one:
        target = 25.0
        if row.http.rps < PAGE_ONE_RPS:
            budget = CORES * 1000 / PAGE_ONE_RPS
            used = f", used {row.http.cpu.total:.2f}" if row.http.cpu else ""
            missed.append(
                f"rps {row.http.rps:,.0f} < {PAGE_ONE_RPS:,} (needs <= {budget:.2f} ms CPU a request on "
                f"{CORES} cores{used})"
            )
    if row.http.p99 > target:
        missed.append(f"p99 > {target:.0f} ms")
    floor = row.framework.p50 + row.sql_p50
    if row.http.p50 > 2 * floor:
        missed.append(f"p50 > 2x floor ({floor:.1f} ms)")
    if row.like_ms is not None and row.like_ms < 500 * row.alone_p50:
        missed.append("< 500x LIKE")
    if row.http.errors:
        missed.append(f"{row.http.errors} non-2xx")
    return missed


def machine_speed() -> float:
    """Milliseconds for a fixed pure-Python loop (best of three): the machines this runs on
    change speed from day to day (twofold seen), so results of different days are compared
    through it."""
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        total = 0
        for i in range(SPEED_PROBE_ADDITIONS):
            total += i
        best = min(best, (time.perf_counter() - started) * 1000)
    return best


DATABASE_PROBE = {
    "sqlite": "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
    "SELECT sum(i) FROM n",
    "postgresql": "SELECT sum(i) FROM generate_series(1, 3000000) AS i",
}


def database_speed(url: str) -> float:
    """Milliseconds for a fixed loop inside the database (best of three), beside
    `machine_speed`: on 3 December PostgreSQL ran 1.5-3x slower in one run than three hours
    before while the Python probe did not move, so each database's section says how fast its
    engine was too."""
    if url.startswith("sqlite"):
        conn: Any = sqlite3.connect(url.removeprefix("sqlite:///"))
        probe = DATABASE_PROBE["sqlite"]
    else:
        conn = psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True)
        conn.execute("SET jit = off")
        probe = DATABASE_PROBE["postgresql"]
    best = float("inf")
    try:
        for _ in range(3):
            started = time.perf_counter()
            conn.execute(probe).fetchall()
            best = min(best, (time.perf_counter() - started) * 1000)
    finally:
        conn.close()
    return best


def current_commit() -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT
    ).stdout.strip()


def earlier_sections(text: str, skip: set[str]) -> list[str]:
    """The `## <database>` sections of an earlier RESULTS.md, except those named in `skip`.

    A run of one database keeps the other's figures. A section written before sections carried
    their own run line gets one, from the earlier file's header.
    """
    header = re.search(r"^- date: (.+?) UTC; commit `(\w+)`", text, re.M)
    sections = re.split(r"^(?=## )", text, flags=re.M)[1:]
    kept = []
    for section in sections:
        label = section.splitlines()[0][3:].strip()
        if label in skip:
            continue
        if "\nRun: " not in section and header:
            title, rest = section.split("\n", 1)
            section = f"{title}\n\nRun: {header.group(1)} UTC, commit `{header.group(2)}`.\n{rest}"
        kept.append(section.rstrip("\n") + "\n")
    return kept


def write_results(runs: list[dict[str, Any]], args: argparse.Namespace) -> None:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory = next(
        (
            line.split()[1]
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal")
        ),
        "?",
    )
    header = [
        "# Benchmark results",
        "",
        f"- date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; commit `{current_commit()}` (each "
        "database's section names its own run: a run of one database keeps the other's section)",
        f"- machine: {os.cpu_count()} cores ({cpu}), {int(memory) // 1024 // 1024} GiB, "
        f"Python {platform.python_version()}; speed: {SPEED_PROBE_ADDITIONS:,} pure-Python additions "
        f"in {min(args.speed_ms):,.0f}-{max(args.speed_ms):,.0f} ms in this run "
        "(probed before and after each database; lower is faster)",
        "- database probe (in each section's Run line, from 3 December afternoon): a fixed loop "
        "inside the database, best of three, before and after its scenarios (SQLite: a recursive "
        "count to 1,000,000; PostgreSQL: the sum of generate_series(1, 3,000,000)); lower is faster",
        f"- data: {args.conversations:,} conversations, 50 mailboxes, 200 tags (Zipf), "
        f"{max(10, args.conversations // 10):,} customers, two years of timestamps",
        f"- load: wrk -t2 -c{args.connections} for {args.seconds} s per scenario "
        f"against `tidings serve --workers 2 --rate-limit {RATE_LIMIT:,}` "
        "(the rate limiter on, never reached; wrk shares the 2 cores with the server); p50 and p99 "
        "are wrk's, which correct for coordinated omission: a response slower than twice the mean "
        "interval of a connection's requests adds the samples of the requests that would have "
        "queued behind it at that pace",
        "- scheduler (in each section's Run line, from 4 December): the kernel's autogroup scheduling "
        "is turned off for the run where the benchmark may, as for a database server (bench/host.py); "
        "with it on, PostgreSQL's backends waited up to 2 s for a core under full load.",
        "- floors: *framework* = the same stack serving this scenario's own response body with no database; "
        "*SQL* = the statements of one request replayed through the raw driver: the scenario's "
        "second request in a fresh process (from 7 December; before, its first, which also counted "
        "what loaded requests find kept). "
        "The 2x rule compares the p50 with framework p50 + SQL p50.",
        "- LIKE: FreeScout-style `LIKE '%word%'` over subjects and thread bodies with its join, "
        "page + count.",
        "- alone: p50 of the same request sent one at a time for 2 s by wrk with one connection "
        "(no queueing; before 3 December by a Python client, whose own 0.5-1 ms a response it "
        "included); the LIKE speed-up is LIKE ms / alone p50, both single requests without load.",
        "- shared reports: identical report and drilldown requests asked for at once share one "
        "computation started after they arrived, or (from 4 December night) the one under way when "
        "the data stamp read for them is the one read before it began (`kit/coalesce.py`), which "
        "the identical requests of a scenario do under load; the rows *each request its own "
        "interval* move the interval back a second per request, so nothing is shared.",
        "- CPU ms/req: user + system time the server's processes (granian and its two workers), the "
        "database server's (PostgreSQL's; SQLite works inside the server) and wrk spent while wrk ran, "
        "divided by the requests served (bench/cpu.py). The two cores stay ~100 % busy under load, so "
        f"req/s is about {CORES * 1000:,} ms / the sum; {PAGE_ONE_RPS:,} req/s leaves "
        f"{CORES * 1000 / PAGE_ONE_RPS:.2f} ms a request for all three. Framework CPU ms/req: the "
        "same for the floor app (its server and wrk).",
        "- reused answers (from 4 December): the product sends an answer to a conversation list "
        "again while the data it was read from is unchanged and its clock-derived wording still "
        "holds (`kit/reuse.py`, on by default). Since a scenario's requests are identical, every "
        "scenario runs on a server with it off (`TIDINGS_REUSE_ENTRIES=0`: each request computed, "
        "as in earlier runs) except the rows *answer reused*, served by a default server; their "
        "SQL floor is what such a request still runs: the data stamp's statement on PostgreSQL, "
        "nothing on SQLite (each process reads the stamp on the event loop, through a connection "
        "of its own, and knows the token's caller under it: SQLite since `ce91985`, PostgreSQL "
        "since 4 December evening; before, PostgreSQL's also looked up the token). "
        "Before the load, 16 connections at once ask twice, so that each server process has "
        "computed the answer (from 4 December evening).",
        "- first request: the scenario's first request in a fresh process (nothing cached; the "
        "total of a text search matching > 10,000 conversations, an estimate, is reused for 60 s "
        "after it; from 6 December morning also any other search's total that took 0.1 s or "
        "longer to count among 10,000 or more conversations: none of the scenarios' own, alone).",
        "- sync rows (from 6 December): two clients walk the pages of `status=all` in order (a "
        "wrk script; thread 1 from page 1,000, thread 2 from 16,000), as an integration syncing "
        "every conversation does. A deep page begins after the last row of a page served before "
        "while the data is unchanged (`kit/anchors.py`, on by default); the row *each at its "
        "OFFSET* runs last, on a server without (`TIDINGS_PAGE_ANCHORS=0`). Their SQL floor is "
        "the page after the captured one.",
        "",
    ]
    earlier = RESULTS.read_text() if RESULTS.exists() else ""
    sections: dict[str, list[str]] = {}
    for run in runs:
        seconds, threads = run["generation"]
        lines = sections[run["label"]] = [
            f"## {run['label']}",
            "",
            f"Run: {run['finished']} UTC, commit `{current_commit()}`; speed probe "
            f"{run['speed'][0]:,.0f} ms before, {run['speed'][1]:,.0f} ms after; database probe "
            f"{run['database_speed'][0]:,.0f} ms before, {run['database_speed'][1]:,.0f} ms after; "
            f"scheduler: {args.scheduling}.",
            "",
            f"Generation: {args.conversations:,} conversations and {threads:,} threads in {seconds:,.0f} s "
            f"({args.conversations / max(seconds, 0.001):,.0f} conversations/s).",
            "",
            "| scenario | req/s | p50 ms | p99 ms | CPU ms/req: server, database, wrk | alone p50 ms "
            "| first request ms | framework req/s | framework p50 | framework CPU ms/req | SQL p50 | LIKE ms "
            "| speed-up | verdict |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|",
        ]
        for row in run["rows"]:
            missed = verdicts(row)
            speedup = f"{row.like_ms / row.alone_p50:,.0f}x" if row.like_ms else ""
            lines.append(
                f"| {row.scenario.name} | {row.http.rps:,.0f} | {row.http.p50:.1f} | {row.http.p99:.1f} | "
                f"{cpu_text(row.http.cpu)} | {row.alone_p50:.1f} | {row.first_ms:.1f} | "
                f"{row.framework.rps:,.0f} | "
                f"{row.framework.p50:.1f} | {row.framework.cpu.total if row.framework.cpu else 0:.2f} | "
                f"{row.sql_p50:.1f} | "
                f"{f'{row.like_ms:,.0f}' if row.like_ms else ''} | "
                f"{speedup} | {'met' if not missed else 'MISSED: ' + '; '.join(missed)} |"
            )
        lines += ["", f"Word counts used to pick the search words: {run['params']['word_counts']}", ""]
    texts = {label: "\n".join(lines).rstrip("\n") for label, lines in sections.items()}
    for section in earlier_sections(earlier, set(sections)):
        texts[section.splitlines()[0][3:].strip()] = section.rstrip("\n")
    # SQLite first, then PostgreSQL, whichever of them this run measured.
    order = sorted(texts, key=lambda label: (label != "SQLite", label))
    RESULTS.write_text("\n".join(header) + "\n" + "\n\n".join(texts[label] for label in order) + "\n")
    print(f"wrote {RESULTS}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--conversations", type=int, default=1_000_000)
    parser.add_argument("--seconds", type=int, default=10, help="wrk duration per scenario")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", help="regular expression: run only the scenarios whose name matches")
    parser.add_argument("--fresh", action="store_true", help="regenerate the data even when cached")
    parser.add_argument(
        "--keep-autogroup",
        action="store_true",
        help="leave the kernel's autogroup scheduling as it is (bench/host.py: turned off by default)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed (make bench installs it through apt)")
    DATA.mkdir(parents=True, exist_ok=True)
    args.speed_ms = []

    def probe_speed() -> None:
        args.speed_ms.append(machine_speed())
        print(f"machine speed: {args.speed_ms[-1]:,.0f} ms", flush=True)

    with server_scheduling(args.keep_autogroup) as scheduling:
        args.scheduling = scheduling
        print(f"scheduler: {scheduling}", flush=True)
        run_databases(args, probe_speed)


def run_databases(args: argparse.Namespace, probe_speed: Callable[[], None]) -> None:
    """Each database in turn: its data (generated once and kept), its scenarios, RESULTS.md."""
    probe_speed()
    runs = []
    if "sqlite" in args.databases:
        path = DATA / f"bench-{args.conversations}.db"
        if args.fresh or not Path(f"{path}.done").exists():  # a load without its marker did not finish
            for suffix in ("", "-wal", "-shm", ".done"):
                Path(f"{path}{suffix}").unlink(missing_ok=True)
        url = f"sqlite:///{path}"
        gen = prepare(url, args.conversations, Path(f"{path}.done"), fresh=args.fresh)
        print(f"[sqlite] data ready: {gen}", flush=True)
        runs.append(run_database("SQLite", url, args, gen))
        probe_speed()
        runs[-1]["speed"] = args.speed_ms[-2:]
        write_results(runs, args)
    if "postgresql" in args.databases:
        pg_dir = DATA / f"pg-{args.conversations}"
        if args.fresh or not (pg_dir / "loaded.done").exists():
            shutil.rmtree(pg_dir, ignore_errors=True)
        server = PgServer(pg_dir, tuned_for_tests=False, keep=True).start()
        before = args.speed_ms[-1]
        try:
            url = server.database_url("postgres")
            gen = prepare(url, args.conversations, pg_dir / "loaded.done", fresh=args.fresh)
            print(f"[postgresql] data ready: {gen}", flush=True)
            runs.append(run_database("PostgreSQL", url, args, gen))
        finally:
            server.stop()
        probe_speed()
        runs[-1]["speed"] = [before, args.speed_ms[-1]]
    write_results(runs, args)


if __name__ == "__main__":
    main()
