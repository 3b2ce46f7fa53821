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

Also: `conversation_tag_counts`, the per-(mailbox, state, status) counts of 0003 per tag, kept by
triggers, so a list filtered by one tag gets its total without a COUNT (106 ms at 1M).

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

# The documents as this revision built them (bodies as stored); 0008 rebuilds them as text.
KEY_SHIFT = 2147483648
REBUILD_SQLITE = f"""INSERT INTO conversation_search (rowid, subject, body)
SELECT c.created_at * {KEY_SHIFT} + c.id, c.subject,
    (SELECT group_concat(b.body, ' ' || char(57344) || ' ')
     FROM (SELECT t.body FROM threads t WHERE t.conversation_id = c.id ORDER BY t.id) AS b)"""
REBUILD_POSTGRESQL = """INSERT INTO conversation_search (conversation_id, document)
SELECT c.id,
    setweight(to_tsvector('simple', coalesce(c.subject, '')), 'A')
    || coalesce((SELECT ts_delete(
                    to_tsvector('simple', string_agg(' tidingsthreadbreak ' || coalesce(t.body, ''), ' '
                                                     ORDER BY t.id)),
                    'tidingsthreadbreak'::text)
                 FROM threads t WHERE t.conversation_id = c.id), ''::tsvector)"""

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


SQLITE_TAG_COUNTS = [
    """CREATE TRIGGER conversation_tag_counts_ai AFTER INSERT ON conversation_tags BEGIN
        INSERT INTO conversation_tag_counts (tag_id, mailbox_id, state, status, n)
        SELECT new.tag_id, c.mailbox_id, c.state, c.status, 1 FROM conversations c WHERE c.id = new.conversation_id
        ON CONFLICT (tag_id, mailbox_id, state, status) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER conversation_tag_counts_ad AFTER DELETE ON conversation_tags BEGIN
        UPDATE conversation_tag_counts SET n = n - 1
        WHERE tag_id = old.tag_id
          AND (mailbox_id, state, status) = (SELECT mailbox_id, state, status FROM conversations
                                             WHERE id = old.conversation_id);
    END""",
    """CREATE TRIGGER conversation_tag_counts_au AFTER UPDATE OF mailbox_id, state, status ON conversations
    WHEN old.mailbox_id IS NOT new.mailbox_id OR old.state IS NOT new.state OR old.status IS NOT new.status
    BEGIN
        UPDATE conversation_tag_counts SET n = n - 1
        WHERE mailbox_id = old.mailbox_id AND state = old.state AND status = old.status
          AND tag_id IN (SELECT tag_id FROM conversation_tags WHERE conversation_id = old.id);
        INSERT INTO conversation_tag_counts (tag_id, mailbox_id, state, status, n)
        SELECT ct.tag_id, new.mailbox_id, new.state, new.status, 1 FROM conversation_tags ct
        WHERE ct.conversation_id = new.id
        ON CONFLICT (tag_id, mailbox_id, state, status) DO UPDATE SET n = n + 1;
    END""",
]

POSTGRES_TAG_COUNTS = [
    """CREATE FUNCTION conversation_tag_counts_link() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP = 'DELETE' THEN
            UPDATE conversation_tag_counts tc SET n = tc.n - 1
            FROM conversations c
            WHERE c.id = OLD.conversation_id AND tc.tag_id = OLD.tag_id AND tc.mailbox_id = c.mailbox_id
              AND tc.state = c.state AND tc.status = c.status;
        ELSE
            INSERT INTO conversation_tag_counts (tag_id, mailbox_id, state, status, n)
            SELECT NEW.tag_id, c.mailbox_id, c.state, c.status, 1 FROM conversations c WHERE c.id = NEW.conversation_id
            ON CONFLICT (tag_id, mailbox_id, state, status) DO UPDATE SET n = conversation_tag_counts.n + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER conversation_tag_counts_aid AFTER INSERT OR DELETE ON conversation_tags
    FOR EACH ROW EXECUTE FUNCTION conversation_tag_counts_link()""",
    """CREATE FUNCTION conversation_tag_counts_move() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE conversation_tag_counts SET n = n - 1
        WHERE mailbox_id = OLD.mailbox_id AND state = OLD.state AND status = OLD.status
          AND tag_id IN (SELECT tag_id FROM conversation_tags WHERE conversation_id = OLD.id);
        INSERT INTO conversation_tag_counts (tag_id, mailbox_id, state, status, n)
        SELECT ct.tag_id, NEW.mailbox_id, NEW.state, NEW.status, 1 FROM conversation_tags ct
        WHERE ct.conversation_id = NEW.id
        ON CONFLICT (tag_id, mailbox_id, state, status) DO UPDATE SET n = conversation_tag_counts.n + 1;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER conversation_tag_counts_au AFTER UPDATE OF mailbox_id, state, status ON conversations
    FOR EACH ROW WHEN (OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id OR OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION conversation_tag_counts_move()""",
]

TAG_COUNTS_BACKFILL = """INSERT INTO conversation_tag_counts (tag_id, mailbox_id, state, status, n)
SELECT ct.tag_id, c.mailbox_id, c.state, c.status, count(*)
FROM conversation_tags ct JOIN conversations c ON c.id = ct.conversation_id
GROUP BY ct.tag_id, c.mailbox_id, c.state, c.status"""


def _tag_counts(dialect: str) -> None:
    op.create_table(
        "conversation_tag_counts",
        sa.Column("tag_id", sa.Integer, primary_key=True),
        sa.Column("mailbox_id", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(10), primary_key=True),
        sa.Column("status", sa.String(10), primary_key=True),
        sa.Column("n", sa.BigInteger, nullable=False),
    )
    op.execute(TAG_COUNTS_BACKFILL)
    for statement in SQLITE_TAG_COUNTS if dialect == "sqlite" else POSTGRES_TAG_COUNTS:
        op.execute(statement)


def upgrade() -> None:
    _tag_counts(op.get_context().dialect.name)
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
    if op.get_context().dialect.name == "sqlite":
        for name in (
            "conversation_tag_counts_ai",
            "conversation_tag_counts_ad",
            "conversation_tag_counts_au",
        ):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS conversation_tag_counts_aid ON conversation_tags")
        op.execute("DROP TRIGGER IF EXISTS conversation_tag_counts_au ON conversations")
        op.execute("DROP FUNCTION IF EXISTS conversation_tag_counts_link()")
        op.execute("DROP FUNCTION IF EXISTS conversation_tag_counts_move()")
    op.drop_table("conversation_tag_counts")
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
