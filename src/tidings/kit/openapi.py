"""The OpenAPI document, made truthful in one place.

Routes return pre-built HAL documents (serialised with orjson) and declare `response_model`
only to document their shape. This module adds what FastAPI cannot infer: the vnd.error
responses every operation may give (and removes FastAPI's 422, which we never send), the
bearer-token security scheme, and the HAL page envelope models.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, ConfigDict, Field, create_model

from tidings.kit.errors import STATUS_MESSAGES, VND_ERROR


class Link(BaseModel):
    href: str
    templated: bool | None = None


class VndErrorItem(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    path: str
    message: str
    source: str = Field(description="JSON (body field), query (query parameter) or path (path parameter)")
    rejectedValue: Any = None
    links: dict[str, Link] = Field(alias="_links")


class VndErrors(BaseModel):
    errors: list[VndErrorItem]


class VndError(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    logRef: str = Field(description="Equals the response's Correlation-Id header")
    message: str
    embedded: VndErrors | None = Field(default=None, alias="_embedded")
    links: dict[str, Link] = Field(alias="_links")


class PageInfo(BaseModel):
    size: int
    totalElements: int
    totalPages: int
    number: int


def hal_page(name: str, key: str, item: type[BaseModel]) -> type[BaseModel]:
    """The HAL list envelope: `_embedded.{key}` (always present), `_links`, `page`."""
    fields: dict[str, Any] = {key: (list[item], ...)}  # type: ignore[valid-type]
    embedded = create_model(f"{name}Embedded", **fields)
    return create_model(
        name,
        __config__=ConfigDict(populate_by_name=True),
        embedded=(embedded, Field(alias="_embedded")),
        links=(dict[str, Link], Field(alias="_links")),
        page=(PageInfo, ...),
    )


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """Extra error responses a route documents beyond the common ones (e.g. 403, 409, 412)."""
    return {code: {"description": STATUS_MESSAGES[code]} for code in codes}


def _error_response(code: int) -> dict[str, Any]:
    return {
        "description": STATUS_MESSAGES.get(code, "Error"),
        "content": {VND_ERROR: {"schema": {"$ref": "#/components/schemas/VndError"}}},
    }


PUBLIC_PATHS = {"/v2/oauth2/token"}

CREATED_HEADERS = {
    "Resource-ID": {"description": "The new resource's id", "schema": {"type": "integer"}},
    "Location": {"description": "The new resource's absolute URL", "schema": {"type": "string"}},
}


def _created_without_body(responses: dict[str, Any]) -> None:
    """Creating answers 201 with Resource-ID and Location and an empty body (unless a model says so)."""
    created = responses.get("201")
    if created is None:
        return
    content = created.get("content", {})
    documented = any("$ref" in (c.get("schema") or {}) for c in content.values())
    if not documented:
        created.pop("content", None)
    created["headers"] = CREATED_HEADERS


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            routes=app.routes,
            webhooks=app.webhooks.routes,
        )
        components = schema.setdefault("components", {})
        schemas = components.setdefault("schemas", {})
        schemas.update(
            VndError.model_json_schema(ref_template="#/components/schemas/{model}", by_alias=True).pop(
                "$defs"
            )
        )
        schemas["VndError"] = VndError.model_json_schema(
            ref_template="#/components/schemas/{model}", by_alias=True
        )
        schemas["VndError"].pop("$defs", None)
        schemas.pop("HTTPValidationError", None)
        schemas.pop("ValidationError", None)
        components["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        for path, operations in schema["paths"].items():
            for operation in operations.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                codes = {400, 429, 500}
                if path not in PUBLIC_PATHS:
                    codes.add(401)
                    operation["security"] = [{"bearer": []}]
                else:
                    codes.add(401)
                if "{" in path:
                    codes.add(404)
                if "requestBody" in operation:
                    codes |= {413, 415}
                codes |= {int(c) for c in responses if str(c).isdigit() and int(c) >= 400}
                _created_without_body(responses)
                for code in sorted(codes):
                    responses[str(code)] = _error_response(code)
        for operations in schema.get("webhooks", {}).values():
            for operation in operations.values():
                operation["responses"] = {
                    "200": {"description": "Any 2xx delivers the event; 410 Gone disables the webhook"}
                }
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]
