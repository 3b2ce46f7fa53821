"""A served worker settles its heap at start-up (kit/runtime.py); an app built elsewhere does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

PROBE = """
import gc, sys
from fastapi.testclient import TestClient
from tidings.app import create_app
from tidings.kit.config import Settings
from tidings.kit.runtime import GC_THRESHOLDS
settle = sys.argv[2] == "1"
with TestClient(create_app(Settings(database_url=sys.argv[1], settle_heap=settle))):
    frozen, thresholds = gc.get_freeze_count(), gc.get_threshold()
print(frozen > 10_000, thresholds == GC_THRESHOLDS)
"""


def _probe(db_url: str, settle: bool) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, db_url, "1" if settle else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.strip()


def test_a_served_app_freezes_its_start_up_heap(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'runtime.db'}"
    assert _probe(url, settle=True) == "True True"
    assert _probe(url, settle=False) == "False False"
