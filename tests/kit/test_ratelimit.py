"""The account-wide rate limit: headers, writes counting double, 429, reset, shared state."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
from tests.support.api import Api
from tests.support.asserts import vnd_error
from tidings.app import create_app
from tidings.auth.service import bootstrap
from tidings.kit import ratelimit
from tidings.kit.config import Settings


def _client(settings: Settings, limit: int) -> TestClient:
    settings.rate_limit_per_minute = limit
    app = create_app(settings)
    app.state.db.write_sync(bootstrap, settings)
    return TestClient(app)


def test_headers_double_writes_429_and_reset(settings: Settings, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    clock = [1_700_000_000.0 - 1_700_000_000 % 60 + 5]
    monkeypatch.setattr(ratelimit.time, "time", lambda: clock[0])
    with _client(settings, 6) as client:
        api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)  # a POST: costs 2
        first = api.get("/v2/users/me")
        assert first.headers["x-ratelimit-limit-minute"] == "6"
        assert first.headers["x-ratelimit-remaining-minute"] == "3"
        mailbox = api.post("/v2/mailboxes", {"name": "M", "email": "m@example.com"})  # costs 2
        assert mailbox.headers["x-ratelimit-remaining-minute"] == "1"
        assert api.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "0"
        throttled = api.get("/v2/users/me")
        vnd_error(throttled, 429)
        assert throttled.headers["retry-after"] == "55"
        assert throttled.headers["x-ratelimit-retry-after"] == "55"
        unauthenticated = client.get("/v2/users/me")
        assert unauthenticated.status_code == 429
        clock[0] += 60
        again = api.get("/v2/users/me")
        assert again.status_code == 200
        assert again.headers["x-ratelimit-remaining-minute"] == "5"


def test_two_apps_on_one_database_share_the_count(settings: Settings) -> None:
    with _client(settings, 5) as one, _client(settings, 5) as two:
        api_one = Api.for_app(one, BOOT_APP_ID, BOOT_APP_SECRET)
        api_two = Api(two, api_one.token)
        assert api_one.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "2"
        assert api_two.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "1"
        assert api_one.get("/v2/users/me").headers["x-ratelimit-remaining-minute"] == "0"
        vnd_error(api_two.get("/v2/users/me"), 429)


def test_zero_turns_it_off(settings: Settings) -> None:
    with _client(settings, 0) as client:
        response = client.get("/v2/users/me")
        assert "x-ratelimit-limit-minute" not in response.headers
