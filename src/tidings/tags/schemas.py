"""The JSON shape of a tag in the tags API (the conversation and report shapes differ)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from starlette.requests import Request

from tidings.kit.hal import href
from tidings.kit.timefmt import fmt

DEFAULT_COLOR = "#A5B2BD"
MAX_ID = 2_147_483_647  # ids are 32-bit integers in both databases; larger ones cannot exist
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A resource id")]


def tag_out(request: Request, tag: dict[str, Any], ticket_count: int) -> dict[str, Any]:
    return {
        "id": tag["id"],
        "name": tag["name"],
        "slug": tag["slug"],
        "color": tag["color"] or DEFAULT_COLOR,
        "createdAt": fmt(tag["created_at"]),
        "updatedAt": fmt(tag["updated_at"]),
        "ticketCount": ticket_count,
        "_links": {"self": href(request, f"/v2/tags/{tag['id']}")},
    }
