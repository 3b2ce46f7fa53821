"""The benchmark's CPU meter counts a whole process tree, and divides by the requests served."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from bench.cpu import CpuMeter, children_seconds, tree_ticks

# A parent that starts a child burning CPU, then sleeps: all the work is the grandchild's.
BURN = "import time\nend = time.process_time() + {seconds}\nwhile time.process_time() < end:\n    pass\n"
PARENT = (
    "import subprocess, sys, time\n"
    "child = subprocess.Popen([sys.executable, '-c', {burn!r}])\n"
    "print('started', flush=True)\n"
    "child.wait()\n"
    "time.sleep(30)\n"
)


def _start_tree(seconds: float) -> subprocess.Popen[str]:
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT.format(burn=BURN.format(seconds=seconds))],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    assert parent.stdout.readline().strip() == "started"
    return parent


def test_tree_ticks_count_what_descendants_spend() -> None:
    parent = _start_tree(0.6)
    try:
        before = tree_ticks([parent.pid])
        deadline = time.monotonic() + 20
        # The child is counted while it is alive: wait until it has burnt most of its time.
        while tree_ticks([parent.pid]) - before < 40 and time.monotonic() < deadline:
            time.sleep(0.05)
        spent = tree_ticks([parent.pid]) - before
    finally:
        parent.kill()
        parent.wait()
    # 100 ticks a second on Linux: most of the 0.6 s the grandchild burns, none of it the parent's.
    assert spent >= 40


def test_a_process_outside_the_tree_is_not_counted() -> None:
    parent = _start_tree(0.5)
    # The bystander says when its interpreter has started: its own start-up CPU is not the point.
    bystander = subprocess.Popen(
        [sys.executable, "-c", "import time\nprint('ready', flush=True)\ntime.sleep(30)\n"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert bystander.stdout is not None
        assert bystander.stdout.readline().strip() == "ready"
        before = tree_ticks([bystander.pid])
        time.sleep(0.6)
        assert tree_ticks([bystander.pid]) - before <= 2
    finally:
        for process in (parent, bystander):
            process.kill()
            process.wait()


def test_meter_divides_the_cpu_of_a_run_by_its_requests() -> None:
    meter = CpuMeter([], [])
    meter.start()
    subprocess.run([sys.executable, "-c", BURN.format(seconds=0.4)], check=True)
    per_request = meter.per_request(4)
    # The waited-for child stands for wrk: ~400 ms over 4 requests; nothing for the empty trees.
    assert per_request.load == pytest.approx(100, abs=40)
    assert per_request.server == 0
    assert per_request.database == 0
    assert per_request.total == per_request.load


def test_children_seconds_grow_only_with_waited_children() -> None:
    before = children_seconds()
    subprocess.run([sys.executable, "-c", BURN.format(seconds=0.2)], check=True)
    assert children_seconds() - before >= 0.15
