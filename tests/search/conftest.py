"""Real, migrated databases of both kinds for the query compiler, with a small cast of people.

Each dialect gets one database per session holding the shared cast (mailboxes, folders, users,
customers, tags). Every test adds its own conversations inside a transaction that is rolled back
afterwards, so a test's assertions about "exactly these ids" see only its own conversations.
The PostgreSQL cluster is the session's shared `pg_server` (tests/conftest.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
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
from tidings.search import CompiledQuery, compile_query, parse_query

NOW = datetime(2024, 5, 10, 12, 0, 0, tzinfo=UTC)
SEEDED_AT = datetime(2020, 1, 1, tzinfo=UTC)

MAILBOX_ORDERS, MAILBOX_ORDERS_ARCHIVE, MAILBOX_SUPPORT = 100, 101, 102
USER_SPOCK_FIRST, USER_SPOCK_LAST, USER_SPOCK_EMAIL, USER_KIRK, USER_SPOCKINGTON = 10, 11, 12, 13, 14
CUSTOMER_JOHN, CUSTOMER_VERA, CUSTOMER_ROB, CUSTOMER_JOHNNY = 100, 123, 567, 200
TAG_IDS = {"carrots": 1, "dogs": 2, "dogs love carrots": 3, "carrots-cake": 4, "vip": 5}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _seed_cast(conn: Connection) -> None:
    stamps = {"created_at": SEEDED_AT, "updated_at": SEEDED_AT}
    conn.execute(
        insert(mailboxes),
        [
            {"id": MAILBOX_ORDERS, "name": "Orders", "slug": "orders", "email": "orders@shop.example"},
            {"id": MAILBOX_ORDERS_ARCHIVE, "name": "Orders Archive", "slug": "archive", "email": "a@shop.example"},
            {"id": MAILBOX_SUPPORT, "name": "Support", "slug": "support", "email": "help@shop.example"},
        ],
        [stamps] * 3,
    ) if False else conn.execute(
        insert(mailboxes),
        [
            {"id": MAILBOX_ORDERS, "name": "Orders", "slug": "orders", "email": "orders@shop.example", **stamps},
            {
                "id": MAILBOX_ORDERS_ARCHIVE,
                "name": "Orders Archive",
                "slug": "archive",
                "email": "archive@shop.example",
                **stamps,
            },
            {"id": MAILBOX_SUPPORT, "name": "Support", "slug": "support", "email": "help@shop.example", **stamps},
        ],
    )
