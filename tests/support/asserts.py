"""Assertions shared by the HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx


def vnd_error(
    response: httpx.Response, status: int, *paths: str, source: str | None = None
) -> dict[str, Any]:
    """The response is a vnd.error of `status` whose embedded errors name exactly `paths`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/vnd.error+json")
    body = response.json()
    assert body["logRef"] == response.headers["correlation-id"]
    assert body["message"]
    if paths:
        errors = body["_embedded"]["errors"]
        assert sorted(e["path"] for e in errors) == sorted(paths), errors
        for error in errors:
            assert error["message"]
            if source:
                assert error["source"] == source
    return body


def errors_by_path(response: httpx.Response) -> dict[str, dict[str, Any]]:
    """The embedded errors of a 400 vnd.error, by path."""
    body = vnd_error(response, 400)
    return {e["path"]: e for e in body["_embedded"]["errors"]}
