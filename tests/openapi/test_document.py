"""/openapi.json describes every route truthfully, and /docs serves it."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from tests.support.api import Api

EXAMPLE_REQUESTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "/v2/conversations",
        "post",
        {
            "subject": "Hello World!",
            "type": "email",
            "mailboxId": 111,
            "status": "active",
            "customer": {"email": "customer@example.com"},
            "assignTo": None,
            "tags": ["vip"],
            "fields": [{"id": 8, "value": "8518"}],
            "imported": True,
            "createdAt": "2014-02-27T10:00:00Z",
            "threads": [
                {"type": "chat", "customer": {"email": "customer@example.com"}, "text": "A test thread."},
                {"type": "reply", "text": "Answer", "draft": False, "cc": ["a@example.com"]},
            ],
        },
    ),
    ("/v2/conversations/{conversation_id}", "patch", {"op": "replace", "path": "/subject", "value": "New"}),
    ("/v2/conversations/{conversation_id}/tags", "put", {"tags": ["vip", "pro"]}),
    ("/v2/conversations/{conversation_id}/fields", "put", {"fields": [{"id": 104, "value": "168"}]}),
    (
        "/v2/conversations/{conversation_id}/snooze",
        "put",
        {"snoozedUntil": "2099-02-15T12:57:43Z", "unsnoozeOnCustomerReply": True},
    ),
    (
        "/v2/conversations/{conversation_id}/reply",
        "post",
        {"text": "Hi", "customer": {"id": 2}, "savedReplyId": 3, "status": "closed", "draft": False},
    ),
    ("/v2/conversations/{conversation_id}/notes", "post", {"text": "Hello, note!"}),
    (
        "/v2/conversations/{conversation_id}/customer",
        "post",
        {"text": "Thanks", "customer": {"email": "c@example.com"}},
    ),
    (
        "/v2/conversations/{conversation_id}/threads/{thread_id}",
        "patch",
        {"op": "replace", "path": "/text", "value": "This is a dummy thread."},
    ),
    (
        "/v2/conversations/{conversation_id}/threads/{thread_id}/attachments",
        "post",
        {"fileName": "file.txt", "mimeType": "file/txt", "data": "VGhpcyBpcyBhbiBhdHRhY2htZW50Lgo="},
    ),
    ("/v2/mailboxes", "post", {"name": "Orders", "email": "orders@example.com"}),
    (
        "/v2/mailboxes/{mailbox_id}/fields",
        "post",
        {"name": "Plan", "type": "dropdown", "options": [{"label": "Free"}, {"label": "Pro", "order": 2}]},
    ),
    (
        "/v2/users",
        "post",
        {
            "firstName": "Mary",
            "lastName": "Jones",
            "email": "mary@example.com",
            "role": "user",
            "mailboxIds": [1],
        },
    ),
    (
        "/v2/customers",
        "post",
        {"firstName": "Vernon", "lastName": "Bear", "emails": [{"type": "work", "value": "v@example.com"}]},
    ),
    ("/v2/workflows", "post", {"mailboxId": 1, "name": "Escalate", "type": "manual"}),
    ("/v2/workflows/{workflow_id}/run", "post", {"conversationIds": [123, 743]}),
    ("/v2/mailboxes/{mailbox_id}/saved-replies", "post", {"name": "Thanks", "text": "Thank you!"}),
    (
        "/v2/webhooks",
        "post",
        {
            "url": "https://example.com/helpscout",
            "events": ["convo.assigned"],
            "secret": "mZ9XbGHodX",
            "payloadVersion": "V2",
            "label": "cool webhook",
        },
    ),
]


@pytest.fixture
def document(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def _api_routes(routes: list[Any]) -> list[APIRoute]:
    """Every APIRoute, also inside included routers (FastAPI wraps those since 0.160)."""
    found: list[APIRoute] = []
    for route in routes:
        if isinstance(route, APIRoute):
            found.append(route)
        elif hasattr(route, "original_router"):
            found += _api_routes(route.original_router.routes)
    return found


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def test_every_route_is_documented(app, document: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    routes = _api_routes(app.routes)
    assert len(routes) > 60
    for route in routes:
        for method in route.methods:
            operation = document["paths"][route.path][method.lower()]
            assert operation["summary"], route.path
            responses = operation["responses"]
            assert "422" not in responses, (route.path, method)
            assert "500" in responses and "429" in responses
            if route.path != "/v2/oauth2/token":
                assert "401" in responses and operation["security"] == [{"bearer": []}]
            if "{" in route.path:
                assert "404" in responses
            for code, response in responses.items():
                if int(code) >= 400:
                    assert response["content"]["application/vnd.error+json"]["schema"] == {
                        "$ref": "#/components/schemas/VndError"
                    }


def test_parameters_carry_enums_and_limits(document: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in document["paths"]["/v2/conversations"]["get"]["parameters"]}
    assert set(parameters) >= {
        "embed",
        "mailbox",
        "folder",
        "status",
        "tag",
        "assigned_to",
        "modifiedSince",
        "number",
        "sortField",
        "sortOrder",
        "query",
        "page",
        "customFieldsByIds",
    }
    # The ten sort fields of the source page, written out: the document must offer exactly these.
    assert set(parameters["sortField"]["schema"]["enum"]) == {
        "createdAt",
        "customerEmail",
        "customerName",
        "mailboxid",
        "modifiedAt",
        "number",
        "score",
        "status",
        "subject",
        "waitingSince",
    }
    status = parameters["status"]["schema"]["anyOf"][0]
    assert set(status["enum"]) == {"active", "all", "closed", "open", "pending", "spam"}
    assert parameters["page"]["schema"]["minimum"] == 1
    drill = {
        p["name"]: p
        for p in document["paths"]["/v2/reports/conversations/fields-drilldown"]["get"]["parameters"]
    }
    rows = drill["rows"]["schema"]
    assert (rows["minimum"], rows["maximum"], rows["default"]) == (1, 50, 25)


@pytest.mark.parametrize(
    ("path", "method", "body"), EXAMPLE_REQUESTS, ids=[f"{m} {p}" for p, m, _ in EXAMPLE_REQUESTS]
)
def test_example_requests_validate(
    document: dict[str, Any], path: str, method: str, body: dict[str, Any]
) -> None:
    schema = document["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    validator = _validator(document, schema)
    errors = [str(e) for e in validator.iter_errors(body)]
    assert errors == []


def test_responses_match_their_documented_schemas(api: Api, document: dict[str, Any]) -> None:
    mailbox = api.mailbox()
    cid = api.conversation(mailbox, tags=["doc"])
    api.post(f"/v2/conversations/{cid}/notes", {"text": "documented"})
    checks = [
        ("/v2/conversations", f"/v2/conversations?embed=threads&mailbox={mailbox}"),
        ("/v2/conversations/{conversation_id}", f"/v2/conversations/{cid}?embed=threads"),
        ("/v2/conversations/{conversation_id}/threads", f"/v2/conversations/{cid}/threads"),
        ("/v2/mailboxes", "/v2/mailboxes"),
        ("/v2/mailboxes/{mailbox_id}/folders", f"/v2/mailboxes/{mailbox}/folders"),
        ("/v2/users/me", "/v2/users/me"),
        ("/v2/tags", "/v2/tags"),
        ("/v2/customers", "/v2/customers"),
        (
            "/v2/reports/conversations",
            "/v2/reports/conversations?start=2020-01-01T00:00:00Z&end=2099-01-01T00:00:00Z",
        ),
    ]
    for documented, url in checks:
        response = api.get(url)
        assert response.status_code == 200, (url, response.text)
        [(media_type, content)] = document["paths"][documented]["get"]["responses"]["200"]["content"].items()
        assert response.headers["content-type"] == media_type
        errors = [str(e) for e in _validator(document, content["schema"]).iter_errors(response.json())]
        assert errors == [], (url, errors)
    error = api.get("/v2/conversations/999999")
    errors = [
        str(e)
        for e in _validator(document, {"$ref": "#/components/schemas/VndError"}).iter_errors(error.json())
    ]
    assert errors == []


def test_docs_page_is_served(client: TestClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert "/openapi.json" in response.text
