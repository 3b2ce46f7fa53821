"""Realistic demo and benchmark data, written fast enough for a million conversations.

The small, fixed part (mailboxes with their folders, users, saved replies, workflows, custom
fields, tags) goes through the repositories, so it is created exactly as the API creates it.
Customers and conversations are built in Python as plain tuples with ids assigned here (after the
largest existing id of each table), so threads, tags and addresses can point at their conversation
without reading anything back, and each batch is written in one transaction by `kit.bulk.BulkWriter`.

Every denormalised conversation column is computed from the threads generated for it, with the
rules of `conversations.service.refresh_derived`, so the API reads the same values it would have
stored itself; the search documents and report activity rows are built from the batch in memory
as `tidings.search.index` and `tidings.reports.activity` would build them from the tables.

A producer builds the next batch while the calling thread writes the current one: a thread for
small runs, a separate process from `BUILD_IN_PROCESS_FROM` conversations on, so that the
writer never waits for the GIL the builder holds. Into empty tables (a fresh load) the secondary
indexes are dropped and built once at the end (`tidings.db.deferred_indexes`), and FTS5 merges
its segments once at the end instead of as they pile up (`search.index.bulk_loading`).
Measured at 1M conversations on SQLite, 2 cores: 1,802 -> 2,584 conversations/s; the rest of the
time is FTS5 tokenising the bodies, writing 5M thread rows and building the indexes.

The same seed and parameters (including `now` and `batch_size`) give the same data.
"""

from __future__ import annotations

import bisect
import contextlib
import itertools
import json
import math
import multiprocessing
import multiprocessing.process
import queue
import random
import sys
import threading
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, exists, func, select, update

from tidings.conversations.service import preview_of
from tidings.db import deferred_indexes
from tidings.db.tables import (
    attachments,
    counters,
    customer_emails,
    customer_phones,
    tags,
    threads,
    user_mailboxes,
    users,
)
from tidings.db.tables import conversations as conversations_table
from tidings.db.tables import customers as customers_table
from tidings.db.tables import mailboxes as mailboxes_table
from tidings.demo import words
from tidings.demo.text import SENTENCE_POOL, Corpus, pick, zipf_cum_weights
from tidings.kit.bulk import BulkWriter, Row
from tidings.mailboxes import repository as mailboxes_repository
from tidings.reports import activity as report_activity
from tidings.saved_replies import repository as saved_replies_repository
from tidings.search import index as search_index
from tidings.workflows import repository as workflows_repository

T = TypeVar("T")

TWO_YEARS = 2 * 365 * 86400
# The newest conversation starts this long before `now`, so its threads (at least a second
# apart) always fit before `now`.
LATEST_START = 600
MAX_THREADS = 8
# `preview_of` keeps 255 characters after collapsing whitespace; generated bodies hold no markup
# or entities and only a few double line breaks, so their first 264 characters give the same
# preview as the whole body at a fraction of the regex work.
PREVIEW_SOURCE = 264
CUSTOMER_BATCH = 20_000
# The writer thread needs the GIL back after every statement it runs in SQLite or PostgreSQL;
# with the default 5 ms switch interval it would wait on the generating thread that long each time.
SWITCH_INTERVAL = 0.0005
# From this many conversations on, batches are built in a separate process: a thread shares the
# GIL with the writer, whose every statement then waits for it (measured at 100k on SQLite, 2
# cores: 3,588/s with a thread, 4,228-4,715/s with a process). Below it, starting a process
# (about a second) costs more than it saves.
BUILD_IN_PROCESS_FROM = 20_000
PRODUCER_EXIT_SECONDS = 5.0
BULK_PRAGMAS = {"synchronous": "OFF", "cache_size": "-262144"}
# Loaded with their secondary indexes dropped and rebuilt at the end when they start empty
# (`tidings.db.deferred_indexes`); appending to tables in use keeps the indexes up to date instead.
BULK_TABLES = (
    "customers",
    "customer_emails",
    "customer_phones",
    "conversations",
    "threads",
    "attachments",
    "conversation_tags",
    "conversation_emails",
    "conversation_fields",
    "conversation_activity",
    "conversation_tag_activity",
    "conversation_search",
)
AGENT_DOMAIN = "tidings.example"

CONVERSATION_COLUMNS = (
    "id",
    "number",
    "mailbox_id",
    "folder_id",
    "type",
    "status",
    "state",
    "subject",
    "preview",
    "assignee_id",
    "customer_id",
    "created_by_type",
    "created_by_id",
    "source_type",
    "source_via",
    "cc",
    "bcc",
    "created_at",
    "modified_at",
    "closed_at",
    "closed_by",
    "user_updated_at",
    "last_customer_at",
    "last_user_reply_at",
    "customer_waiting_since",
    "thread_count",
    "total_threads",
    "has_attachments",
    "customer_name_sort",
    "customer_email_sort",
    "snoozed_until",
    "snoozed_by",
    "unsnooze_on_customer_reply",
)
THREAD_COLUMNS = (
    "id",
    "conversation_id",
    "type",
    "status",
    "state",
    "action_type",
    "action_text",
    "body",
    "source_type",
    "source_via",
    "customer_id",
    "created_by_type",
    "created_by_id",
    "assigned_to_id",
    "saved_reply_id",
    "workflow_id",
    "to_list",
    "cc_list",
    "bcc_list",
    "imported",
    "created_at",
    "opened_at",
)
ATTACHMENT_COLUMNS = (
    "id",
    "conversation_id",
    "thread_id",
    "filename",
    "mime_type",
    "size",
    "width",
    "height",
    "data",
    "created_at",
)
CUSTOMER_COLUMNS = (
    "id",
    "first_name",
    "last_name",
    "job_title",
    "location",
    "organization",
    "background",
    "created_at",
    "updated_at",
)
EMAIL_COLUMNS = ("id", "customer_id", "value", "type")
PHONE_COLUMNS = ("id", "customer_id", "value", "type")
TAG_LINK_COLUMNS = ("conversation_id", "tag_id", "created_at")
CONVERSATION_EMAIL_COLUMNS = ("conversation_id", "email")
FIELD_VALUE_COLUMNS = ("conversation_id", "field_id", "value")

