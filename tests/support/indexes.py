"""The secondary indexes of some tables, in a form that compares across a drop and rebuild."""

from __future__ import annotations

import re
from collections.abc import Sequence

from sqlalchemy import Engine

from tidings.db import deferred_indexes


def index_definitions(engine: Engine, tables: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
    """Per table, (name, definition) of each plain secondary index, as `comparable` spells it."""
    with engine.connect() as conn:
        return {
            table: [(name, comparable(ddl)) for name, ddl in deferred_indexes.secondary_indexes(conn, table)]
            for table in tables
        }


def comparable(ddl: str) -> str:
    """The definition without casts and parentheses.

    PostgreSQL gives back its own spelling of an index (pg_indexes), and spells the predicate of
    one re-created from that with the casts in other places:
    `= ANY ((ARRAY['chat'::character varying])::text[])` becomes
    `= ANY (ARRAY[('chat'::character varying)::text])`. Same index and same plans
    (tests/db/test_deferred_indexes.py checks the planner still picks it).
    """
    return re.sub(r"::[a-z ]+(\[\])?|[()]", "", ddl)
