"""PostgreSQL: search documents kept compressed in their row, not out of line in TOAST

A document (subject and every thread body as a tsvector) compresses to ~2.1 KB, just above the
~2 KB at which PostgreSQL moves a value out of the row, so nearly every one lived in the TOAST
table and each check of one document (a search walking conversations newest first, a
relevance rank, a phrase recheck, an estimate's sample) read the TOAST index and its chunks:
~7 buffers a document. Kept in the row (`STORAGE MAIN`, rows up to a page before anything moves
out), a rare word's page at 1M conversations read 7,730 buffers instead of 13,511 (13.1 → 6.6 ms
warm), ranking its matches took 35 ms instead of 48, a phrase's page 0.31 ms instead of 0.61.
The table is rewritten in primary-key order (CLUSTER), which also moves the existing documents
into their rows and lays them out in the order the estimate's sample walks them.

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

INLINE = (
    "ALTER TABLE conversation_search SET (toast_tuple_target = 8160)",
    "ALTER TABLE conversation_search ALTER COLUMN document SET STORAGE MAIN",
    "CLUSTER conversation_search USING conversation_search_pkey",
    "ANALYZE conversation_search",
)


def upgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    for statement in INLINE:
        op.execute(statement)


def downgrade() -> None:
    if op.get_context().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE conversation_search RESET (toast_tuple_target)")
    op.execute("ALTER TABLE conversation_search ALTER COLUMN document SET STORAGE EXTENDED")
