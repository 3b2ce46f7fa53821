"""The rate limit holds across the worker processes of `tidings serve --workers 2`, and the
server never writes a secret or a token to its log."""

from __future__ import annotations

import time

import httpx

from tests.support.server import APP_SECRET, ServerProcess

LIMIT = 30


def _wait_for_a_fresh_window() -> None:
    """Start well inside one minute window, so that the count cannot reset mid-test."""
    into_window = time.time() % 60
    if into_window > 40:
        time.sleep(60 - into_window + 0.5)


def test_limit_is_shared_by_two_workers(db_url: str) -> None:
    with ServerProcess(db_url, workers=2, rate_limit=LIMIT) as server:
        _wait_for_a_fresh_window()
        token = server.token()  # a POST: costs 2
        statuses: list[int] = []
        remaining: list[int] = []
        for _ in range(LIMIT):
            # A new connection per request, so that both worker processes take requests.
            response = httpx.get(
                f"{server.base_url}/v2/users/me", headers={"Authorization": f"Bearer {token}"}
            )
            statuses.append(response.status_code)
            if "x-ratelimit-remaining-minute" in response.headers:
                remaining.append(int(response.headers["x-ratelimit-remaining-minute"]))
        # The readiness polls and the token request counted too: start from the first answer.
        first = remaining[0]
        assert first <= LIMIT - 3
        allowed = first + 1
        assert statuses[:allowed] == [200] * allowed
        assert set(statuses[allowed:]) == {429} and len(statuses) > allowed
        assert remaining[:allowed] == list(range(first, -1, -1)), "one count, whichever worker answered"
        throttled = httpx.get(f"{server.base_url}/v2/users/me", headers={"Authorization": f"Bearer {token}"})
        assert throttled.status_code == 429
        assert 0 < int(throttled.headers["retry-after"]) <= 60
        log = server.log.read_text()
    assert APP_SECRET not in log
    assert token not in log