# Plan steps of a conversation's history, in time order.
FIRST, REPLY, CUSTOMER, NOTE, ASSIGN, WORKFLOW, STATUS, DRAFT = range(8)
CUSTOMER_THREAD = {"email": "customer", "chat": "chat", "phone": "phone"}
CUSTOMER_SOURCE = {"email": "email", "chat": "chat", "phone": "phone"}
# Mean waiting times in seconds (reply after the customer wrote, customer after a reply).
REPLY_DELAY = {"email": 5 * 3600.0, "chat": 90.0, "phone": 1800.0}
CUSTOMER_DELAY = {"email": 14 * 3600.0, "chat": 60.0, "phone": 86400.0}
STEP_DELAY = {NOTE: 1800.0, ASSIGN: 600.0, WORKFLOW: 900.0, STATUS: 7200.0}
# Exchanges (replies and customer answers) after the first thread: 0, 1, 2, …
EXCHANGE_WEIGHTS = (2, 16, 20, 20, 17, 13, 12)
TAG_COUNT_WEIGHTS = (30, 35, 20, 10, 5)
TYPE_WEIGHTS = (("email", 0.78), ("chat", 0.14), ("phone", 0.08))
DRAFT_RATE = 0.015
# New active conversations often wait in Unassigned; the ones handled have an owner.
ASSIGNED_RATE = {"active": 0.55, "pending": 0.85, "closed": 0.85, "spam": 0.0}
# Status by age: most conversations older than two weeks are closed.
RECENT = 14 * 86400
STATUS_RECENT = (("active", 0.40), ("pending", 0.25), ("closed", 0.30), ("spam", 0.05))
STATUS_OLD = (("active", 0.05), ("pending", 0.04), ("closed", 0.86), ("spam", 0.05))


@dataclass
class DemoSummary:
    """What `generate` wrote, for the CLI's report and the benchmark."""

    mailboxes: int = 0
    users: int = 0
    customers: int = 0
    customer_emails: int = 0
    tags: int = 0
    conversations: int = 0
    drafts: int = 0
    threads: int = 0
    attachments: int = 0
    seconds: float = 0.0

    @property
    def conversations_per_second(self) -> float:
        return self.conversations / self.seconds if self.seconds else 0.0

    @property
    def threads_per_second(self) -> float:
        return self.threads / self.seconds if self.seconds else 0.0


def is_empty(engine: Engine) -> bool:
    """True while the database holds no conversation at all (the CLI's `--if-empty`)."""
    with engine.connect() as conn:
        return not conn.execute(select(exists().where(conversations_table.c.id.is_not(None)))).scalar()


# -- setup ----------------------------------------------------------------------------------


@dataclass
class _Mailbox:
    """A mailbox and what its conversations draw on: folders, agents, replies, workflows, fields."""

    id: int
    folders: dict[str, int]
    agents: list[int] = field(default_factory=list)
    agent_cum: list[float] = field(default_factory=list)
    saved_replies: list[tuple[int, str]] = field(default_factory=list)
    workflows: list[tuple[int, str]] = field(default_factory=list)
    priority_field: int = 0
    priority_options: list[int] = field(default_factory=list)
    order_field: int = 0
    version_field: int = 0
    renewal_field: int = 0


@dataclass
class _Customer:
    """What a conversation needs of its customer, kept in memory for the whole run."""

    id: int
    first_name: str
    name_sort: str
    email_sort: str
    emails: tuple[str, ...]
    domain: str


@dataclass
class _World:
    """The fixed part of the data set, shared by every conversation batch."""

    now: int
    start: int
    mailboxes: list[_Mailbox]
    mailbox_cum: list[float]
    user_names: dict[int, tuple[str, str]]  # id -> (first name, full name)
    customers: list[_Customer]
    tag_ids: list[int]
    tag_cum: list[float]
    conversation_base: int
    number_base: int
    thread_base: int
    attachment_base: int


