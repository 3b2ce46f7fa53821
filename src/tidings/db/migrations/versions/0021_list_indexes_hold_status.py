"""the list indexes that lack the status end with it: a list of one status walks them without rows

A list sorted by subject, customer name or email, waiting time or number walks its sort's index
(state, key, id), and a folder's list its folder's (folder_id, state, createdAt or modifiedAt,
id). For the default status (active, ~6 % of the conversations at 1M, a third to a half of an
open folder's) each entry's row was read only to test the status: on SQLite page 200 by subject
took 226 ms a request, page 100 by customer name 134 ms, page 200 of the Assigned folder of the
largest mailbox 52 ms (PostgreSQL 153); `number:[1 TO 100000]` read 100k rows (34 ms) for its
4,932 active ones. Each index now holds the status after the id (the key and id still give the
list's order), so the status is tested in the index. PostgreSQL's B-tree applies it inside the
index scan the same way.

The indexes are built anew in the order they were first made; SQLite's planner, without
statistics, takes among indexes it costs alike the one made last, so the partial index of 0017
is made again after them, as it was before (see `tidings.db.deferred_indexes`).

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

Columns = list[str | sa.TextClause]

# In the order the earlier revisions made them (0004, 0010, 0019).
KEYS: dict[str, Columns] = {
    "ix_conversations_state_subject": ["state", sa.text("lower(subject)"), "id"],
    "ix_conversations_state_customer_name": ["state", "customer_name_sort", "id"],
    "ix_conversations_state_customer_email": ["state", "customer_email_sort", "id"],
    "ix_conversations_state_waiting": ["state", "customer_waiting_since", "id"],
    "ix_conversations_state_number": ["state", "number", "id"],
    "ix_conversations_folder_state_created": ["folder_id", "state", "created_at", "id"],
    "ix_conversations_folder_state_modified": ["folder_id", "state", "modified_at", "id"],
}
WAITING_DESC = "ix_conversations_state_waiting_desc"  # PostgreSQL only (0005)
WAITING_DESC_KEY = "state, customer_waiting_since DESC NULLS LAST, id DESC"
ATTACHMENTS = "ix_conversations_attachments"
ATTACHMENTS_PREDICATE = {"sqlite": "has_attachments IS 1", "postgresql": "has_attachments IS true"}


def _rebuild(with_status: bool) -> None:
    dialect = op.get_context().dialect.name
    tail: Columns = ["status"] if with_status else []
    for name, columns in KEYS.items():
        op.drop_index(name, table_name="conversations")
        op.create_index(name, "conversations", [*columns, *tail])
    if dialect == "postgresql":
        op.execute(f"DROP INDEX {WAITING_DESC}")
        key = WAITING_DESC_KEY + (", status" if with_status else "")
        op.execute(f"CREATE INDEX {WAITING_DESC} ON conversations ({key})")
    op.execute(f"DROP INDEX {ATTACHMENTS}")
    op.execute(
        f"CREATE INDEX {ATTACHMENTS} ON conversations (state, status, created_at, id) "
        f"WHERE {ATTACHMENTS_PREDICATE[dialect]}"
    )


def upgrade() -> None:
    _rebuild(with_status=True)


def downgrade() -> None:
    _rebuild(with_status=False)
