"""Prepared statements: the same rows as SQLAlchemy's own execution, on both databases."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, event, literal_column, select

from tests.kit.conftest import NOW
from tidings.auth.repository import create_app
from tidings.db.tables import tags, tokens, users
from tidings.kit.prepared import Prepared, Together, any_id


def _tag_ids(conn: Connection) -> list[int]:
    return list(conn.execute(select(tags.c.id).order_by(tags.c.id)).scalars())


TAGS_BY_ID = Prepared(select(tags.c.id, tags.c.name, tags.c.created_at).where(any_id(tags.c.id)))


def test_rows_match_sqlalchemy_execution(conn: Connection) -> None:
    ids = _tag_ids(conn)
    wanted = [ids[0], ids[3], ids[3], ids[-1], 10**9]
    expanding = select(tags.c.id, tags.c.name, tags.c.created_at).where(
        tags.c.id.in_(bindparam("ids", expanding=True))
    )
    expected = sorted(tuple(r) for r in conn.execute(expanding, {"ids": wanted}))
    got = sorted(TAGS_BY_ID.rows(conn, ids=wanted))
    assert got == expected
    assert len(got) == 3
    assert all(created == NOW for _, _, created in got), "timestamps come back as aware datetimes"


def test_no_ids_match_nothing(conn: Connection) -> None:
    assert TAGS_BY_ID.rows(conn, ids=[]) == []


def test_dicts_are_keyed_by_column_name(conn: Connection) -> None:
    first = _tag_ids(conn)[0]
    assert TAGS_BY_ID.dicts(conn, ids=[first]) == [{"id": first, "name": "tag 1", "created_at": NOW}]


@contextmanager
def _announced(conn: Connection) -> Iterator[list[str]]:
    """The statements announced to `before_cursor_execute` listeners inside the block."""
    seen: list[str] = []

    def keep(*args: object) -> None:
        seen.append(str(args[2]))

    event.listen(conn.engine, "before_cursor_execute", keep)
    try:
        yield seen
    finally:
        event.remove(conn.engine, "before_cursor_execute", keep)


def test_one_statement_text_for_any_number_of_ids(conn: Connection) -> None:
    """The ids are one parameter: the SQL is not re-rendered per list length."""
    ids = _tag_ids(conn)
    with _announced(conn) as seen:
        assert len(TAGS_BY_ID.rows(conn, ids=ids[:1])) == 1
        assert len(TAGS_BY_ID.rows(conn, ids=ids)) == 30
        assert len(TAGS_BY_ID.rows(conn, ids=list(range(1, 5000)))) == 30
    assert len(seen) == 3, "every execution is announced to before_cursor_execute listeners"
    assert len(set(seen)) == 1


def test_fixed_values_and_named_parameters(conn: Connection) -> None:
    """Values written into the statement (a LIMIT, a literal) and named binds with types."""
    user_id = conn.execute(
        users.insert().values(
            first_name="Ada",
            last_name="L",
            email="ada@example.com",
            role="user",
            created_at=NOW,
            updated_at=NOW,
        )
    ).inserted_primary_key[0]  # type: ignore[index]
    app_id = create_app(conn, user_id, "client", "secret", "Test", NOW)
    row = {"app_id": app_id, "user_id": user_id, "expires_at": NOW, "created_at": NOW}
    conn.execute(
        tokens.insert(),
        [
            {**row, "token_hash": "a" * 64, "kind": "access"},
            {**row, "token_hash": "b" * 64, "kind": "refresh"},
        ],
    )
    live = Prepared(
        select(tokens.c.token_hash, tokens.c.revoked)
        .where(
            tokens.c.kind == "access", tokens.c.expires_at > bindparam("now", type_=tokens.c.expires_at.type)
        )
        .order_by(tokens.c.token_hash)
        .limit(1)
    )
    assert live.rows(conn, now=datetime(2024, 5, 6, tzinfo=UTC)) == [("a" * 64, False)]
    assert live.rows(conn, now=NOW) == []


def test_any_id_also_runs_through_sqlalchemy(conn: Connection) -> None:
    ids = _tag_ids(conn)
    statement = select(tags.c.name).where(any_id(tags.c.id)).order_by(tags.c.id)
    assert list(conn.execute(statement, {"ids": ids[:2]}).scalars()) == ["tag 1", "tag 2"]


def test_an_in_over_a_fixed_list_keeps_its_values(conn: Connection) -> None:
    """A statement built per shape (a list's filters) may hold `IN (...)` over fixed values."""
    wanted = ["tag 2", "tag 5", "tag 30"]
    by_names = Prepared(
        select(tags.c.name).where(tags.c.name.in_(wanted)).order_by(tags.c.name).limit(bindparam("size"))
    )
    assert by_names.rows(conn, size=10) == [("tag 2",), ("tag 30",), ("tag 5",)]
    assert by_names.rows(conn, size=1) == [("tag 2",)]


TAG_NAMES = Prepared(select(tags.c.name).where(any_id(tags.c.id)).order_by(tags.c.name))


def test_a_batch_gives_each_statement_its_own_rows(conn: Connection) -> None:
    ids = _tag_ids(conn)
    with _announced(conn) as seen:
        batch = Together(conn)
        first = batch.add(TAGS_BY_ID, ids=ids[:2])
        names = batch.add(TAG_NAMES, ids=[ids[4], ids[2]])
        nothing = batch.add(TAGS_BY_ID, ids=[10**9])
        batch.run()
    assert first.dicts() == TAGS_BY_ID.dicts(conn, ids=ids[:2])
    assert [n["name"] for n in first.dicts()] == ["tag 1", "tag 2"]
    assert names.rows() == [("tag 3",), ("tag 5",)]
    assert nothing.rows() == []
    assert len(seen) == 3, "each statement of a batch is announced to before_cursor_execute listeners"


def test_a_failing_statement_fails_its_batch(conn: Connection) -> None:
    broken = Prepared(select(tags.c.id, literal_column("no_such_column")).where(any_id(tags.c.id)))
    batch = Together(conn)
    batch.add(TAGS_BY_ID, ids=_tag_ids(conn))
    batch.add(broken, ids=[1])
    with pytest.raises(Exception, match="no_such_column"):
        batch.run()


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_a_batch_is_one_round_trip_on_postgresql(conn: Connection, tmp_path: Path) -> None:
    """Counted in the protocol itself: each round trip ends with one Sync message."""
    ids = _tag_ids(conn)
    raw: Any = conn.connection.dbapi_connection
    trace = tmp_path / "protocol.trace"

    def syncs(run: Callable[[], object]) -> int:
        with trace.open("w") as out:
            raw.pgconn.trace(out.fileno())
            try:
                run()
            finally:
                raw.pgconn.untrace()
        return trace.read_text().count("\tSync")

    def together() -> None:
        batch = Together(conn)
        for n in range(3):
            batch.add(TAGS_BY_ID, ids=ids[n : n + 1])
        batch.run()

    assert syncs(lambda: [TAGS_BY_ID.rows(conn, ids=ids[n : n + 1]) for n in range(3)]) == 3
    assert syncs(together) == 1
