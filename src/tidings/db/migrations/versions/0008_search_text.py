"""search documents hold the text of thread bodies, not their HTML, and no diacritics

Bodies were indexed as stored: markup was searchable (`div`, `nbsp`) and split phrases, and
PostgreSQL kept diacritics that SQLite folded. `tidings.search.text` now makes the text both
databases index; this rebuilds every document through it. The table is emptied at once (FTS5
deletes row by row; a GIN index is cheaper built once than kept during the inserts). Measured
on SQLite: 13 s for 50k conversations (17 s emptying row by row with merges on the way).

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

from alembic import op

from tidings.search import index

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

SQLITE_TABLE = "CREATE VIRTUAL TABLE conversation_search USING fts5(subject, body, tokenize='unicode61 remove_diacritics 2')"
GIN_INDEX = "CREATE INDEX ix_conversation_search_document ON conversation_search USING gin (document)"


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        op.execute("DROP TABLE conversation_search")
        op.execute(SQLITE_TABLE)
        op.execute("INSERT INTO conversation_search (conversation_search, rank) VALUES ('automerge', 0)")
        index.write_all_documents(conn)
        op.execute("INSERT INTO conversation_search (conversation_search) VALUES ('optimize')")
        op.execute(
            "INSERT INTO conversation_search (conversation_search, rank) "
            f"VALUES ('automerge', {index.FTS5_DEFAULT_AUTOMERGE})"
        )
    else:
        op.execute("DROP INDEX IF EXISTS ix_conversation_search_document")
        op.execute("TRUNCATE conversation_search")
        index.write_all_documents(conn)
        op.execute(GIN_INDEX)
    # What an interrupted bulk load left to do on this table (its index, FTS5's merge) is done.
    op.execute("DELETE FROM deferred_indexes WHERE table_name = 'conversation_search'")


def downgrade() -> None:
    """The documents stay as 0008 made them: the old form only indexed more noise."""
