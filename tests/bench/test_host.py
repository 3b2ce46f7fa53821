"""The benchmark turns autogroup off for its run, puts it back, and says what it measured under."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench.host import server_scheduling


def _setting(tmp_path: Path, value: str) -> Path:
    setting = tmp_path / "sched_autogroup_enabled"
    setting.write_text(f"{value}\n")
    return setting


def test_autogroup_is_off_during_the_run_and_back_on_after(tmp_path: Path) -> None:
    setting = _setting(tmp_path, "1")
    with server_scheduling(keep=False, setting=setting) as words:
        assert setting.read_text().strip() == "0"
        assert words.startswith("autogroup off (turned off")
    assert setting.read_text().strip() == "1"


def test_autogroup_is_put_back_when_the_run_fails(tmp_path: Path) -> None:
    setting = _setting(tmp_path, "1")
    with pytest.raises(RuntimeError), server_scheduling(keep=False, setting=setting):
        raise RuntimeError("a scenario failed")
    assert setting.read_text().strip() == "1"


def test_keep_leaves_autogroup_on(tmp_path: Path) -> None:
    setting = _setting(tmp_path, "1")
    with server_scheduling(keep=True, setting=setting) as words:
        assert setting.read_text().strip() == "1"
        assert words == "autogroup on (kept: --keep-autogroup)"


def test_a_machine_with_autogroup_off_is_said_so(tmp_path: Path) -> None:
    setting = _setting(tmp_path, "0")
    with server_scheduling(keep=False, setting=setting) as words:
        assert words == "autogroup off (as the machine was)"
    assert setting.read_text().strip() == "0"


def test_a_setting_that_cannot_be_written_is_reported() -> None:
    # A kernel setting that nobody may write, root included (mode 0444 binds root in /proc/sys).
    read_only = Path("/proc/sys/kernel/osrelease")
    with server_scheduling(keep=False, setting=read_only) as words:
        assert words == "autogroup on (could not be turned off: needs root)"


def test_a_kernel_without_autogroup_is_said_so(tmp_path: Path) -> None:
    with server_scheduling(keep=False, setting=tmp_path / "absent") as words:
        assert words == "autogroup absent from this kernel"
