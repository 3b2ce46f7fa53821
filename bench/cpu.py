"""CPU time a scenario costs per request: the server's processes, the database server's, wrk's.

Throughput on this machine is bounded by CPU, not by waiting: wrk, the two server workers and
PostgreSQL share two cores, which stay ~100 % busy under 16 connections (measured 98-100 %
with 2, 3 and 4 workers alike). So a scenario's req/s is about 2,000 ms / (CPU ms a request),
and the figure that says what a target asks for is the CPU a request costs: 1,500 req/s on
two cores leaves 1.33 ms for everything a request makes every process do. Read from
`/proc/<pid>/stat` (user + system time of each process in a tree) and, for wrk, from
`getrusage(RUSAGE_CHILDREN)` once it has been waited for.
"""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path

_TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")
CORES = os.cpu_count() or 1


def _stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, user + system ticks) of a live process, None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    # After the command name: state, ppid, ... utime is field 14 and stime field 15 of the line.
    return int(fields[1]), int(fields[11]) + int(fields[12])


def tree_ticks(roots: list[int]) -> int:
    """CPU ticks used so far by the processes `roots` and all their descendants alive now."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (found := _stat(int(entry))) is not None:
            parents[int(entry)], ticks[int(entry)] = found
    wanted = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, parent in parents.items():
            if parent in wanted and pid not in wanted:
                wanted.add(pid)
                grew = True
    return sum(ticks.get(pid, 0) for pid in wanted)


def children_seconds() -> float:
    """User + system seconds of this process's children that have been waited for (wrk)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


@dataclass
class CpuPerRequest:
    """Milliseconds of CPU one request cost, by who spent them."""

    server: float = 0.0
    database: float = 0.0
    load: float = 0.0

    @property
    def total(self) -> float:
        return self.server + self.database + self.load


class CpuMeter:
    """Reads the CPU used by the server's and the database's process trees across one wrk run."""

    def __init__(self, server_pids: list[int], database_pids: list[int]) -> None:
        self.server_pids = server_pids
        self.database_pids = database_pids
        self._start = (0, 0, 0.0)

    def start(self) -> None:
        self._start = (tree_ticks(self.server_pids), self._database_ticks(), children_seconds())

    def per_request(self, requests: int) -> CpuPerRequest:
        """CPU since `start`, divided by the requests served; call after wrk has exited."""
        server, database, load = self._start
        n = max(1, requests)
        tick_ms = 1000 / _TICKS_PER_SECOND
        return CpuPerRequest(
            server=(tree_ticks(self.server_pids) - server) * tick_ms / n,
            database=(self._database_ticks() - database) * tick_ms / n,
            load=(children_seconds() - load) * 1000 / n,
        )

    def _database_ticks(self) -> int:
        return tree_ticks(self.database_pids) if self.database_pids else 0


def postgresql_postmaster(url: str) -> list[int]:
    """The pid of the PostgreSQL server behind `url` (its backends are its children), read from
    the data directory's postmaster.pid; empty for SQLite, which runs inside the server."""
    if url.startswith("sqlite"):
        return []
    import psycopg

    with psycopg.connect(url.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
        row = conn.execute("SHOW data_directory").fetchone()
    assert row is not None
    return [int(Path(row[0], "postmaster.pid").read_text().split()[0])]
