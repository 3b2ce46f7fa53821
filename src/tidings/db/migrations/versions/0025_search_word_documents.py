"""SQLite: how many documents hold each word of `search_words`, so a prefix of rare words keeps
FTS5's own prefix

Migration 0024 reads a prefix (`ship*`) as its words ORed, which streams in key order where
FTS5's own prefix merges every word's entries first. The OR costs each of its words (~5-20 µs
a word for a page at 1M conversations), the merge each entry (~0.2 µs): `s*` (348 words, 12.4M
entries) 6.5 ms against 2.3 s, but `58*` (752 words of order numbers, 1,311 entries) 3.1 ms
against 0.5. The count lets the statement choose (`tidings.search.compile._prefix_words`).
Filled here from the index's vocabulary; every write of a document adds its words' counts
(`tidings.search.index.insert_documents`). PostgreSQL has no such table.

Revision ID: 0025
Revises: 0024
"""

from __future__ import annotations

from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE search_words ADD COLUMN documents INTEGER NOT NULL DEFAULT 0")
    op.execute(
        "CREATE VIRTUAL TABLE temp.search_index_words USING fts5vocab(main, conversation_search, 'row')"
    )
    op.execute(
        "UPDATE search_words SET documents = counted.doc "
        "FROM temp.search_index_words AS counted WHERE counted.term = search_words.word"
    )
    op.execute("DROP TABLE temp.search_index_words")


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE search_words DROP COLUMN documents")