def _ascii(text: str) -> str:
    """Lower-case ASCII for email local parts: Zoë -> zoe, O'Brien -> obrien."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum() or ch == "-")


def _max_id(conn: Connection, table: Any) -> int:
    return int(conn.execute(select(func.coalesce(func.max(table.c.id), 0))).scalar_one())


def _arrival(u: float) -> float:
    """Where in the two years the u-th fraction of conversations arrives: volume doubles over time."""
    return math.sqrt(1.0 + 3.0 * u) - 1.0


def _setup(
    conn: Connection,
    rng: random.Random,
    now: int,
    *,
    mailbox_count: int,
    user_count: int,
    tag_count: int,
) -> tuple[list[_Mailbox], dict[int, tuple[str, str]], list[int], DemoSummary]:
    """Mailboxes (with folders and fields), users and grants, saved replies, workflows, tags."""
    summary = DemoSummary()
    when = datetime.fromtimestamp(now - TWO_YEARS - 60 * 86400, tz=UTC)
    existing_names = set(conn.execute(select(func.lower(mailboxes_table.c.name))).scalars())
    mailboxes: list[_Mailbox] = []
    for index in range(mailbox_count):
        base = words.MAILBOX_NAMES[index % len(words.MAILBOX_NAMES)]
        name = base if index < len(words.MAILBOX_NAMES) else f"{base} {index // len(words.MAILBOX_NAMES) + 1}"
        suffix = 2
        while name.lower() in existing_names:
            name = f"{base} {suffix}"
            suffix += 1
        existing_names.add(name.lower())
        slug = "-".join(name.lower().split())
        email = f"{slug}@{AGENT_DOMAIN}"
        mailbox_id = mailboxes_repository.create_mailbox(conn, name, email, slug, when)
        mailboxes.append(_Mailbox(mailbox_id, mailboxes_repository.folder_ids(conn, mailbox_id)))
    summary.mailboxes = len(mailboxes)

    user_names = _setup_users(conn, rng, user_count, mailboxes, when, summary)
    for mailbox in mailboxes:
        _setup_mailbox_content(conn, rng, mailbox, when)
    tag_ids = _setup_tags(conn, rng, tag_count, when, summary)
    return mailboxes, user_names, tag_ids, summary


def _setup_users(
    conn: Connection,
    rng: random.Random,
    count: int,
    mailboxes: list[_Mailbox],
    when: datetime,
    summary: DemoSummary,
) -> dict[int, tuple[str, str]]:
    """New users (an owner only if none exists), then every user's visible mailboxes as agents."""
    has_owner = conn.execute(select(exists().where(users.c.role == "owner"))).scalar()
    if not has_owner:
        count = max(count, 1)  # the owner sees every mailbox, so each one has an agent
    taken = {e.lower() for e in conn.execute(select(users.c.email)).scalars()}
    first_names = words.names(words.FIRST_NAMES)
    last_names = words.names(words.LAST_NAMES)
    titles = ("Support Specialist", "Support Lead", "Billing Specialist", "Customer Success Manager")
    mailbox_ids = [m.id for m in mailboxes]
    for index in range(count):
        if index == 0 and not has_owner:
            role = "owner"
        elif index < 1 + count // 4:
            role = "admin"
        else:
            role = "user"
        first, last = rng.choice(first_names), rng.choice(last_names)
        local = f"{_ascii(first)}.{_ascii(last)}"
        email = f"{local}@{AGENT_DOMAIN}"
        serial = 2
        while email in taken:
            email = f"{local}{serial}@{AGENT_DOMAIN}"
            serial += 1
        taken.add(email)
        user_id = int(
            conn.execute(
                users.insert().values(
                    first_name=first,
                    last_name=last,
                    email=email,
                    role=role,
                    timezone=rng.choice(words.TIMEZONES),
                    job_title="Head of Support" if role == "owner" else rng.choice(titles),
                    created_at=when,
                    updated_at=when,
                )
            ).inserted_primary_key[0]  # type: ignore[index]
        )
        if role == "user" and mailbox_ids:
            granted = rng.sample(mailbox_ids, rng.randint(1, len(mailbox_ids)))
            conn.execute(
                user_mailboxes.insert(), [{"user_id": user_id, "mailbox_id": m} for m in sorted(granted)]
            )
        summary.users += 1

    names: dict[int, tuple[str, str]] = {}
    by_id = {m.id: m for m in mailboxes}
    grants: dict[int, set[int]] = {}
    for user_id, mailbox_id in conn.execute(select(user_mailboxes.c.user_id, user_mailboxes.c.mailbox_id)):
        grants.setdefault(user_id, set()).add(mailbox_id)
    for row in conn.execute(
        select(users.c.id, users.c.first_name, users.c.last_name, users.c.role).order_by(users.c.id)
    ):
        names[row.id] = (row.first_name, f"{row.first_name} {row.last_name}".strip())
        visible = (
            mailbox_ids if row.role in ("owner", "admin") else sorted(grants.get(row.id, set()) & set(by_id))
        )
        for mailbox_id in visible:
            by_id[mailbox_id].agents.append(row.id)
    for mailbox in mailboxes:
        rng.shuffle(mailbox.agents)
        mailbox.agent_cum = zipf_cum_weights(len(mailbox.agents), 0.8)
    return names


def _setup_mailbox_content(conn: Connection, rng: random.Random, mailbox: _Mailbox, when: datetime) -> None:
    for name, text in rng.sample(words.SAVED_REPLIES, rng.randint(6, 9)):
        reply_id = saved_replies_repository.create(
            conn, mailbox.id, {"name": name, "text": text, "chat_text": None}, when
        )
        mailbox.saved_replies.append((reply_id, text))
    manual = [w for w in words.WORKFLOWS if w[1] == "manual"]
    automatic = [w for w in words.WORKFLOWS if w[1] == "automatic"]
    for name, kind in [*rng.sample(manual, 3), rng.choice(automatic)]:
        status = "active" if kind == "manual" or rng.random() < 0.7 else "inactive"
        workflow_id = workflows_repository.create(conn, mailbox.id, name, kind, status, when)
        if kind == "manual":
            mailbox.workflows.append((workflow_id, name))
    mailbox.priority_field = mailboxes_repository.create_field(
        conn,
        mailbox.id,
        "Priority",
        "dropdown",
        False,
        [{"label": label} for label in words.PRIORITY_OPTIONS],
    )
    mailbox.order_field = mailboxes_repository.create_field(
        conn, mailbox.id, "Order number", "number", False, []
    )
    mailbox.version_field = mailboxes_repository.create_field(
        conn, mailbox.id, "Product version", "singleline", False, []
    )
    mailbox.renewal_field = mailboxes_repository.create_field(
        conn, mailbox.id, "Renewal date", "date", False, []
    )
    [priority] = [
        f for f in mailboxes_repository.fields_of(conn, [mailbox.id]) if f["id"] == mailbox.priority_field
    ]
    mailbox.priority_options = [o["id"] for o in priority["options"]]


def _setup_tags(
    conn: Connection, rng: random.Random, count: int, when: datetime, summary: DemoSummary
) -> list[int]:
    """Tag ids in popularity order: the listed names first, then made-up topics when more are asked."""
    wanted = list(words.names(words.TAG_NAMES))[:count]
    vocab = words.vocabulary()[200:]
    serial = 0
    while len(wanted) < count:
        suffix = f"-{serial // len(vocab)}" if serial >= len(vocab) else ""
        wanted.append(f"topic-{vocab[serial % len(vocab)]}{suffix}")
        serial += 1
    existing = {
        r.name: r.id for r in conn.execute(select(tags.c.name, tags.c.id).where(tags.c.name.in_(wanted)))
    }
    next_id = _max_id(conn, tags)
    rows = []
    ids = []
    for name in wanted:
        if name in existing:
            ids.append(existing[name])
            continue
        next_id += 1
        color = rng.choice(words.TAG_COLORS) if rng.random() < 0.25 else None
        rows.append(
            {
                "id": next_id,
                "name": name,
                "slug": name,
                "color": color,
                "created_at": when,
                "updated_at": when,
            }
        )
        ids.append(next_id)
    if rows:
        conn.execute(tags.insert(), rows)
    summary.tags = len(ids)
    BulkWriter(conn).sync_sequences(["tags"])
    return ids


# -- customers ------------------------------------------------------------------------------


