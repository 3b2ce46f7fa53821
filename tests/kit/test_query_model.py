"""Query parameters read into one model: the same answers as FastAPI's own Query models gave."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.support.api import Api
from tests.support.asserts import vnd_error
from tidings.conversations.listing import ListParams


def test_the_list_route_documents_every_parameter(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"]["/v2/conversations"]["get"]
    documented = {p["name"]: p for p in operation["parameters"]}
    assert set(documented) == set(ListParams.model_fields)
    assert all(p["in"] == "query" and p["required"] is False for p in documented.values())
    assert documented["sortField"]["schema"]["default"] == "createdAt"
    assert "default" not in documented["query"]["schema"], "no null defaults, as FastAPI writes them"


def test_a_bad_token_is_refused_before_bad_parameters(client: TestClient) -> None:
    response = client.get(
        "/v2/conversations", params={"page": "zero"}, headers={"Authorization": "Bearer not-a-token"}
    )
    assert response.status_code == 401
    assert client.get("/v2/conversations", params={"page": "zero"}).status_code == 401


def test_bad_parameters_name_the_field_in_the_query(api: Api) -> None:
    response = api.get("/v2/conversations", params={"page": "0", "sortField": "colour"})
    vnd_error(response, 400, "page", "sortField", source="query")


def test_a_repeated_parameter_takes_its_last_value(api: Api) -> None:
    mailbox = api.mailbox()
    api.conversation(mailbox, subject="one")
    response = api.get("/v2/conversations?page=5&page=1")
    assert response.status_code == 200
    assert response.json()["page"]["number"] == 1
