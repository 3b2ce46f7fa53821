"""Routes of the customers domain."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["customers"])
