"""Routes of the saved_replies domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["saved_replies"])
