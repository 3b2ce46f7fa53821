"""Request bodies and the JSON shapes of saved replies (plain JSON, as the service answers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import Field

from tidings.conversations.service import preview_of
from tidings.kit.schemas import Body

MAX_TEXT = 100_000
MAX_ID = 2_147_483_647  # ids are 32-bit integers in both databases; larger ones cannot exist
IdPath = Annotated[int, Path(ge=1, le=MAX_ID, description="A resource id")]


class SavedReplyIn(Body):
    name: str = Field(min_length=1, max_length=200)
    text: str = Field(default="", max_length=MAX_TEXT)
    chatText: str | None = Field(default=None, max_length=MAX_TEXT)

    def stored(self) -> dict[str, Any]:
        return {"name": self.name, "text": self.text, "chat_text": self.chatText or None}


def summary_out(reply: dict[str, Any]) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": reply["id"], "name": reply["name"], "preview": preview_of(reply["text"])}
    if reply["chat_text"]:
        doc["chatPreview"] = preview_of(reply["chat_text"])
    return doc


def reply_out(reply: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": reply["id"],
        "name": reply["name"],
        "text": reply["text"],
        "chatText": reply["chat_text"] or "",
    }
