"""The statuses the tables module names are the ones the API takes: reports count every status
but spam by naming the others (`reports.queries`), and the query language checks `status:`
values against them, so a status added to the API alone would go uncounted and unsearchable."""

from __future__ import annotations

from typing import get_args

from tidings.conversations.schemas import Status
from tidings.db.tables import CONVERSATION_STATUSES


def test_the_tables_name_every_status_the_api_takes() -> None:
    assert sorted(CONVERSATION_STATUSES) == sorted(get_args(Status))
