"""The one place that knows paging and HAL links.

Links are absolute, built from the request's own scheme and host (forwarded headers only when
the proxy is trusted), and keep every query parameter of the request, changing only `page`.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

HAL_JSON = "application/hal+json;charset=UTF-8"
REPORT_JSON = "application/json;charset=UTF-8"


# Documents built from rows carry the rows' instants as datetimes (aware, UTC, whole seconds):
# orjson writes them as the API does (`2014-02-27T00:00:00Z`, kit/timefmt) in C, where
# `timefmt.fmt` took 1 µs each (~90 a list page).
_JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_OMIT_MICROSECONDS


def json_bytes(content: Any) -> bytes:
    """How every HAL and report document becomes JSON (vnd.error bodies: kit/errors)."""
    return orjson.dumps(content, option=_JSON_OPTIONS)


class HalResponse(JSONResponse):
    """JSON rendered by `json_bytes`; a JSONResponse so that the OpenAPI document shows its model."""

    media_type = HAL_JSON

    def render(self, content: Any) -> bytes:
        return json_bytes(content)


class ReportResponse(HalResponse):
    media_type = REPORT_JSON


def base_url(request: Request) -> str:
    """scheme://host[:port] as the client addressed us (computed once per request)."""
    cached: str | None = request.scope.get("tidings.base_url")
    if cached is not None:
        return cached
    scheme = request.url.scheme
    host = request.headers.get("host") or request.url.netloc
    if getattr(request.app.state, "trust_proxy", False):
        scheme = request.headers.get("x-forwarded-proto", scheme).split(",")[0].strip()
        host = request.headers.get("x-forwarded-host", host).split(",")[0].strip()
    found = f"{scheme}://{host}"
    request.scope["tidings.base_url"] = found
    return found


def web_base_url(request: Request) -> str:
    """Base of the `web` links (TIDINGS_WEB_BASE_URL, else this server), once per request."""
    cached: str | None = request.scope.get("tidings.web_base_url")
    if cached is None:
        cached = (request.app.state.settings.web_base_url or base_url(request)).rstrip("/")
        request.scope["tidings.web_base_url"] = cached
    return cached


def request_for_links(base: str, web_base: str) -> Request:
    """A stand-in request for a document built outside any request (a webhook's body): its links
    point at `base`, its `web` links at `web_base`."""
    return Request({"type": "http", "tidings.base_url": base, "tidings.web_base_url": web_base})


def href(request: Request, path: str) -> dict[str, str]:
    return {"href": base_url(request) + path}


def _query_without_page(request: Request) -> list[tuple[str, str]]:
    return [(k, v) for k, v in request.query_params.multi_items() if k != "page" and v != ""]


def paged(request: Request, key: str, items: list[dict[str, Any]], page: int, size: int, total: int) -> dict:
    """A HAL page: `_embedded` always present, `page{size,totalElements,totalPages,number}`."""
    total_pages = (total + size - 1) // size if total else 0
    # The request's other parameters are encoded once; each link adds its own page number.
    rest = urlencode(_query_without_page(request))
    url = base_url(request) + request.url.path
    at_page = f"{url}?{rest}&page=" if rest else f"{url}?page="
    links: dict[str, Any] = {
        "self": {"href": f"{at_page}{page}"},
        "first": {"href": f"{at_page}1"},
        "last": {"href": f"{at_page}{max(total_pages, 1)}"},
    }
    if page < total_pages:
        links["next"] = {"href": f"{at_page}{page + 1}"}
    if 1 < page <= total_pages + 1:
        links["previous"] = {"href": f"{at_page}{page - 1}"}
    template = f"{url}?{rest}{{&page}}" if rest else f"{url}{{?page}}"
    links["page"] = {"href": template, "templated": True}
    return {
        "_embedded": {key: items},
        "_links": links,
        "page": {"size": size, "totalElements": total, "totalPages": total_pages, "number": page},
    }


def created(request: Request, path: str, resource_id: int) -> Response:
    """201 with `Resource-ID` and an absolute `Location`, and an empty body."""
    return Response(
        status_code=201,
        headers={"Resource-ID": str(resource_id), "Location": base_url(request) + path},
    )


def no_content() -> Response:
    return Response(status_code=204)


def window(page: int, size: int) -> tuple[int, int]:
    """(offset, limit) of a 1-based page."""
    return (page - 1) * size, size
