"""What SQL the app runs, for tests that assert on the statements a request makes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event


@contextmanager
def statements(app: Any) -> Iterator[list[str]]:
    """Every SQL statement the app runs through SQLAlchemy inside the block, in order."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)


@contextmanager
def statements_with_parameters(app: Any) -> Iterator[list[tuple[str, Any]]]:
    """Every SQL statement the app runs inside the block with its parameters, in order: for a
    test that asks the database for a statement's plan."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, *args: Any) -> None:
        seen.append((statement, parameters))

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)


# How SQLite tests one conversation's own document for a text (`TextDriver.probe`).
TEXT_PROBE = "conversation_search.rowid = conversations.created_at"
# How PostgreSQL does, for a page that walks few conversations (`_PostgresProbingText`): a scalar
# subquery, which the planner never hashes.
PG_TEXT_PROBE = (
    "FROM conversation_search WHERE conversations.id = conversation_search.conversation_id), false)"
)


# How either database tests one conversation's tags for a tag there (`_SqliteProbingCompiler`,
# `_PostgresProbingCompiler`): its (conversation, tag) key.
TAG_PROBE = "WHERE conversation_tags.conversation_id = conversations.id AND conversation_tags.tag_id"


def text_probe(dialect: str) -> str:
    """How the database tests one conversation's own document in a page's walk."""
    return TEXT_PROBE if dialect == "sqlite" else PG_TEXT_PROBE


def row_probes(dialect: str) -> tuple[str, ...]:
    """How the database tests one conversation for a query's terms in a page's walk."""
    return (TEXT_PROBE if dialect == "sqlite" else PG_TEXT_PROBE, TAG_PROBE)


def counting(seen: list[str]) -> list[str]:
    """The statements among `seen` that count rows, flattened to one line each, without the data
    stamp's count of the PostgreSQL change log (kit/reuse.py: a few rows, read per request)."""
    flat = [" ".join(statement.split()) for statement in seen]
    return [s for s in flat if "count(" in s.lower() and "FROM data_changes" not in s]


def token_lookups(seen: list[str]) -> int:
    """How many of the statements in `seen` look a bearer token up (auth/repository.py)."""
    return sum("FROM tokens" in " ".join(statement.split()) for statement in seen)
