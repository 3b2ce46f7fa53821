"""a customer's conversations are counted and listed by status from the customer index alone

`ix_conversations_customer` held the customer id only, so a count of some customers'
conversations of one status read each one's row for its state and status, and SQLite, without
statistics, often walked every conversation of that status instead, testing each against the
customers: at 1M conversations the conversations of the 5,220 customers named Jo… that are
closed (44,051) took 1.2 s to count, the first request of `jo*&status=closed` 1.5-8.3 s. The
index now holds (customer_id, state, status, created_at, id): the same count reads 44k index
entries (49 ms), and one customer's list of a status is in createdAt order in the index.

SQLite takes, among indexes it costs alike, the one made last; the partial index of 0017 was
made last by the migrations, so it is made again after this one (see 0021).

Revision ID: 0026
Revises: 0025
"""

from __future__ import annotations

from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

ATTACHMENTS = "ix_conversations_attachments"
ATTACHMENTS_PREDICATE = {"sqlite": "has_attachments IS 1", "postgresql": "has_attachments IS true"}


def _attachments_made_last() -> None:
    op.execute(f"DROP INDEX {ATTACHMENTS}")
    op.execute(
        f"CREATE INDEX {ATTACHMENTS} ON conversations (state, status, created_at, id) "
        f"WHERE {ATTACHMENTS_PREDICATE[op.get_context().dialect.name]}"
    )


def upgrade() -> None:
    op.drop_index("ix_conversations_customer", table_name="conversations")
    op.create_index(
        "ix_conversations_customer_state_status",
        "conversations",
        ["customer_id", "state", "status", "created_at", "id"],
    )
    _attachments_made_last()


def downgrade() -> None:
    op.drop_index("ix_conversations_customer_state_status", table_name="conversations")
    op.create_index("ix_conversations_customer", "conversations", ["customer_id"])
    _attachments_made_last()
