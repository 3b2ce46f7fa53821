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
    def _storable_text(cls, value: Any) -> Any:
        """PostgreSQL cannot store NUL characters or unpaired surrogates: bad input, not a 500."""
        texts = value if isinstance(value, list) else [value]
        for text in texts:
            if isinstance(text, str) and not storable(text):
                raise ValueError("may not contain NUL characters or unpaired surrogates")
        return value


def storable(text: str) -> bool:
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
