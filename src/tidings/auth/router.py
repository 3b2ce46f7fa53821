"""POST /v2/oauth2/token: credentials as a form, a JSON body or the query string."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel
from starlette.responses import JSONResponse

from tidings.auth import service
from tidings.kit.errors import ApiError, FieldError, invalid
from tidings.kit.schemas import storable

router = APIRouter(tags=["auth"])


class TokenOut(BaseModel):
    token_type: str
    access_token: str
    expires_in: int
    refresh_token: str


_TOKEN_BODY_SCHEMA = {
    "type": "object",
    "required": ["grant_type", "client_id", "client_secret"],
    "properties": {
        "grant_type": {"type": "string", "enum": list(service.GRANTS)},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
        "refresh_token": {"type": "string"},
        "code": {"type": "string"},
    },
}


async def _credentials(request: Request) -> dict[str, str]:
    fields: dict[str, str] = {k: v for k, v in request.query_params.items()}
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    raw = await request.body()
    if raw:
        if content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.form()
            fields.update({k: str(v) for k, v in form.items()})
        else:
            try:
                body: Any = orjson.loads(raw)
            except orjson.JSONDecodeError:
                raise invalid(FieldError("body", "is not valid JSON", "JSON")) from None
            if not isinstance(body, dict):
                raise invalid(FieldError("body", "expected a JSON object", "JSON"))
            fields.update({k: str(v) for k, v in body.items() if v is not None})
    unstorable = [
        FieldError(name, "may not contain NUL characters or unpaired surrogates", "JSON")
        for name, value in fields.items()
        if name in _TOKEN_BODY_SCHEMA["properties"] and not storable(value)
    ]
    if unstorable:
        raise invalid(*unstorable)
    return fields


@router.post(
    "/v2/oauth2/token",
    summary="Exchange app credentials (or a refresh token) for an access token",
    response_class=JSONResponse,
    response_model=TokenOut,
    openapi_extra={
        "requestBody": {
            "content": {
                "application/x-www-form-urlencoded": {"schema": _TOKEN_BODY_SCHEMA},
                "application/json": {"schema": _TOKEN_BODY_SCHEMA},
            }
        }
    },
)
async def token(request: Request) -> JSONResponse:
    fields = await _credentials(request)
    missing = [
        FieldError(name, "may not be empty", "JSON", code="NotEmpty")
        for name in ("grant_type", "client_id", "client_secret")
        if not fields.get(name)
    ]
    grant = fields.get("grant_type", "")
    if grant and grant not in service.GRANTS:
        missing.append(
            FieldError(
                "grant_type",
                "Expected one of these: " + ", ".join(f"'{g}'" for g in service.GRANTS),
                "JSON",
                grant,
                "EnumValue",
            )
        )
    if grant == "refresh_token" and not fields.get("refresh_token"):
        missing.append(FieldError("refresh_token", "may not be empty", "JSON", code="NotEmpty"))
    if grant == "authorization_code" and not fields.get("code"):
        missing.append(FieldError("code", "may not be empty", "JSON", code="NotEmpty"))
    if missing:
        raise invalid(*missing)
    settings = request.app.state.settings
    issued = await request.app.state.db.write(service.exchange, fields, settings)
    if issued is None:
        raise ApiError(401, "Invalid client credentials or grant")
    return JSONResponse(issued)
