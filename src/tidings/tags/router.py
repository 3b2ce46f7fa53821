"""Routes of the tags domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["tags"])
