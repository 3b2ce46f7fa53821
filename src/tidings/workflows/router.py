"""Routes of the workflows domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["workflows"])