def _customer_batches(
    rng: random.Random, count: int, id_base: int, email_base: int, phone_base: int, taken: set[str], now: int
) -> Iterator[tuple[list[Row], list[Row], list[Row], list[_Customer]]]:
    """Customers with 1–3 unique lower-case emails (some with +tags) and sometimes a phone."""
    first_names = words.names(words.FIRST_NAMES)
    last_names = words.names(words.LAST_NAMES)
    companies = words.names(words.COMPANIES)
    titles = words.names(words.JOB_TITLES, "|")
    locations = words.names(words.LOCATIONS, "|")
    start = now - TWO_YEARS
    span = now - LATEST_START - start
    email_id, phone_id = email_base, phone_base
    rows: list[Row] = []
    emails: list[Row] = []
    phones: list[Row] = []
    kept: list[_Customer] = []
    for index in range(count):
        customer_id = id_base + index + 1
        first, last = rng.choice(first_names), rng.choice(last_names)
        f, g = _ascii(first), _ascii(last)
        company = rng.choice(companies) if rng.random() < 0.6 else None
        domain = f"{company.lower()}.example" if company else rng.choice(words.FREE_MAIL_DOMAINS)
        free = rng.choice(words.FREE_MAIL_DOMAINS)
        shape = rng.random()
        if shape < 0.45:
            primary = f"{f}.{g}@{domain}"
        elif shape < 0.7:
            primary = f"{f[:1]}{g}@{domain}"
        elif shape < 0.9:
            primary = f"{f}{g}{rng.randint(1, 99)}@{free}"
        else:
            primary = f"{f}+{rng.choice(words.EMAIL_PLUS_TAGS)}@{domain}"
        addresses = [primary]
        extra = rng.random()
        if extra < 0.35:
            addresses.append(f"{f}+{rng.choice(words.EMAIL_PLUS_TAGS)}@{domain}")
        if extra < 0.1 or 0.35 <= extra < 0.5:
            addresses.append(f"{g}.{f}@{free}")
        unique = []
        for address in addresses:
            local, _, host = address.partition("@")
            candidate, serial = address, 2
            while candidate in taken:
                candidate = f"{local}{serial}@{host}"
                serial += 1
            taken.add(candidate)
            unique.append(candidate)
        created = start + int(span * _arrival(index / count)) - (rng.randint(0, 86400) if index else 0)
        created = max(created, start)
        organization = f"{company}{rng.choice(words.COMPANY_SUFFIXES)}" if company else None
        rows.append(
            (
                customer_id,
                first,
                last,
                rng.choice(titles) if rng.random() < 0.3 else None,
                rng.choice(locations) if rng.random() < 0.5 else None,
                organization,
                "Long-time customer, prefers email over phone." if rng.random() < 0.03 else None,
                created,
                created,
            )
        )
        for position, address in enumerate(unique):
            email_id += 1
            if position:
                kind = "other"
            else:
                kind = "work" if company and address.endswith(f"@{domain}") else "home"
            emails.append((email_id, customer_id, address, kind))
        if rng.random() < 0.35:
            phone_id += 1
            number = (
                f"+1 555-01{rng.randint(0, 99):02d}"
                if rng.random() < 0.5
                else (
                    f"+{rng.choice((44, 49, 33, 61, 81))} {rng.randint(100, 999)} {rng.randint(100, 999)} "
                    f"{rng.randint(1000, 9999)}"
                )
            )
            phones.append((phone_id, customer_id, number, rng.choice(("work", "mobile", "home"))))
        kept.append(
            _Customer(
                customer_id,
                first,
                f"{first} {last}".strip().lower()[:100],
                unique[0][:254],
                tuple(unique),
                domain,
            )
        )
        if len(rows) >= CUSTOMER_BATCH:
            yield rows, emails, phones, kept
            rows, emails, phones, kept = [], [], [], []
    if rows:
        yield rows, emails, phones, kept


# -- conversations --------------------------------------------------------------------------


@dataclass
class _Batch:
    conversations: list[Row] = field(default_factory=list)
    threads: list[Row] = field(default_factory=list)
    attachments: list[Row] = field(default_factory=list)
    tags: list[Row] = field(default_factory=list)
    emails: list[Row] = field(default_factory=list)
    fields: list[Row] = field(default_factory=list)
    activity: list[Row] = field(default_factory=list)
    documents: list[search_index.Document] = field(default_factory=list)
    drafts: int = 0
    last_number: int = 0


def weighted(items: Sequence[T], cum_weights: Sequence[float], random_: Callable[[], float]) -> T:
    """An item drawn with the given cumulative weights (what `Random.choices` does, without its overhead)."""
    return items[bisect.bisect(cum_weights, random_() * cum_weights[-1])]


