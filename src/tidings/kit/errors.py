"""The one place that knows the vnd.error shape, and the handlers that produce it.

Every 4xx/5xx leaves the server as `application/vnd.error+json` with `logRef` equal to the
request's Correlation-Id; validation failures list every invalid field at once.
"""

from __future__ import annotations

import logging
import sqlite3
from dataclasses import dataclass, field
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from psycopg.errors import QueryCanceled
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger("tidings")

ERRORS_DOC = "http://developer.helpscout.net/mailbox-api/overview/errors"
VND_ERROR = "application/vnd.error+json"
_MISSING = object()

STATUS_MESSAGES = {
    400: "Bad request",
    401: "Not Authorized - OAuth2 token is either not provided or not valid",
    403: "Access denied",
    404: "Resource not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Payload too large",
    415: "Unsupported media type",
    429: "API rate limit exceeded",
    500: "Internal server error",
    503: "Service unavailable",
}

# pydantic error types -> the anchor names of Help Scout's error documentation
_ANCHORS = {
    "missing": "NotEmpty",
    "string_too_short": "NotEmpty",
    "enum": "EnumValue",
    "literal_error": "EnumValue",
    "int_parsing": "InvalidNumber",
    "int_type": "InvalidNumber",
    "greater_than_equal": "InvalidNumber",
    "less_than_equal": "InvalidNumber",
    "datetime_parsing": "MalformedDate",
    "string_too_long": "Size",
    "too_long": "Size",
    "too_short": "Size",
}


def _json_safe(value: Any) -> Any:
    """Integers beyond 64 bits (and other exotic values) are echoed back as strings."""
    if isinstance(value, bool) or value is None or isinstance(value, str | float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return str(value)


@dataclass
class FieldError:
    path: str
    message: str
    source: str = "JSON"  # JSON | query | path
    rejected_value: Any = _MISSING
    code: str = "Invalid"

    def to_dict(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"path": self.path, "message": self.message, "source": self.source}
        if self.rejected_value is not _MISSING:
            doc["rejectedValue"] = _json_safe(self.rejected_value)
        doc["_links"] = {"about": {"href": f"{ERRORS_DOC}#{self.code}"}}
        return doc


@dataclass
class ApiError(Exception):
    """Raised anywhere below a route; becomes a vnd.error response."""

    status: int
    message: str = ""
    errors: list[FieldError] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.message:
            self.message = STATUS_MESSAGES.get(self.status, "Error")


def invalid(*errors: FieldError) -> ApiError:
    return ApiError(400, "Bad request", list(errors))


def invalid_field(
    path: str, message: str, source: str = "JSON", rejected: Any = _MISSING, code: str = "Invalid"
) -> ApiError:
    return invalid(FieldError(path, message, source, rejected, code))


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, f"{what} not found")


def forbidden(message: str = "Access denied") -> ApiError:
    return ApiError(403, message)


def error_body(correlation_id: str, message: str, errors: list[FieldError] | None = None) -> bytes:
    doc: dict[str, Any] = {"logRef": correlation_id, "message": message}
    if errors:
        doc["_embedded"] = {"errors": [e.to_dict() for e in errors]}
    doc["_links"] = {"about": {"href": ERRORS_DOC}}
    return orjson.dumps(doc)


def correlation_id_of(request: Request) -> str:
    return str(getattr(request.state, "correlation_id", "") or "")


def error_response(
    request: Request,
    status: int,
    message: str | None = None,
    errors: list[FieldError] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    body = error_body(correlation_id_of(request), message or STATUS_MESSAGES.get(status, "Error"), errors)
    return Response(body, status_code=status, media_type=VND_ERROR, headers=headers)


_SOURCES = {"query": "query", "path": "path", "body": "JSON", "header": "header"}
UNION_TAGS = {"one", "many"}  # tags of single-or-array bodies (see conversations.schemas.PatchBody)


def _field_error_from_pydantic(err: dict[str, Any]) -> FieldError:
    loc = list(err.get("loc", ()))
    where = str(loc[0]) if loc else "body"
    source = _SOURCES.get(where, "JSON")
    parts = loc[1:] if where in _SOURCES else loc
    path = ""
    for part in parts:
        if isinstance(part, int):
            path += f"[{part}]"
        elif str(part) in UNION_TAGS or str(part).startswith(("function-", "tagged-union", "json-or-python")):
            continue  # names of union branches, not of fields
        else:
            path += f".{part}" if path else str(part)
    path = path or where
    message = str(err.get("msg", "is invalid"))
    if message.startswith("Value error, "):
        message = message[len("Value error, ") :]
    code = _ANCHORS.get(str(err.get("type")), "Invalid")
    if err.get("type") == "missing":
        message = "may not be empty" if source == "JSON" else "is required"
    rejected = err.get("input", _MISSING) if err.get("type") != "missing" else _MISSING
    if isinstance(rejected, dict | list):
        rejected = _MISSING
    return FieldError(path, message, source, rejected, code)


def _stopped_by_time_limit(cause: BaseException | None) -> bool:
    if isinstance(cause, QueryCanceled):
        return True
    return isinstance(cause, sqlite3.OperationalError) and str(cause) == "interrupted"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError) -> Response:
        return error_response(request, exc.status, exc.message, exc.errors, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = [_field_error_from_pydantic(dict(e)) for e in exc.errors()]
        return error_response(request, 400, "Bad request", errors)

    @app.exception_handler(OverflowError)
    @app.exception_handler(DataError)
    async def _out_of_range(request: Request, exc: Exception) -> Response:
        # A number the schemas let through but the database cannot hold: still bad input.
        log.warning("value out of range for the database (logRef %s): %s", correlation_id_of(request), exc)
        return error_response(request, 400, "A value is out of range")

    @app.exception_handler(QueryCanceled)
    @app.exception_handler(sqlite3.OperationalError)
    @app.exception_handler(OperationalError)
    async def _stopped(request: Request, exc: Exception) -> Response:
        # A statement stopped past TIDINGS_STATEMENT_TIMEOUT_SECONDS (PostgreSQL cancels it,
        # SQLite's read is interrupted, kit.db): the request asked for more work than the server
        # allows one request, not a server fault.
        cause = exc.orig if isinstance(exc, OperationalError) else exc
        if not _stopped_by_time_limit(cause):
            raise exc
        log.warning("statement stopped by its time limit (logRef %s): %s", correlation_id_of(request), cause)
        return error_response(
            request,
            503,
            "The request took longer than this server allows one request and was stopped; "
            "narrow it (a rarer word, a mailbox, a status, a shorter interval) and ask again",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        message = STATUS_MESSAGES.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, message, headers=getattr(exc, "headers", None))
