"""What every response shares: Correlation-Id, vnd.error for every error, body limits,
query-string conventions and absolute links."""

from __future__ import annotations

import uuid

from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.asserts import vnd_error
from tidings.app import create_app
from tidings.kit.config import Settings


class TestCorrelationId:
    def test_every_response_carries_a_uuid(self, api: Api) -> None:
        for response in (api.get("/v2/mailboxes"), api.client.get("/v2/mailboxes"), api.get("/v2/nowhere")):
            uuid.UUID(response.headers["correlation-id"])

    def test_each_request_gets_its_own(self, api: Api) -> None:
        assert (
            api.get("/v2/mailboxes").headers["correlation-id"]
            != api.get("/v2/mailboxes").headers["correlation-id"]
        )


class TestErrors:
    def test_unknown_route_is_vnd_404(self, api: Api) -> None:
        vnd_error(api.get("/v2/nowhere"), 404)

    def test_wrong_method_is_vnd_405(self, api: Api) -> None:
        vnd_error(api.client.put("/v2/mailboxes", headers=api.headers, json={}), 405)

    def test_body_over_the_limit_is_413(self, settings: Settings) -> None:
        settings.max_body_bytes = 1000
        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/v2/conversations",
                content=b"{" + b" " * 2000 + b"}",
                headers={"content-type": "application/json"},
            )
            vnd_error(response, 413)

    def test_chunked_body_over_the_limit_is_413(self, settings: Settings) -> None:
        settings.max_body_bytes = 1000

        def chunks():  # type: ignore[no-untyped-def]
            for _ in range(5):
                yield b" " * 400

        with TestClient(create_app(settings)) as client:
            response = client.post(
                "/v2/conversations", content=chunks(), headers={"content-type": "application/json"}
            )
            vnd_error(response, 413)

    def test_500_never_shows_a_trace(self, settings: Settings) -> None:
        app = create_app(settings)

        @app.get("/v2/boom")
        async def boom() -> None:
            raise RuntimeError("secret internals")

        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/v2/boom")
            body = vnd_error(response, 500)
            assert "secret" not in response.text and "Traceback" not in response.text
            assert set(body) == {"logRef", "message", "_links"}


class TestQueryConventions:
    def test_empty_parameters_are_ignored(self, api: Api) -> None:
        response = api.get("/v2/mailboxes?&page=&page=1")
        assert response.status_code == 200

    def test_unknown_parameters_are_ignored(self, api: Api) -> None:
        assert api.get("/v2/mailboxes?colour=blue").status_code == 200

    def test_trailing_slash_paths_work(self, api: Api) -> None:
        mailbox = api.mailbox()
        assert api.get(f"/v2/mailboxes/{mailbox}/folders/").status_code == 200
        assert api.get("/v2/mailboxes/").status_code == 200

    def test_bad_page_is_400(self, api: Api) -> None:
        vnd_error(api.get("/v2/mailboxes", params={"page": "0"}), 400, "page", source="query")
        vnd_error(api.get("/v2/mailboxes", params={"page": "two"}), 400, "page", source="query")


class TestLinks:
    def test_links_are_absolute_from_the_request_host(self, api: Api) -> None:
        mailbox = api.mailbox()
        body = api.get(f"/v2/mailboxes/{mailbox}", headers={"host": "help.example.org:8443"}).json()
        assert body["_links"]["self"]["href"] == f"http://help.example.org:8443/v2/mailboxes/{mailbox}"

    def test_forwarded_headers_only_when_trusted(self, settings: Settings) -> None:
        from tests.conftest import BOOT_APP_ID, BOOT_APP_SECRET
        from tidings.auth.service import bootstrap

        for trusted, expected in ((False, "http://testserver"), (True, "https://proxy.example.org")):
            settings.trust_proxy = trusted
            app = create_app(settings)
            app.state.db.write_sync(bootstrap, settings)
            with TestClient(app) as client:
                api = Api.for_app(client, BOOT_APP_ID, BOOT_APP_SECRET)
                headers = {"x-forwarded-proto": "https", "x-forwarded-host": "proxy.example.org"}
                body = api.get("/v2/mailboxes", headers=headers).json()
                assert body["_links"]["self"]["href"].startswith(expected + "/v2/mailboxes")


class TestHugeNumbers:
    def test_ids_beyond_32_bits_are_400_not_500(self, api: Api) -> None:
        huge = "99999999999999999999"
        vnd_error(api.get(f"/v2/mailboxes/{huge}"), 400, "mailbox_id", source="path")
        vnd_error(api.get(f"/v2/conversations/{huge}"), 400, "conversation_id", source="path")
        vnd_error(api.get("/v2/conversations", params={"mailbox": huge}), 400, "mailbox", source="query")
        vnd_error(api.get("/v2/conversations", params={"folder": huge}), 400, "folder", source="query")
        cid = api.conversation(api.mailbox())
        op = {"op": "replace", "path": "/assignTo", "value": 2**40}
        vnd_error(api.patch(f"/v2/conversations/{cid}", op), 400, "value")

    def test_rejected_values_beyond_64_bits_are_echoed_as_text(self, api: Api) -> None:
        body = vnd_error(api.post("/v2/mailboxes", {"name": 2**70, "email": "x@example.com"}), 400, "name")
        assert body["_embedded"]["errors"][0]["rejectedValue"] == str(2**70)
        vnd_error(api.post("/v2/conversations", {"mailboxId": 2**70}), 400)


class TestFuzzFindings:
    def test_report_dates_that_overflow_and_huge_ids_are_400(self, api: Api) -> None:
        base = "/v2/reports/conversations/busy-times"
        vnd_error(
            api.get(base, params={"start": "0001-01-01T01:00:22.0Z", "end": "0001-01-01T00:00:00+00:59"}), 400
        )
        params = {"start": "2000-01-01T00:00:00Z", "end": "2000-01-02T00:00:00Z", "mailboxes": "9" * 30}
        vnd_error(api.get("/v2/reports/conversations/received-messages", params=params), 400, "mailboxes")
        vnd_error(api.get("/v2/conversations", params={"modifiedSince": "0001-01-01T00:00:00+00:01"}), 400)
