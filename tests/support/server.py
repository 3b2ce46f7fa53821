"""A real `tidings serve` process on a free port, for tests that need the whole stack:
several worker processes, a load from several clients, or a SIGKILL in the middle of writes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.pgserver import free_port

APP_ID = "server-app-id"
APP_SECRET = "server-app-secret"
TIDINGS = str(Path(sys.executable).parent / "tidings")


class ServerProcess:
    def __init__(
        self, db_url: str, *, workers: int = 1, rate_limit: int = 0, extra_env: dict[str, str] | None = None
    ):
        self.db_url = db_url
        self.workers = workers
        self.rate_limit = rate_limit
        self.extra_env = extra_env or {}
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.log = Path(tempfile.mkstemp(prefix="tidings-server-", suffix=".log")[1])

    def start(self, timeout: float = 60) -> ServerProcess:
        env = {
            **os.environ,
            "TIDINGS_BOOTSTRAP_APP_ID": APP_ID,
            "TIDINGS_BOOTSTRAP_APP_SECRET": APP_SECRET,
            "TIDINGS_BOOTSTRAP_EMAIL": "owner@example.com",
            **self.extra_env,
        }
        command = [
            TIDINGS,
            "serve",
            "--database",
            self.db_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--rate-limit",
            str(self.rate_limit),
        ]
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.base_url}/v2/users/me", timeout=1).status_code == 401:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server did not answer in {timeout} s:\n{self.log.read_text()}")

    def token(self) -> str:
        response = httpx.post(
            f"{self.base_url}/v2/oauth2/token",
            data={"grant_type": "client_credentials", "client_id": APP_ID, "client_secret": APP_SECRET},
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def kill(self) -> None:
        """SIGKILL the whole process group: no clean shutdown, as in a crash."""
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
