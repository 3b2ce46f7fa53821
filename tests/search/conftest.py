"""Real, migrated databases of both kinds for the query compiler, with a small cast of people.

Each dialect gets one database per session holding the shared cast (mailboxes, folders, users,
customers, tags). Every test adds its own conversations inside a transaction that is rolled back
afterwards, so "exactly these ids" in a test means among that test's own conversations.
The PostgreSQL cluster is the session's shared `pg_server` (tests/conftest.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import Connection, Engine, insert, select

from tests.support.pgserver import PgServer
from tidings.db.migrate import upgrade
from tidings.db.tables import (
    conversation_emails,
    conversation_tags,
    conversations,
    customer_emails,
    customers,
    folders,
    mailboxes,
    tags,
    threads,
    users,
)
from tidings.kit.db import create_db_engine
from tidings.search import (
    CompiledQuery,
    compile_query,
    names_a_customer,
    parse_query,
    tag_ids_by_name,
    tag_names,
)
from tidings.search import index as search_index

NOW = datetime(2024, 5, 10, 12, 0, 0, tzinfo=UTC)
SEEDED_AT = datetime(2020, 1, 1, tzinfo=UTC)

MAILBOX_ORDERS, MAILBOX_ORDERS_ARCHIVE, MAILBOX_SUPPORT = 100, 101, 102
USER_SPOCK_FIRST, USER_SPOCK_LAST, USER_SPOCK_EMAIL, USER_KIRK, USER_SPOCKINGTON = 10, 11, 12, 13, 14
CUSTOMER_JOHN, CUSTOMER_VERA, CUSTOMER_ROB, CUSTOMER_JOHNNY = 100, 123, 567, 200
TAG_IDS = {"carrots": 1, "dogs": 2, "dogs love carrots": 3, "carrots-cake": 4, "vip": 5}


def at(text: str) -> datetime:
    """An instant from its ISO text, `Z` included."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _seed_cast(conn: Connection) -> None:
    def rows(common: dict[str, Any], *specific: dict[str, Any]) -> list[dict[str, Any]]:
        return [{**common, **row} for row in specific]

    stamps: dict[str, Any] = {"created_at": SEEDED_AT, "updated_at": SEEDED_AT}
    conn.execute(
        insert(mailboxes),
        rows(
            stamps,
            {"id": MAILBOX_ORDERS, "name": "Orders", "slug": "orders", "email": "orders@shop.example"},
            {
                "id": MAILBOX_ORDERS_ARCHIVE,
                "name": "Orders Archive",
                "slug": "archive",
                "email": "a@shop.example",
            },
            {"id": MAILBOX_SUPPORT, "name": "Support", "slug": "support", "email": "help@shop.example"},
        ),
    )
    conn.execute(
        insert(folders),
        rows(
            {"name": "Unassigned", "type": "unassigned", "user_id": 0, "updated_at": SEEDED_AT},
            *(
                {"id": 1000 + box, "mailbox_id": box}
                for box in (MAILBOX_ORDERS, MAILBOX_ORDERS_ARCHIVE, MAILBOX_SUPPORT)
            ),
        ),
    )
    conn.execute(
        insert(users),
        rows(
            {"role": "user", "timezone": "UTC", **stamps},
            {
                "id": USER_SPOCK_FIRST,
                "first_name": "Spock",
                "last_name": "Vulcan",
                "email": "s.vulcan@fleet.example",
            },
            {
                "id": USER_SPOCK_LAST,
                "first_name": "Leonard",
                "last_name": "SPOCK",
                "email": "leonard@fleet.example",
            },
            {
                "id": USER_SPOCK_EMAIL,
                "first_name": "Nyota",
                "last_name": "Uhura",
                "email": "Spock@Fleet.example",
            },
            {"id": USER_KIRK, "first_name": "James", "last_name": "Kirk", "email": "kirk@fleet.example"},
            {
                "id": USER_SPOCKINGTON,
                "first_name": "Spockington",
                "last_name": "Jr",
                "email": "jr@fleet.example",
            },
        ),
    )
    conn.execute(
        insert(customers),
        rows(
            stamps,
            {"id": CUSTOMER_JOHN, "first_name": "John", "last_name": "Appleseed"},
            {"id": CUSTOMER_VERA, "first_name": "Vera", "last_name": "Bear"},
            {"id": CUSTOMER_ROB, "first_name": "Rob", "last_name": "Robertovic"},
            {"id": CUSTOMER_JOHNNY, "first_name": "Johnny", "last_name": "Appleseedling"},
        ),
    )
    conn.execute(
        insert(customer_emails),
        rows(
            {"type": "work"},
            {"customer_id": CUSTOMER_JOHN, "value": "john@appleseed.com"},
            {"customer_id": CUSTOMER_JOHN, "value": "j.a+work@appleseed.com"},
            {"customer_id": CUSTOMER_VERA, "value": "vbear@mywork.com"},
            {"customer_id": CUSTOMER_ROB, "value": "rob@acme.com"},
            {"customer_id": CUSTOMER_JOHNNY, "value": "john@appleseed.co"},
            {"customer_id": CUSTOMER_JOHNNY, "value": "xjohn@appleseed.com"},
        ),
    )
    conn.execute(
        insert(tags),
        rows(
            stamps,
            *(
                {"id": tag_id, "name": name, "slug": name.replace(" ", "-")}
                for name, tag_id in TAG_IDS.items()
            ),
        ),
    )


