"""one search document per conversation (subject + every thread body) instead of one per thread

Searching thread by thread meant a body match went FTS → threads → conversations and counted
every thread hit (3.7 s for a common word at 1M conversations). Now a match is a conversation.

SQLite: an FTS5 table `conversation_search(subject, body)` whose rowid is the conversation's
search key, `created_at * 2^31 + id`, so the index itself is in the default list order
(createdAt, id) and a search can walk it newest-first and stop after one page.
PostgreSQL: `conversation_search(conversation_id, document)` with a GIN index; the subject has
weight A and the bodies weight D, so one tsvector answers `subject:`, `body:` and bare words.
Thread bodies are separated by a token no query can contain, so a phrase never spans two threads.
The documents are written by `tidings.search.index.refresh`, which every write path calls.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import importlib

from alembic import op

from tidings.search.index import REBUILD_POSTGRESQL, REBUILD_SQLITE

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

SQLITE_OLD = [
    "DROP TRIGGER IF EXISTS conversations_fts_ai",
    "DROP TRIGGER IF EXISTS conversations_fts_ad",
    "DROP TRIGGER IF EXISTS conversations_fts_au",
    "DROP TRIGGER IF EXISTS threads_fts_ai",
    "DROP TRIGGER IF EXISTS threads_fts_ad",
    "DROP TRIGGER IF EXISTS threads_fts_au",
    "DROP TABLE IF EXISTS conversations_fts",
    "DROP TABLE IF EXISTS threads_fts",
]

POSTGRES_OLD = [
    "DROP INDEX IF EXISTS ix_conversations_subject_tsv",
    "DROP INDEX IF EXISTS ix_threads_body_tsv",
    "ALTER TABLE conversations DROP COLUMN IF EXISTS subject_tsv",
    "ALTER TABLE threads DROP COLUMN IF EXISTS body_tsv",
]


FULL_NAME_INDEX = (
    "CREATE INDEX ix_customers_full_name_lower ON customers (lower((first_name || ' ') || last_name))"
)


def upgrade() -> None:
    # A bare search term is also looked up as a customer's full name (tidings.search.compile).
    op.execute(FULL_NAME_INDEX)
    if op.get_context().dialect.name == "sqlite":
        for statement in SQLITE_OLD:
            op.execute(statement)
        op.execute(
            """CREATE VIRTUAL TABLE conversation_search USING fts5(
                subject, body, tokenize='unicode61 remove_diacritics 2')"""
        )
        op.execute(REBUILD_SQLITE + " FROM conversations c")
    else:
        for statement in POSTGRES_OLD:
            op.execute(statement)
        op.execute(
            """CREATE TABLE conversation_search (
                conversation_id integer PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
                document tsvector NOT NULL)"""
        )
        op.execute(REBUILD_POSTGRESQL + " FROM conversations c")
        op.execute("CREATE INDEX ix_conversation_search_document ON conversation_search USING gin (document)")
        # sortField=waitingSince puts conversations nobody waits on last in both directions; a
        # descending scan of the ascending index would give NULLS FIRST, so PostgreSQL sorted all.
        op.execute(
            "CREATE INDEX ix_conversations_state_waiting_desc ON conversations "
            "(state, customer_waiting_since DESC NULLS LAST, id DESC)"
        )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_customers_full_name_lower")
    initial = importlib.import_module("tidings.db.migrations.versions.0001_initial_schema")
    if op.get_context().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS conversation_search")
        for statement in initial.SQLITE_FTS:
            op.execute(statement)
        op.execute("INSERT INTO conversations_fts(conversations_fts) VALUES ('rebuild')")
        op.execute("INSERT INTO threads_fts(threads_fts) VALUES ('rebuild')")
    else:
        op.execute("DROP INDEX IF EXISTS ix_conversations_state_waiting_desc")
        op.execute("DROP TABLE IF EXISTS conversation_search")
        for statement in initial.POSTGRES_FTS:
            op.execute(statement)
