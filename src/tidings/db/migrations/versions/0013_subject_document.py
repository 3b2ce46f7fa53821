"""PostgreSQL: the subject's own tsvector and GIN index, so `subject:` reads only subject matches

The one document per conversation weights the subject A and the bodies D, but a GIN index keeps
no weights: `subject:espresso` (`'espresso':A`) took from the index every document holding the
word anywhere, 12,804 at 1M conversations, and read each back to check its weight, ~0.8 s a
request. `subject_document` is the document's A part (`ts_filter`), a generated column, so every
path that writes documents (bulk load, refresh, the migration that rebuilds them) keeps it
without knowing of it; its GIN index answers the subject words exactly, and a text that also
needs body words tests `document` on those few rows only. SQLite needs nothing: FTS5 has a
column per field.

Revision ID: 0013
Revises: 0012
"""

from __future__ import annotations

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

SUBJECT_COLUMN = (
    "ALTER TABLE conversation_search ADD COLUMN subject_document tsvector "
    "GENERATED ALWAYS AS (ts_filter(document, '{a}')) STORED"
)
SUBJECT_INDEX = (
    "CREATE INDEX ix_conversation_search_subject ON conversation_search USING gin (subject_document)"
)


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute(SUBJECT_COLUMN)
    op.execute(SUBJECT_INDEX)
    op.execute("ANALYZE conversation_search")


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE conversation_search DROP COLUMN subject_document")
