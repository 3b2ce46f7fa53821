"""Prepared statements: the same rows as SQLAlchemy's own execution, on both databases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Connection, bindparam, event, select

from tidings.auth.repository import create_app
from tidings.db.tables import tags, tokens, users
from tidings.kit.db import create_db_engine
from tidings.kit.prepared import Prepared, any_id

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)


@pytest.fixture
def conn(db_url: str) -> Iterator[Connection]:
    engine = create_db_engine(db_url)
    with engine.connect() as connection, connection.begin():
        connection.execute(
            tags.insert(),
            [
                {"name": f"tag {n}", "slug": f"tag-{n}", "color": None, "created_at": NOW, "updated_at": NOW}
                for n in range(1, 31)
            ],
        )
        yield connection
    engine.dispose()


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


def test_one_statement_text_for_any_number_of_ids(conn: Connection) -> None:
    """The ids are one parameter: the SQL is not re-rendered per list length."""
    seen: list[str] = []

    def keep(*args: object) -> None:
        seen.append(str(args[2]))

    ids = _tag_ids(conn)
    event.listen(conn.engine, "before_cursor_execute", keep)
    try:
        assert len(TAGS_BY_ID.rows(conn, ids=ids[:1])) == 1
        assert len(TAGS_BY_ID.rows(conn, ids=ids)) == 30
        assert len(TAGS_BY_ID.rows(conn, ids=list(range(1, 5000)))) == 30
    finally:
        event.remove(conn.engine, "before_cursor_execute", keep)
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