def _weighted(pairs: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    return [p[0] for p in pairs], list(itertools.accumulate(p[1] for p in pairs))


class _ConversationFactory:
    """Builds the rows of conversations `[start, start + count)` of the run, deterministically."""

    def __init__(self, world: _World, corpus: Corpus, total: int, seed: int) -> None:
        self.w = world
        self.corpus = corpus
        self.total = total
        self.seed = seed
        self.span = world.now - LATEST_START - world.start
        self.types, self.type_cum = _weighted(TYPE_WEIGHTS)
        self.recent_statuses, self.recent_cum = _weighted(STATUS_RECENT)
        self.old_statuses, self.old_cum = _weighted(STATUS_OLD)
        self.exchange_cum = list(itertools.accumulate(EXCHANGE_WEIGHTS))
        self.tag_count_cum = list(itertools.accumulate(TAG_COUNT_WEIGHTS))
        self.next_thread = world.thread_base
        self.next_attachment = world.attachment_base
        self.blobs = _attachment_blobs()

    def batch(self, index: int, start: int, count: int) -> _Batch:
        rng = random.Random(self.seed * 1_000_003 + index)
        out = _Batch()
        for i in range(start, start + count):
            self._conversation(rng, i, out)
        out.last_number = self.w.number_base + start + count
        return out

    def _customer(self, rng: random.Random, u: float) -> _Customer:
        """A customer who already existed at fraction `u` of the run, often a recent one."""
        people = self.w.customers
        limit = max(1, int(len(people) * u))
        if rng.random() < 0.5:
            k = int(limit * (1.0 - rng.random() * 0.01))
        else:
            k = int(limit * math.sqrt(rng.random()))
        return people[min(limit - 1, k)]

    def _conversation(self, rng: random.Random, i: int, out: _Batch) -> None:
        w = self.w
        random_ = rng.random
        corpus = self.corpus
        user_names = w.user_names
        conversation_id = w.conversation_base + i + 1
        u = (i + random_()) / self.total
        created = w.start + int(self.span * _arrival(u))
        mailbox = weighted(w.mailboxes, w.mailbox_cum, random_)
        kind = weighted(self.types, self.type_cum, random_)
        customer = self._customer(rng, u)
        address = customer.emails[0] if random_() < 0.85 else pick(customer.emails, random_)
        agents, agent_cum = mailbox.agents, mailbox.agent_cum

        def agent() -> int:
            return weighted(agents, agent_cum, random_)

        draft = kind == "email" and random_() < DRAFT_RATE
        if draft:
            status = "active"
        elif w.now - created > RECENT:
            status = weighted(self.old_statuses, self.old_cum, random_)
        else:
            status = weighted(self.recent_statuses, self.recent_cum, random_)
        assignee = agent() if random_() < ASSIGNED_RATE[status] else None
        plan = self._plan(rng, status, draft, assignee is not None, bool(mailbox.workflows))
        times = self._times(rng, kind, plan, created)

        source = CUSTOMER_SOURCE[kind] if kind != "email" or random_() < 0.9 else "web"
        current_assignee = None if plan[1:2] and plan[1][0] == ASSIGN else assignee
        current_status = "active"
        cc_json = "[]"
        emails: set[str] = set()
        if not draft and kind == "email" and random_() < 0.07:
            team = ("finance", "accounts", "ops", "it", "office", "team")
            cc = list(
                dict.fromkeys(
                    f"{pick(team, random_)}@{customer.domain}" for _ in range(1 + (random_() < 0.3))
                )
            )
            cc_json = json.dumps(cc)
            emails.update(cc)
        to_json = json.dumps([address])
        attachment_step = int(random_() * len(plan)) if random_() < 0.04 else -1

        rows: list[Row] = []
        last_customer: int | None = None
        last_reply: int | None = None
        user_acted: int | None = created if draft else None
        closed_at: int | None = None
        closed_by: int | None = None
        preview_body: str | None = None
        thread_count = 0
        for step, ((what, target), when) in enumerate(zip(plan, times, strict=True)):
            self.next_thread += 1
            thread_id = self.next_thread
            thread_status = "nochange"
            if what == FIRST or (target is not None and target != current_status):
                thread_status = current_status = target or current_status
            action_type = "default"
            action_text: str | None = None
            saved_reply = workflow_id = opened = None
            to_list = cc_list = bcc_list = "[]"
            state = "published"
            body: str | None = None
            if what in (FIRST, CUSTOMER):
                row_type, by_type, by_id, thread_source = (
                    CUSTOMER_THREAD[kind],
                    "customer",
                    customer.id,
                    source,
                )
                body = corpus.customer_body(random_, customer.first_name)
                if what == FIRST:
                    cc_list = cc_json
                last_customer = when
            else:
                by_type, thread_source = "user", "web"
                if what in (REPLY, DRAFT):
                    row_type, by_id, to_list = "message", current_assignee or agent(), to_json
                    agent_first = user_names[by_id][0]
                    if what == REPLY and mailbox.saved_replies and random_() < 0.15:
                        saved_reply, text = pick(mailbox.saved_replies, random_)
                        body = corpus.saved_reply_body(random_, customer.first_name, text, agent_first)
                    else:
                        body = corpus.agent_body(random_, customer.first_name, agent_first)
                    emails.add(address)
                    if what == DRAFT:
                        state = "draft"
                    else:
                        last_reply = when
                        if kind == "email" and random_() < 0.5:
                            opened_at = when + 60 + int(rng.expovariate(1 / 3600.0))
                            opened = opened_at if opened_at <= w.now else None
                        if random_() < 0.02:
                            bcc_list = json.dumps([f"accounts@{customer.domain}"])
                            emails.add(f"accounts@{customer.domain}")
                elif what == NOTE:
                    row_type, by_id = "note", agent()
                    body = corpus.note_body(random_)
                else:
                    row_type = "lineitem"
                    by_id = current_assignee or agent()
                    actor = user_names[by_id][1]
                    if what == ASSIGN:
                        current_assignee = assignee
                        action_type = "changed-ticket-assignee"
                        action_text = f"{actor} assigned to {user_names[assignee or by_id][1]}"
                    elif what == WORKFLOW:
                        workflow_id, workflow_name = pick(mailbox.workflows, random_)
                        action_type = "manual-workflow"
                        action_text = f"{actor} ran the {workflow_name} workflow"
                    else:
                        action_type = "changed-ticket-status"
                        action_text = f"{actor} marked as {target}"
                user_acted = when if user_acted is None or when > user_acted else user_acted
            if body is not None and state == "published":
                thread_count += 1
                preview_body = body
            if thread_status == "closed":
                closed_at, closed_by = when, by_id
            rows.append(
                (
                    thread_id,
                    conversation_id,
                    row_type,
                    thread_status,
                    state,
                    action_type,
                    action_text,
                    body,
                    thread_source,
                    by_type,
                    customer.id,
                    by_type,
                    by_id,
                    current_assignee if row_type != "lineitem" or what == ASSIGN else None,
                    saved_reply,
                    workflow_id,
                    to_list,
                    cc_list,
                    bcc_list,
                    False,
                    when,
                    opened,
                )
            )
            if step == attachment_step and body is not None:
                self._attach(rng, conversation_id, thread_id, when, out)
        out.threads.extend(rows)

        has_attachments = bool(out.attachments) and out.attachments[-1][1] == conversation_id
        waiting = (
            last_customer if last_customer and (last_reply is None or last_customer > last_reply) else None
        )
        snoozed_until = snoozed_by = snooze_on_reply = None
        if status == "pending" and random_() < 0.05:
            snoozed_until = w.now + 3600 + int(random_() * 6 * 86400)
            snoozed_by = current_assignee or agent()
            snooze_on_reply = random_() < 0.5
        if draft:
            folder = mailbox.folders["drafts"]
            out.drafts += 1
        elif status in ("spam", "closed"):
            folder = mailbox.folders[status]
        else:
            folder = mailbox.folders["assigned" if current_assignee else "unassigned"]
        by_customer = not draft
        subject = corpus.subject(random_)
        conversation_state = "draft" if draft else "published"
        out.conversations.append(
            (
                conversation_id,
                w.number_base + i + 1,
                mailbox.id,
                folder,
                kind,
                status,
                conversation_state,
                subject,
                preview_of(preview_body[:PREVIEW_SOURCE] if preview_body else None),
                current_assignee,
                customer.id,
                "customer" if by_customer else "user",
                customer.id if by_customer else rows[0][12],
                source if by_customer else "web",
                "customer" if by_customer else "user",
                cc_json,
                "[]",
                created,
                times[-1],
                closed_at if status == "closed" else None,
                closed_by if status == "closed" else None,
                max(t for t in (created, user_acted, last_customer) if t is not None),
                last_customer,
                last_reply,
                waiting,
                thread_count,
                len(plan),
                has_attachments,
                customer.name_sort,
                customer.email_sort,
                snoozed_until,
                snoozed_by,
                snooze_on_reply,
            )
        )
        out.emails.extend((conversation_id, e) for e in sorted(emails))
        out.documents.append((conversation_id, created, subject, [row[7] for row in rows]))
        out.activity.extend(
            report_activity.rows_for(
                conversation_id,
                [created, *times],
                (conversation_state, status, mailbox.id, folder, kind, customer.id, created, times[-1]),
            )
        )
        if status != "spam" and not draft:
            self._tags(rng, conversation_id, times, out)
            self._fields(rng, conversation_id, mailbox, created, out)

    def _plan(
        self, rng: random.Random, status: str, draft: bool, assigned: bool, has_workflows: bool
    ) -> list[tuple[int, str | None]]:
        """The steps of the conversation's history, each with the status it moves it to (or None).

        The statuses replay like the service's rules: a customer writing in makes it active, a
        reply sets the status the agent picked; when the last of them does not leave the final
        status, a `changed-ticket-status` line item does, as when an agent closes it later.
        """
        if draft:
            return [(DRAFT, None)]
        if status == "spam":
            # Caught by the spam filter as it arrived, or marked as spam by an agent.
            return [(FIRST, "spam")] if rng.random() < 0.3 else [(FIRST, "active"), (STATUS, "spam")]
        plan: list[tuple[int, str | None]] = [(FIRST, "active")]
        extras: list[tuple[int, str | None]] = []
        if assigned and rng.random() < 0.35:
            plan.append((ASSIGN, None))
        if rng.random() < 0.15:
            extras.append((NOTE, None))
        if has_workflows and rng.random() < 0.06:
            extras.append((WORKFLOW, None))
        room = MAX_THREADS - len(plan) - len(extras) - 1
        exchanges = min(room, weighted(range(len(EXCHANGE_WEIGHTS)), self.exchange_cum, rng.random))
        if status == "pending" and exchanges % 2 == 0:
            exchanges = exchanges + 1 if exchanges < room else exchanges - 1
        elif status == "active" and (rng.random() < 0.55) == (exchanges % 2 == 1):
            # 55% end on the customer's message: they wait for an answer.
            exchanges = exchanges + 1 if exchanges < room else exchanges - 1
        elif status == "closed" and exchanges == 0 and rng.random() < 0.9:
            exchanges = 1
        for j in range(exchanges):
            if j % 2:
                plan.append((CUSTOMER, "active"))
            elif j < exchanges - 1:
                plan.append((REPLY, "pending" if rng.random() < 0.7 else "active"))
            elif status == "closed":
                plan.append((REPLY, "closed" if rng.random() < 0.6 else "pending"))
            else:
                plan.append((REPLY, status))
        for extra in extras:
            plan.insert(1 + int(rng.random() * len(plan)), extra)
        current = "active"
        for _, target in plan:
            current = target or current
        if current != status:
            plan.append((STATUS, status))
        return plan

    def _times(
        self, rng: random.Random, kind: str, plan: list[tuple[int, str | None]], created: int
    ) -> list[int]:
        """Strictly increasing whole seconds from `created`, squeezed to end before `now`."""
        offsets = [0.0]
        total = 0.0
        expo = rng.expovariate
        for what, _ in plan[1:]:
            if what == REPLY:
                mean = REPLY_DELAY[kind]
            elif what == CUSTOMER:
                mean = CUSTOMER_DELAY[kind]
            else:
                mean = STEP_DELAY[what]
            total += 20.0 + expo(1.0 / mean)
            offsets.append(total)
        room = self.w.now - created - len(plan)
        scale = room / total if total > room else 1.0
        times = []
        previous = created - 1
        for offset in offsets:
            t = max(created + int(offset * scale), previous + 1)
            times.append(t)
            previous = t
        return times

    def _attach(
        self, rng: random.Random, conversation_id: int, thread_id: int, when: int, out: _Batch
    ) -> None:
        name, mime, data, width, height = pick(self.blobs, rng.random)
        self.next_attachment += 1
        out.attachments.append(
            (
                self.next_attachment,
                conversation_id,
                thread_id,
                name,
                mime,
                len(data),
                width,
                height,
                data,
                when,
            )
        )

    def _tags(self, rng: random.Random, conversation_id: int, times: list[int], out: _Batch) -> None:
        random_ = rng.random
        count = weighted(range(len(TAG_COUNT_WEIGHTS)), self.tag_count_cum, random_)
        tag_ids, tag_cum = self.w.tag_ids, self.w.tag_cum
        if not count or not tag_ids:
            return
        chosen = dict.fromkeys([weighted(tag_ids, tag_cum, random_) for _ in range(count)])
        tagged_at = times[1] if len(times) > 1 else times[0]
        out.tags.extend((conversation_id, tag_id, tagged_at) for tag_id in chosen)

    def _fields(
        self, rng: random.Random, conversation_id: int, mailbox: _Mailbox, created: int, out: _Batch
    ) -> None:
        random_ = rng.random
        if random_() < 0.35:
            out.fields.append(
                (conversation_id, mailbox.priority_field, str(pick(mailbox.priority_options, random_)))
            )
        if random_() < 0.2:
            out.fields.append((conversation_id, mailbox.order_field, str(10000 + int(random_() * 90000))))
        if random_() < 0.15:
            out.fields.append((conversation_id, mailbox.version_field, pick(words.PRODUCT_VERSIONS, random_)))
        if random_() < 0.1:
            renewal = datetime.fromtimestamp(created, tz=UTC).date() + timedelta(
                days=30 + int(random_() * 335)
            )
            out.fields.append((conversation_id, mailbox.renewal_field, renewal.isoformat()))


def _attachment_blobs() -> list[tuple[str, str, bytes, int, int]]:
    """Small attachment payloads: a real PNG pixel and short text files."""
    log = b"".join(
        f"2026-03-0{n} 10:1{n}:00 ERROR request failed: timeout after 30s (attempt {n})\n".encode()
        for n in range(1, 6)
    )
    csv = b"order,item,quantity,price\n48213,Blue mug,2,12.50\n48213,Tea towel,1,8.00\n"
    notes = b"Steps to reproduce:\n1. Open the reports page\n2. Pick last month\n3. Click export\n"
    blobs = []
    for name, mime in words.ATTACHMENT_NAMES:
        if mime == "image/png":
            blobs.append((name, mime, words.PNG_PIXEL, 1, 1))
        elif name.endswith(".csv"):
            blobs.append((name, mime, csv, 0, 0))
        elif name.endswith(".log"):
            blobs.append((name, mime, log, 0, 0))
        else:
            blobs.append((name, mime, notes, 0, 0))
    return blobs


# -- the run --------------------------------------------------------------------------------


def _write_batch(writer: BulkWriter, batch: _Batch) -> None:
    writer.begin_batch()
    writer.insert("conversations", CONVERSATION_COLUMNS, batch.conversations)
    writer.insert("threads", THREAD_COLUMNS, batch.threads)
    writer.insert("attachments", ATTACHMENT_COLUMNS, batch.attachments)
    writer.insert("conversation_tags", TAG_LINK_COLUMNS, batch.tags)
    writer.insert("conversation_emails", CONVERSATION_EMAIL_COLUMNS, batch.emails)
    writer.insert("conversation_fields", FIELD_VALUE_COLUMNS, batch.fields)
    writer.insert("conversation_activity", report_activity.COLUMNS, batch.activity)
    search_index.insert_documents(writer.conn, batch.documents)
    writer.conn.execute(
        update(counters)
        .where(counters.c.name == "conversation_number", counters.c.value < batch.last_number)
        .values(value=batch.last_number)
    )
    writer.sync_sequences(["conversations", "threads", "attachments"])


def _produce(
    factory: _ConversationFactory, total: int, batch_size: int, out: queue.Queue[Any], stop: threading.Event
) -> None:
    """Build batches ahead of the writer, then None; an error is handed over to be raised there."""
    try:
        for index, start in enumerate(range(0, total, batch_size)):
            if not _offer(out, factory.batch(index, start, min(batch_size, total - start)), stop):
                return
        _offer(out, None, stop)
    except BaseException as error:
        _offer(out, error, stop)


def _offer(out: queue.Queue[Any], item: Any, stop: threading.Event) -> bool:
    """Put `item` once there is room, unless the writer has stopped listening."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def generate(
    engine: Engine,
    *,
    conversations: int,
    seed: int = 1,
    mailboxes: int = 4,
    users: int = 8,
    customers: int | None = None,
    tags: int = 40,
    now: datetime | None = None,
    batch_size: int = 2000,
    progress: Callable[[int], None] | None = None,
    build_in_process: bool | None = None,
) -> DemoSummary:
    """Write a realistic help desk: `conversations` over the two years before `now`, and all they need.

    `customers` defaults to a quarter of the conversations (at least 10). Ids continue after the
    largest ones present, so this also adds to a database in use, as long as nothing else writes
    conversations or customers meanwhile. `progress(n)` is called after each committed batch with
    the number of conversations it held. `build_in_process` builds the batches in a separate
    process (by default from `BUILD_IN_PROCESS_FROM` conversations on); the data is the same.
    """
    started = time.perf_counter()
    now_ts = int((now or datetime.now(UTC)).timestamp())
    rng = random.Random(seed)
    customer_count = max(10, conversations // 4) if customers is None else max(1, customers)

    with engine.connect() as conn:
        conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        deferred_indexes.restore(conn)
        with conn.begin():
            mailbox_list, user_names, tag_ids, summary = _setup(
                conn, rng, now_ts, mailbox_count=max(1, mailboxes), user_count=max(0, users), tag_count=tags
            )
            bases = _id_bases(conn)
            taken = set(conn.execute(select(customer_emails.c.value)).scalars())
        fresh = bases["conversations"] == 0 and bases["customers"] == 0
        with (
            _bulk_load_settings(conn),
            deferred_indexes.deferred(conn, BULK_TABLES) if fresh else contextlib.nullcontext(),
            search_index.bulk_loading(conn) if fresh else contextlib.nullcontext(),
        ):
            customer_list = _write_customers(conn, rng, customer_count, now_ts, bases, taken, summary)
            world = _World(
                now=now_ts,
                start=now_ts - TWO_YEARS,
                mailboxes=mailbox_list,
                mailbox_cum=list(
                    itertools.accumulate(1.0 / rank for rank in range(1, len(mailbox_list) + 1))
                ),
                user_names=user_names,
                customers=customer_list,
                tag_ids=tag_ids,
                tag_cum=zipf_cum_weights(len(tag_ids), 1.0),
                conversation_base=bases["conversations"],
                number_base=bases["number"],
                thread_base=bases["threads"],
                attachment_base=bases["attachments"],
            )
            corpus = Corpus(rng, min(SENTENCE_POOL, 2000 + 2 * conversations))
            factory = _ConversationFactory(world, corpus, conversations, seed)
            in_process = (
                conversations >= BUILD_IN_PROCESS_FROM if build_in_process is None else build_in_process
            )
            _run_batches(conn, factory, conversations, max(1, batch_size), summary, progress, in_process)
        if fresh:
            _vacuum_analyze(conn)
    summary.seconds = time.perf_counter() - started
    return summary


def _id_bases(conn: Connection) -> dict[str, int]:
    """The largest id of each table written in bulk, and the last conversation number."""
    bases = {
        t.name: _max_id(conn, t)
        for t in (
            customers_table,
            customer_emails,
            customer_phones,
            conversations_table,
            threads,
            attachments,
        )
    }
    counter = conn.execute(
        select(counters.c.value).where(counters.c.name == "conversation_number")
    ).scalar_one_or_none()
    highest = conn.execute(select(func.coalesce(func.max(conversations_table.c.number), 0))).scalar_one()
    bases["number"] = max(int(counter or 0), int(highest))
    return bases


def _write_customers(
    conn: Connection,
    rng: random.Random,
    count: int,
    now: int,
    bases: dict[str, int],
    taken: set[str],
    summary: DemoSummary,
) -> list[_Customer]:
    """Customers with their emails (none in `taken`), in transactions of `CUSTOMER_BATCH`."""
    kept: list[_Customer] = []
    batches = _customer_batches(
        rng, count, bases["customers"], bases["customer_emails"], bases["customer_phones"], taken, now
    )
    for rows, emails, phones, people in batches:
        with conn.begin():
            writer = BulkWriter(conn)
            writer.insert("customers", CUSTOMER_COLUMNS, rows)
            writer.insert("customer_emails", EMAIL_COLUMNS, emails)
            writer.insert("customer_phones", PHONE_COLUMNS, phones)
            writer.sync_sequences(["customers", "customer_emails", "customer_phones"])
        kept.extend(people)
        summary.customers += len(rows)
        summary.customer_emails += len(emails)
    return kept


def _run_batches(
    conn: Connection,
    factory: _ConversationFactory,
    conversations: int,
    batch_size: int,
    summary: DemoSummary,
    progress: Callable[[int], None] | None,
    build_in_process: bool,
) -> None:
    """Write batches as the producer builds them, one transaction each."""
    previous_interval = sys.getswitchinterval()
    sys.setswitchinterval(min(previous_interval, SWITCH_INTERVAL))
    ready: Any
    stop: Any
    producer: threading.Thread | multiprocessing.process.BaseProcess
    if build_in_process:
        context = multiprocessing.get_context("spawn")
        ready, stop = context.Queue(maxsize=2), context.Event()
        producer = context.Process(
            target=_produce, args=(factory, conversations, batch_size, ready, stop), name="demo-batches"
        )
    else:
        ready, stop = queue.Queue(maxsize=2), threading.Event()
        producer = threading.Thread(
            target=_produce,
            args=(factory, conversations, batch_size, ready, stop),
            name="demo-batches",
            daemon=True,
        )
    producer.start()
    try:
        while True:
            item = _next_batch(ready, producer)
            if item is None:
                break
            if isinstance(item, BaseException):
                raise item
            with conn.begin():
                _write_batch(BulkWriter(conn), item)
            summary.conversations += len(item.conversations)
            summary.drafts += item.drafts
            summary.threads += len(item.threads)
            summary.attachments += len(item.attachments)
            if progress is not None:
                progress(len(item.conversations))
    finally:
        stop.set()
        _stop_producer(producer)
        sys.setswitchinterval(previous_interval)


def _next_batch(ready: Any, producer: threading.Thread | multiprocessing.process.BaseProcess) -> Any:
    """The next item from the producer; a producer that died without a word (killed) is an error.

    Liveness is read before waiting: whatever a finished producer handed over is in the queue by
    the time it has exited, so an empty wait after that means nothing more will come.
    """
    while True:
        alive = producer.is_alive()
        try:
            return ready.get(timeout=0.5)
        except queue.Empty:
            if not alive:
                raise RuntimeError("the demo batch producer stopped without finishing") from None


def _stop_producer(producer: threading.Thread | multiprocessing.process.BaseProcess) -> None:
    """Wait for the producer; a process still blocked on handing over a batch is ended.

    A thread sees the stop event within 0.1 s of finishing its batch; a process may be stuck in
    its queue's feeder, which nobody reads any more.
    """
    if isinstance(producer, threading.Thread):
        producer.join()
        return
    producer.join(timeout=PRODUCER_EXIT_SECONDS)
    if producer.is_alive():
        producer.terminate()
        producer.join()


def _vacuum_analyze(conn: Connection) -> None:
    """PostgreSQL, after a fresh load: visibility map and statistics for the loaded tables.

    Autovacuum visits tables while they load, before the last rows and before the deferred
    indexes exist, so the newest rows - the ones a first list page reads - were not marked
    all-visible (index-only scans went to the heap) and expression indexes had no statistics.
    At 1M the vacuum takes 8 s; the benchmark's first list page went from 18 ms alone
    (133 req/s) to 10 ms (203 req/s), the overall report from 302 to 258 ms.
    """
    if conn.dialect.name != "postgresql":
        return
    # VACUUM runs outside a transaction; the pool resets the level when the connection returns.
    conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(
        f"VACUUM (ANALYZE) {', '.join(BULK_TABLES)}"
    )


@contextlib.contextmanager
def _bulk_load_settings(conn: Connection) -> Iterator[None]:
    """SQLite: no fsync per checkpoint and a larger page cache on this connection while loading.

    A crash of the process loses nothing committed; only an OS crash or power loss during the
    load could, which is acceptable for generated data. Both settings are restored before the
    connection goes back to the pool.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.dbapi_connection
    assert raw is not None
    saved = {name: raw.execute(f"PRAGMA {name}").fetchone()[0] for name in BULK_PRAGMAS}
    try:
        for name, value in BULK_PRAGMAS.items():
            raw.execute(f"PRAGMA {name}={value}")
        yield
    finally:
        for name, value in saved.items():
            raw.execute(f"PRAGMA {name}={value}")
