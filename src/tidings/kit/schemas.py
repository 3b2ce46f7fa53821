"""Shared request-body pieces: the model base and field types every domain uses."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, WithJsonSchema, field_validator

EMAIL_PATTERN = r"^[^@\s]+@[^@\s.]+(\.[^@\s.]+)+$"
_EMAIL = re.compile(EMAIL_PATTERN)


class Body(BaseModel):
    """Request bodies ignore unknown keys (clients send extra ones) and validate strictly otherwise."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        """NUL characters cannot be stored by PostgreSQL; refuse them as bad input, not a 500."""
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("may not contain NUL (\\u0000) characters")
        if isinstance(value, list) and any(isinstance(v, str) and "\x00" in v for v in value):
            raise ValueError("may not contain NUL (\\u0000) characters")
        return value


def _email(value: str) -> str:
    if not _EMAIL.match(value) or len(value) > 254:
        raise ValueError("Not well-formed email address")
    return value


Email = Annotated[
    str,
    AfterValidator(_email),
    WithJsonSchema({"type": "string", "format": "email", "pattern": EMAIL_PATTERN, "maxLength": 254}),
]

PageParam = Annotated[int, Query(ge=1, le=1_000_000, description="1-based page number")]

MAX_ID = 2_147_483_647  # ids are 32-bit integers in both databases; larger ones cannot exist
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A resource id")]