class SearchDb:
    """One test's view of a seeded database: add conversations, then ask which ones a query finds."""

    def __init__(self, conn: Connection, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect
        self._conversation_ids = itertools.count(1)
        self._thread_ids = itertools.count(1)

    def add(
        self,
        subject: str = "Hello",
        *,
        bodies: Sequence[str] = ("Hi there",),
        threads_: Sequence[dict[str, Any]] = (),
        conversation_id: int | None = None,
        number: int | None = None,
        mailbox_id: int = MAILBOX_SUPPORT,
        status: str = "active",
        type_: str = "email",
        customer_id: int | None = None,
        assignee_id: int | None = None,
        tag_names: Sequence[str] = (),
        emails: Sequence[str] = (),
        has_attachments: bool = False,
        created_at: datetime = SEEDED_AT,
        modified_at: datetime = SEEDED_AT,
    ) -> int:
        """Insert a conversation (each of `bodies` becomes a customer thread); returns its id."""
        new_id = conversation_id if conversation_id is not None else next(self._conversation_ids)
        self.conn.execute(
            insert(conversations).values(
                id=new_id,
                number=number if number is not None else 10_000 + new_id,
                mailbox_id=mailbox_id,
                folder_id=1000 + mailbox_id,
                type=type_,
                status=status,
                state="published",
                subject=subject,
                preview=(bodies[0] if bodies else "")[:255],
                assignee_id=assignee_id,
                customer_id=customer_id,
                created_by_type="customer",
                created_by_id=customer_id or 0,
                source_type="email",
                source_via="customer",
                cc="[]",
                bcc="[]",
                created_at=created_at,
                modified_at=modified_at,
                user_updated_at=modified_at,
                thread_count=len(bodies) + len(threads_),
                total_threads=len(bodies) + len(threads_),
                has_attachments=has_attachments,
                customer_name_sort="",
                customer_email_sort="",
            )
        )
        thread_rows = [{"type": "customer", "body": body} for body in bodies] + [dict(t) for t in threads_]
        for row in thread_rows:
            self.conn.execute(
                insert(threads).values(
                    id=next(self._thread_ids),
                    conversation_id=new_id,
                    type=row["type"],
                    status="active",
                    state=row.get("state", "published"),
                    action_type="default",
                    body=row.get("body"),
                    source_type="email",
                    source_via="customer",
                    customer_id=customer_id,
                    created_by_type=row.get("created_by_type", "customer"),
                    created_by_id=row.get("created_by_id", customer_id or 0),
                    to_list="[]",
                    cc_list="[]",
                    bcc_list="[]",
                    imported=False,
                    created_at=created_at,
                )
            )
        for name in tag_names:
            self.conn.execute(
                insert(conversation_tags).values(
                    conversation_id=new_id, tag_id=TAG_IDS[name], created_at=created_at
                )
            )
        for email in emails:
            self.conn.execute(insert(conversation_emails).values(conversation_id=new_id, email=email))
        search_index.refresh(self.conn, [new_id])
        return new_id

    def compiled(self, query: str, now: datetime = NOW, *, look_tags_up: bool = True) -> CompiledQuery:
        """`query` compiled as a list request compiles it: with the ids of the tags it names
        looked up first (`look_tags_up=False`: left to the statements)."""
        node = parse_query(query)
        assert node is not None, f"{query!r} parsed to no filter"
        ids = tag_ids_by_name(self.conn, tag_names(node)) if look_tags_up else None
        return compile_query(node, dialect=self.dialect, now=now, tag_ids=ids)

    def names_a_customer(self, value: str, *, prefix: bool) -> bool:
        return names_a_customer(self.conn, value, prefix)

    def ids(self, query: str, now: datetime = NOW) -> set[int]:
        """Ids of the conversations `query` matches."""
        condition = self.compiled(query, now).condition
        return set(self.conn.execute(select(conversations.c.id).where(condition)).scalars())

    def scores(self, query: str) -> dict[int, float]:
        """Each matching conversation's relevance for `query`."""
        compiled = self.compiled(query)
        assert compiled.score is not None
        rows = self.conn.execute(select(conversations.c.id, compiled.score).where(compiled.condition))
        return {row[0]: float(row[1]) for row in rows}

    def ranked(self, query: str) -> list[int]:
        """Matching ids, most relevant first (ties broken by id, as the API does)."""
        scores = self.scores(query)
        return sorted(scores, key=lambda conversation_id: (-scores[conversation_id], conversation_id))

    def explain(self, query: str, *, lead: int | None = None) -> str:
        """The database's plan for selecting the conversations `query` matches; with `lead`, its
        condition that reads that id list first (`CompiledQuery.leading`)."""
        compiled = self.compiled(query)
        condition = compiled.condition if lead is None else compiled.leading[lead]
        statement = select(conversations.c.id).where(condition)
        compiled = statement.compile(dialect=self.conn.dialect)
        prefix = "EXPLAIN QUERY PLAN " if self.dialect == "sqlite" else "EXPLAIN "
        if self.dialect == "sqlite":
            params: Any = tuple(compiled.params[name] for name in compiled.positiontup or ())
        else:
            params = compiled.params
        rows = self.conn.exec_driver_sql(prefix + str(compiled), params).fetchall()
        return "\n".join(str(row[-1]) for row in rows)


def _migrated(engine: Engine) -> Engine:
    upgrade(engine)
    with engine.connect() as conn, conn.begin():
        _seed_cast(conn)
    return engine


@pytest.fixture(scope="session")
def sqlite_search_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    path: Path = tmp_path_factory.mktemp("search") / "search.db"
    engine = _migrated(create_db_engine(f"sqlite:///{path}"))
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def postgres_search_engine(pg_server: PgServer) -> Iterator[Engine]:
    with psycopg.connect(pg_server.url, autocommit=True) as admin:
        admin.execute("CREATE DATABASE search_tests")
    engine = _migrated(create_db_engine(pg_server.database_url("search_tests")))
    yield engine
    engine.dispose()


@contextmanager
def _rolled_back(engine: Engine, dialect: str) -> Iterator[SearchDb]:
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            yield SearchDb(conn, dialect)
        finally:
            transaction.rollback()


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest) -> Iterator[SearchDb]:
    """A seeded database of each kind; whatever the test adds is rolled back."""
    engine: Engine = request.getfixturevalue(
        f"{'sqlite' if request.param == 'sqlite' else 'postgres'}_search_engine"
    )
    with _rolled_back(engine, request.param) as search_db:
        yield search_db


@pytest.fixture
def sqlite_db(sqlite_search_engine: Engine) -> Iterator[SearchDb]:
    with _rolled_back(sqlite_search_engine, "sqlite") as search_db:
        yield search_db


@pytest.fixture
def postgres_db(postgres_search_engine: Engine) -> Iterator[SearchDb]:
    with _rolled_back(postgres_search_engine, "postgresql") as search_db:
        yield search_db
