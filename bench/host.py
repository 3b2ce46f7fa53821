"""The machine's scheduler setting the benchmark runs under, set as for a database server.

Linux's autogroup (`kernel.sched_autogroup_enabled`, on by default in desktop-minded kernels)
shares the CPU between sessions before it shares it between processes. The benchmark runs three
sessions on two cores - wrk, the server (`tidings serve`) and PostgreSQL (`pg_ctl` starts the
postmaster in a session of its own) - and under full load PostgreSQL's backends then waited up
to 2 s for a core: the replyid drilldown at ~800 req/s had p99 200-1,640 ms, every slow request
waiting in its token lookup, a 0.3 ms statement; with autogroup off, p99 25.6 ms and max 37 ms
(4 December). Lists and searches were the same either way (throughput-bound). PostgreSQL tuning
guides ask for it off on a database server (Shaun Thomas, "Two Necessary Kernel Tweaks for
Linux Systems", pgsql-performance, 2013; PostgreSQL High Performance Cookbook), and so does our
README for a host that runs PostgreSQL, so the benchmark measures that: it turns autogroup off
for its run when it may (as root) and puts the setting back afterwards. `--keep-autogroup`
measures the machine as it is; RESULTS.md says which.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

AUTOGROUP = Path("/proc/sys/kernel/sched_autogroup_enabled")


@contextlib.contextmanager
def server_scheduling(keep: bool, setting: Path = AUTOGROUP) -> Iterator[str]:
    """Autogroup off for the block unless `keep`; yields the words RESULTS.md uses for it."""
    if not setting.exists():
        yield "autogroup absent from this kernel"
        return
    before = setting.read_text().strip()
    if before == "0":
        yield "autogroup off (as the machine was)"
        return
    if keep:
        yield "autogroup on (kept: --keep-autogroup)"
        return
    try:
        setting.write_text("0\n")
    except OSError:
        yield "autogroup on (could not be turned off: needs root)"
        return
    try:
        yield "autogroup off (turned off for the run, as README advises for a database host)"
    finally:
        setting.write_text(f"{before}\n")
