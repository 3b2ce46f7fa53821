"""The demo generator: every denormalised column agrees with the threads it was derived from,
the data has the variety a demo needs, and the real API serves it (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import sys
import threading
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, case, func, select

from tests.support.api import Api
from tests.support.indexes import index_definitions
from tidings.conversations.service import preview_of
from tidings.db import deferred_indexes
from tidings.db.tables import (
    attachments,
    conversation_activity,
    conversation_emails,
    conversation_fields,
    conversation_tags,
    conversations,
    counters,
    customer_emails,
    customers,
    folders,
    mailbox_field_options,
    mailbox_fields,
    tags,
    threads,
    user_mailboxes,
    users,
)
from tidings.db.tables import deferred_indexes as deferred_table
from tidings.demo import generator
from tidings.demo.generator import BULK_TABLES, DemoSummary, generate, is_empty
from tidings.kit.db import create_db_engine
from tidings.search import index as search_index

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
TWO_YEARS = 2 * 365 * 86400
COUNT = 300
CUSTOMER_SIDE = ("customer", "chat", "phone")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    engine = create_db_engine(db_url)
    yield engine
    engine.dispose()


@pytest.fixture
def demo(engine: Engine) -> DemoSummary:
    assert is_empty(engine)
    summary = generate(engine, conversations=COUNT, seed=7, now=NOW, batch_size=64)
    assert not is_empty(engine)
    return summary


def _rows(engine: Engine, query: Any) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def _epoch(value: datetime | int | None) -> int | None:
    """Whole seconds, whether a Timestamp column or an aggregate over one (raw on some dialects)."""
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp())


def _threads_by_conversation(engine: Engine) -> dict[int, list[dict[str, Any]]]:
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for t in _rows(engine, select(threads).order_by(threads.c.created_at, threads.c.id)):
        found[t["conversation_id"]].append(t)
    return found


class TestDerivedColumns:
    """Each denormalised column is recomputed here from the threads, as refresh_derived does."""

    def test_counts_times_and_waiting_recomputed_in_sql(self, engine: Engine, demo: DemoSummary) -> None:
        t = threads.c
        published = t.state == "published"
        facts = (
            select(
                t.conversation_id.label("cid"),
                func.count().label("total"),
                func.sum(case(((t.type != "lineitem") & published, 1), else_=0)).label("visible"),
                func.max(t.created_at).label("newest"),
            )
            .group_by(t.conversation_id)
            .subquery()
        )
        customer_side = (
            select(t.conversation_id.label("cid"), func.max(t.created_at).label("at"))
            .where(t.type.in_(CUSTOMER_SIDE), published)
            .group_by(t.conversation_id)
            .subquery()
        )
        replies = (
            select(t.conversation_id.label("cid"), func.max(t.created_at).label("at"))
            .where(t.type == "message", published)
            .group_by(t.conversation_id)
            .subquery()
        )
        c = conversations.c
        rows = _rows(
            engine,
            select(
                c.id,
                c.thread_count,
                c.total_threads,
                c.modified_at,
                c.last_customer_at,
                c.last_user_reply_at,
                c.customer_waiting_since,
                facts.c.total,
                facts.c.visible,
                facts.c.newest,
                customer_side.c.at.label("expected_customer"),
                replies.c.at.label("expected_reply"),
            )
            .join(facts, facts.c.cid == c.id)
            .outerjoin(customer_side, customer_side.c.cid == c.id)
            .outerjoin(replies, replies.c.cid == c.id),
        )
        assert len(rows) == COUNT
        for r in rows:
            assert r["total_threads"] == r["total"], r
            assert r["thread_count"] == r["visible"], r
            assert _epoch(r["modified_at"]) == _epoch(r["newest"]), r
            assert _epoch(r["last_customer_at"]) == _epoch(r["expected_customer"]), r
            assert _epoch(r["last_user_reply_at"]) == _epoch(r["expected_reply"]), r
            lc, lr = _epoch(r["expected_customer"]), _epoch(r["expected_reply"])
            waiting = lc if lc is not None and (lr is None or lc > lr) else None
            assert _epoch(r["customer_waiting_since"]) == waiting, r

    def test_preview_updated_at_closing_and_attachments(self, engine: Engine, demo: DemoSummary) -> None:
        by_conversation = _threads_by_conversation(engine)
        with_attachments = {
            r["conversation_id"] for r in _rows(engine, select(attachments.c.conversation_id).distinct())
        }
        for conv in _rows(engine, select(conversations)):
            items = by_conversation[conv["id"]]
            assert 1 <= len(items) <= 8
            assert [i["created_at"] for i in items] == sorted({i["created_at"] for i in items})
            shown = [i for i in items if i["state"] == "published" and i["type"] != "lineitem"]
            assert conv["preview"] == preview_of(shown[-1]["body"] if shown else None)
            user_times = [i["created_at"] for i in items if i["created_by_type"] == "user"]
            expected = max([conv["created_at"], *user_times, *filter(None, [conv["last_customer_at"]])])
            assert conv["user_updated_at"] == expected, conv["id"]
            assert conv["has_attachments"] == (conv["id"] in with_attachments)
            closing = [i for i in items if i["status"] == "closed"]
            if conv["status"] == "closed":
                assert closing and conv["closed_at"] == closing[-1]["created_at"]
                assert conv["closed_by"] == closing[-1]["created_by_id"]
            else:
                assert conv["closed_at"] is None and conv["closed_by"] is None
            status_steps = [i["status"] for i in items if i["status"] != "nochange"]
            assert conv["state"] == "draft" or status_steps[-1] == conv["status"]

    def test_folder_follows_state_status_and_assignee(self, engine: Engine, demo: DemoSummary) -> None:
        c = conversations.c
        rows = _rows(
            engine,
            select(
                c.state,
                c.status,
                c.assignee_id,
                c.mailbox_id,
                folders.c.type,
                folders.c.mailbox_id.label("fm"),
            ).join(folders, folders.c.id == c.folder_id),
        )
        for r in rows:
            if r["state"] == "draft":
                expected = "drafts"
            elif r["status"] in ("spam", "closed"):
                expected = r["status"]
            else:
                expected = "assigned" if r["assignee_id"] else "unassigned"
            assert (r["type"], r["fm"]) == (expected, r["mailbox_id"])

    def test_customer_sort_keys_and_addresses(self, engine: Engine, demo: DemoSummary) -> None:
        first_email = (
            select(customer_emails.c.customer_id, func.min(customer_emails.c.id).label("eid"))
            .group_by(customer_emails.c.customer_id)
            .subquery()
        )
        primary = {
            r["customer_id"]: r["value"]
            for r in _rows(
                engine,
                select(customer_emails.c.customer_id, customer_emails.c.value).join(
                    first_email, first_email.c.eid == customer_emails.c.id
                ),
            )
        }
        people = {r["id"]: r for r in _rows(engine, select(customers))}
        copied: dict[int, set[str]] = defaultdict(set)
        for r in _rows(engine, select(conversation_emails)):
            copied[r["conversation_id"]].add(r["email"])
        by_conversation = _threads_by_conversation(engine)
        for conv in _rows(engine, select(conversations)):
            person = people[conv["customer_id"]]
            assert (
                conv["customer_name_sort"] == f"{person['first_name']} {person['last_name']}".strip().lower()
            )
            assert conv["customer_email_sort"] == primary[conv["customer_id"]]
            assert conv["source_via"] == conv["created_by_type"]
            addresses = set(json.loads(conv["cc"])) | set(json.loads(conv["bcc"]))
            for t in by_conversation[conv["id"]]:
                assert t["source_via"] == t["created_by_type"]
                assert t["customer_id"] == conv["customer_id"]
                if t["created_by_type"] == "customer":
                    assert t["created_by_id"] == conv["customer_id"]
                for column in ("to_list", "cc_list", "bcc_list"):
                    addresses |= set(json.loads(t[column]))
            assert copied[conv["id"]] == addresses


class TestVariety:
    def test_statuses_types_threads_and_drafts(self, engine: Engine, demo: DemoSummary) -> None:
        convs = _rows(engine, select(conversations))
        assert {c["status"] for c in convs} == {"active", "pending", "closed", "spam"}
        assert {c["type"] for c in convs} == {"email", "chat", "phone"}
        assert 1 <= sum(c["state"] == "draft" for c in convs) < COUNT // 20
        assert demo.drafts == sum(c["state"] == "draft" for c in convs)
        assert any(c["customer_waiting_since"] for c in convs)
        assert any(c["assignee_id"] is None for c in convs if c["status"] == "active")
        assert any(json.loads(c["cc"]) for c in convs)
        assert all(3 <= len(c["subject"].split()) <= 8 for c in convs)
        items = _rows(engine, select(threads))
        assert len(items) == demo.threads
        assert {t["type"] for t in items} == {"customer", "message", "note", "chat", "phone", "lineitem"}
        actions = {t["action_type"] for t in items if t["type"] == "lineitem"}
        assert actions == {"changed-ticket-status", "changed-ticket-assignee", "manual-workflow"}
        assert all(t["workflow_id"] for t in items if t["action_type"] == "manual-workflow")
        assert any(t["saved_reply_id"] for t in items if t["type"] == "message")
        assert any(json.loads(t["bcc_list"]) for t in items)
        assert {t["status"] for t in items} >= {"nochange", "active", "pending", "closed"}
        for t in items:
            if t["type"] == "lineitem":
                assert t["body"] is None and t["action_text"]
            else:
                assert 20 <= len(t["body"].split()) <= 150, t["body"]
        assert demo.attachments == len(_rows(engine, select(attachments.c.id))) > 0

    def test_numbers_follow_creation_and_counter_is_advanced(self, engine: Engine, demo: DemoSummary) -> None:
        rows = _rows(
            engine,
            select(conversations.c.number, conversations.c.created_at).order_by(conversations.c.number),
        )
        numbers = [r["number"] for r in rows]
        assert numbers == list(range(1, COUNT + 1))
        created = [r["created_at"] for r in rows]
        assert created == sorted(created)
        with engine.connect() as conn:
            counter = conn.execute(
                select(counters.c.value).where(counters.c.name == "conversation_number")
            ).scalar()
        assert counter == COUNT

    def test_timestamps_within_two_years_before_now(self, engine: Engine, demo: DemoSummary) -> None:
        c = conversations.c
        with engine.connect() as conn:
            oldest, newest, last_change = conn.execute(
                select(func.min(c.created_at), func.max(c.created_at), func.max(c.modified_at))
            ).one()
            last_thread = conn.execute(select(func.max(threads.c.created_at))).scalar_one()
        first, last, changed, threaded = (_epoch(v) or 0 for v in (oldest, newest, last_change, last_thread))
        assert NOW_TS - TWO_YEARS <= first < NOW_TS - TWO_YEARS + 30 * 86400
        assert NOW_TS - 5 * 86400 < last <= changed <= NOW_TS
        assert 0 < threaded <= NOW_TS

    def test_tags_are_skewed(self, engine: Engine, demo: DemoSummary) -> None:
        uses = Counter(r["tag_id"] for r in _rows(engine, select(conversation_tags.c.tag_id)))
        all_tags = _rows(engine, select(tags.c.id, tags.c.name))
        assert len(all_tags) == demo.tags == 40
        assert all(t["name"] == t["name"].lower() for t in all_tags)
        counts = sorted((uses.get(t["id"], 0) for t in all_tags), reverse=True)
        assert counts[0] >= 5 * max(1, statistics.median(counts))

    def test_customers_have_unique_lower_case_emails(self, engine: Engine, demo: DemoSummary) -> None:
        emails = _rows(engine, select(customer_emails))
        values = [e["value"] for e in emails]
        assert len(values) == len(set(values)) == demo.customer_emails
        assert all(v == v.lower() and v.count("@") == 1 for v in values)
        assert any("+" in v for v in values)
        per_customer = Counter(e["customer_id"] for e in emails)
        assert demo.customers == COUNT // 4 == len(per_customer)
        assert max(per_customer.values()) >= 2 and min(per_customer.values()) == 1

    def test_users_grants_and_custom_fields(self, engine: Engine, demo: DemoSummary) -> None:
        roles = Counter(r["role"] for r in _rows(engine, select(users.c.role)))
        assert roles["owner"] == 1 and roles["admin"] >= 1 and roles["user"] >= 1
        granted = {r["user_id"] for r in _rows(engine, select(user_mailboxes.c.user_id))}
        assert len(granted) == roles["user"]
        fields = {f["id"]: f for f in _rows(engine, select(mailbox_fields))}
        assert {f["type"] for f in fields.values()} == {"dropdown", "number", "singleline", "date"}
        options = defaultdict(set)
        for o in _rows(engine, select(mailbox_field_options)):
            options[o["field_id"]].add(str(o["id"]))
        values = _rows(engine, select(conversation_fields))
        assert {fields[v["field_id"]]["type"] for v in values} == {"dropdown", "number", "singleline", "date"}
        for v in values:
            kind = fields[v["field_id"]]["type"]
            if kind == "dropdown":
                assert v["value"] in options[v["field_id"]]
            elif kind == "date":
                datetime.strptime(v["value"], "%Y-%m-%d")
            elif kind == "number":
                assert v["value"].isdigit()


def test_customers_exist_before_their_conversations(engine: Engine, demo: DemoSummary) -> None:
    c = conversations.c
    late = _rows(
        engine,
        select(c.id)
        .join(customers, customers.c.id == c.customer_id)
        .where(customers.c.created_at > c.created_at),
    )
    assert late == []


def test_progress_follows_committed_batches(engine: Engine) -> None:
    seen: list[tuple[int, int]] = []

    def progress(n: int) -> None:
        with engine.connect() as conn:
            seen.append((n, conn.execute(select(func.count()).select_from(conversations)).scalar_one()))

    generate(engine, conversations=130, now=NOW, batch_size=50, progress=progress)
    assert seen == [(50, 50), (50, 100), (30, 130)]


def test_an_error_stops_the_run_and_its_thread(engine: Engine) -> None:
    threads_before = threading.active_count()
    interval = sys.getswitchinterval()
    calls: list[int] = []

    def progress(n: int) -> None:
        calls.append(n)
        if len(calls) == 2:
            raise RuntimeError("stop here")

    indexes = index_definitions(engine, BULK_TABLES)
    with pytest.raises(RuntimeError, match="stop here"):
        generate(engine, conversations=500, now=NOW, batch_size=50, progress=progress)
    assert threading.active_count() == threads_before
    assert index_definitions(engine, BULK_TABLES) == indexes
    assert sys.getswitchinterval() == interval
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(conversations)).scalar_one() == 100


class _DyingFactory(generator._ConversationFactory):
    """Ends its process as a kill would: no exception, no end marker."""

    def batch(self, index: int, start: int, count: int) -> generator._Batch:
        os._exit(3)


def test_a_fresh_load_leaves_postgresql_vacuumed_and_analysed(engine: Engine, dialect: str) -> None:
    generate(engine, conversations=40, seed=5, now=NOW, batch_size=25)
    with engine.connect() as conn:
        if dialect == "sqlite":
            # No statistics on SQLite: its plans (checked by the search and list tests) stay as chosen.
            stats = "SELECT name FROM sqlite_master WHERE name = 'sqlite_stat1'"
            assert conn.exec_driver_sql(stats).all() == []
            return
        seen = conn.exec_driver_sql(
            "SELECT relname, last_vacuum IS NOT NULL, last_analyze IS NOT NULL FROM pg_stat_user_tables "
            "WHERE relname IN ('conversations', 'threads', 'conversation_activity') ORDER BY relname"
        ).all()
    assert [tuple(row) for row in seen] == [
        ("conversation_activity", True, True),
        ("conversations", True, True),
        ("threads", True, True),
    ]


def test_a_producer_process_that_dies_is_an_error_not_a_hang(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(generator, "_ConversationFactory", _DyingFactory)
    with pytest.raises(RuntimeError, match="stopped without finishing"):
        generate(engine, conversations=50, now=NOW, build_in_process=True)
    assert is_empty(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deferred_table)).scalar_one() == 0


def test_same_seed_gives_the_same_data_built_in_a_thread_or_a_process(
    tmp_path: Path, sqlite_template: Path
) -> None:
    def dump(name: str, in_process: bool) -> list[Any]:
        path = tmp_path / name
        shutil.copy(sqlite_template, path)
        engine = create_db_engine(f"sqlite:///{path}")
        try:
            generate(engine, conversations=120, seed=3, now=NOW, batch_size=50, build_in_process=in_process)
            with engine.connect() as conn:
                tables = [
                    conn.execute(select(table).order_by(*table.primary_key.columns)).all()
                    for table in (
                        conversations,
                        threads,
                        customers,
                        customer_emails,
                        conversation_tags,
                        conversation_activity,
                    )
                ]
                return [*tables, _search_documents(conn)]
        finally:
            engine.dispose()

    in_thread = dump("a.db", in_process=False)
    assert in_thread[0] and in_thread[-1]
    assert dump("b.db", in_process=False) == in_thread
    assert dump("c.db", in_process=True) == in_thread


def _search_documents(conn: Connection) -> list[Any]:
    if conn.dialect.name == "sqlite":
        query = "SELECT rowid, subject, body FROM conversation_search ORDER BY rowid"
        return list(conn.exec_driver_sql(query).all())
    return conn.exec_driver_sql(
        "SELECT conversation_id, document::text FROM conversation_search ORDER BY conversation_id"
    ).all()


def test_search_documents_are_those_the_write_path_builds(engine: Engine, demo: DemoSummary) -> None:
    """The loader joins subjects and bodies in memory; `refresh` joins them in SQL from the tables."""
    with engine.connect() as conn:
        transaction = conn.begin()
        try:
            loaded = _search_documents(conn)
            conn.exec_driver_sql("DELETE FROM conversation_search")
            search_index.refresh(conn, conn.execute(select(conversations.c.id)).scalars().all())
            rebuilt = _search_documents(conn)
        finally:
            transaction.rollback()
    assert len(loaded) == demo.conversations
    assert loaded == rebuilt


def test_a_fresh_load_gets_every_index_back(engine: Engine) -> None:
    before = index_definitions(engine, BULK_TABLES)
    dropped: list[str] = []
    defer = deferred_indexes.defer

    def spy(conn: Connection, tables: Sequence[str]) -> list[str]:
        dropped.extend(defer(conn, tables))
        return dropped

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deferred_indexes, "defer", spy)
        generate(engine, conversations=60, seed=5, now=NOW, batch_size=25)
        generate(engine, conversations=20, seed=6, now=NOW, batch_size=25)
    assert len(dropped) == sum(len(pairs) for pairs in before.values()) > 20  # the first run only
    assert index_definitions(engine, BULK_TABLES) == before
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deferred_table)).scalar_one() == 0


def test_a_second_run_appends(engine: Engine) -> None:
    first = generate(engine, conversations=40, seed=1, now=NOW, mailboxes=2, users=2)
    second = generate(engine, conversations=30, seed=2, now=NOW, mailboxes=2, users=2)
    with engine.connect() as conn:
        numbers = (
            conn.execute(select(conversations.c.number).order_by(conversations.c.number)).scalars().all()
        )
        owners = conn.execute(select(func.count()).where(users.c.role == "owner")).scalar_one()
        tag_count = conn.execute(select(func.count()).select_from(tags)).scalar_one()
    assert numbers == list(range(1, 71))
    assert owners == 1
    assert tag_count == first.tags == second.tags
    assert second.customers == 10 and second.mailboxes == 2


class TestThroughTheApi:
    @pytest.fixture
    def loaded(self, app: Any, api: Api) -> tuple[Engine, DemoSummary]:
        engine: Engine = app.state.db.engine
        return engine, generate(engine, conversations=COUNT, seed=11)

    def test_listing_counts_published_conversations(
        self, api: Api, loaded: tuple[Engine, DemoSummary]
    ) -> None:
        _, summary = loaded
        response = api.get("/v2/conversations", params={"status": "all"})
        assert response.status_code == 200, response.text
        assert response.json()["page"]["totalElements"] == summary.conversations - summary.drafts

    def test_conversation_with_threads(self, api: Api, loaded: tuple[Engine, DemoSummary]) -> None:
        engine, _ = loaded
        [row] = _rows(
            engine,
            select(conversations.c.id, conversations.c.total_threads)
            .where(conversations.c.total_threads >= 4)
            .order_by(conversations.c.id)
            .limit(1),
        )
        response = api.get(f"/v2/conversations/{row['id']}", params={"embed": "threads"})
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["_embedded"]["threads"]) == row["total_threads"]
        assert body["primaryCustomer"]["email"] == body["primaryCustomer"]["email"].lower()

    def test_body_search_finds_refunds(self, api: Api, loaded: tuple[Engine, DemoSummary]) -> None:
        response = api.get("/v2/conversations", params={"status": "all", "query": "body:refund"})
        assert response.status_code == 200, response.text
        assert response.json()["page"]["totalElements"] >= 1

    def test_folder_counts_add_up(self, api: Api, loaded: tuple[Engine, DemoSummary]) -> None:
        engine, _ = loaded
        per_mailbox = Counter(r["mailbox_id"] for r in _rows(engine, select(conversations.c.mailbox_id)))
        for mailbox_id, total in per_mailbox.items():
            response = api.get(f"/v2/mailboxes/{mailbox_id}/folders")
            assert response.status_code == 200, response.text
            counted = sum(f["totalCount"] for f in response.json()["_embedded"]["folders"])
            assert counted == total

    def test_api_writes_continue_after_generated_ids(
        self, api: Api, loaded: tuple[Engine, DemoSummary]
    ) -> None:
        _, summary = loaded
        mailbox = api.mailbox()
        created = api.conversation(mailbox, tags=["billing"])
        got = api.get(f"/v2/conversations/{created}")
        assert got.status_code == 200
        assert got.json()["number"] == summary.conversations + 1
