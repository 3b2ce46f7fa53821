"""list totals without COUNT: per (mailbox, state, status) counts kept by triggers; indexes with state

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SQLITE_TRIGGERS = [
    """CREATE TRIGGER conversation_counts_ai AFTER INSERT ON conversations BEGIN
        INSERT INTO conversation_counts (mailbox_id, state, status, n) VALUES (new.mailbox_id, new.state, new.status, 1)
        ON CONFLICT (mailbox_id, state, status) DO UPDATE SET n = n + 1;
    END""",
    """CREATE TRIGGER conversation_counts_ad AFTER DELETE ON conversations BEGIN
        UPDATE conversation_counts SET n = n - 1
        WHERE mailbox_id = old.mailbox_id AND state = old.state AND status = old.status;
    END""",
    """CREATE TRIGGER conversation_counts_au AFTER UPDATE OF mailbox_id, state, status ON conversations
    WHEN old.mailbox_id IS NOT new.mailbox_id OR old.state IS NOT new.state OR old.status IS NOT new.status
    BEGIN
        UPDATE conversation_counts SET n = n - 1
        WHERE mailbox_id = old.mailbox_id AND state = old.state AND status = old.status;
        INSERT INTO conversation_counts (mailbox_id, state, status, n) VALUES (new.mailbox_id, new.state, new.status, 1)
        ON CONFLICT (mailbox_id, state, status) DO UPDATE SET n = n + 1;
    END""",
]

POSTGRES_TRIGGERS = [
    """CREATE FUNCTION conversation_counts_keep() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF TG_OP IN ('DELETE', 'UPDATE') THEN
            UPDATE conversation_counts SET n = n - 1
            WHERE mailbox_id = OLD.mailbox_id AND state = OLD.state AND status = OLD.status;
        END IF;
        IF TG_OP IN ('INSERT', 'UPDATE') THEN
            INSERT INTO conversation_counts (mailbox_id, state, status, n)
            VALUES (NEW.mailbox_id, NEW.state, NEW.status, 1)
            ON CONFLICT (mailbox_id, state, status) DO UPDATE SET n = conversation_counts.n + 1;
        END IF;
        RETURN NULL;
    END $$""",
    """CREATE TRIGGER conversation_counts_aid AFTER INSERT OR DELETE ON conversations
    FOR EACH ROW EXECUTE FUNCTION conversation_counts_keep()""",
    """CREATE TRIGGER conversation_counts_au AFTER UPDATE OF mailbox_id, state, status ON conversations
    FOR EACH ROW WHEN (OLD.mailbox_id IS DISTINCT FROM NEW.mailbox_id OR OLD.state IS DISTINCT FROM NEW.state
                       OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION conversation_counts_keep()""",
]


def upgrade() -> None:
    op.create_table(
        "conversation_counts",
        sa.Column("mailbox_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("n", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("mailbox_id", "state", "status", name=op.f("pk_conversation_counts")),
    )
    op.execute(
        "INSERT INTO conversation_counts (mailbox_id, state, status, n) "
        "SELECT mailbox_id, state, status, count(*) FROM conversations GROUP BY mailbox_id, state, status"
    )
    dialect = op.get_bind().dialect.name
    for statement in SQLITE_TRIGGERS if dialect == "sqlite" else POSTGRES_TRIGGERS:
        op.execute(statement)
    op.create_index(
        "ix_conversations_state_status_created", "conversations", ["state", "status", "created_at", "id"]
    )
    op.create_index(
        "ix_conversations_mailbox_state_status_created",
        "conversations",
        ["mailbox_id", "state", "status", "created_at", "id"],
    )
    op.drop_index("ix_conversations_status_created", table_name="conversations")
    op.drop_index("ix_conversations_mailbox_status_created", table_name="conversations")


def downgrade() -> None:
    op.create_index(
        "ix_conversations_mailbox_status_created",
        "conversations",
        ["mailbox_id", "status", "created_at", "id"],
    )
    op.create_index("ix_conversations_status_created", "conversations", ["status", "created_at", "id"])
    op.drop_index("ix_conversations_mailbox_state_status_created", table_name="conversations")
    op.drop_index("ix_conversations_state_status_created", table_name="conversations")
    if op.get_bind().dialect.name == "sqlite":
        for name in ("conversation_counts_ai", "conversation_counts_ad", "conversation_counts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS conversation_counts_aid ON conversations")
        op.execute("DROP TRIGGER IF EXISTS conversation_counts_au ON conversations")
        op.execute("DROP FUNCTION IF EXISTS conversation_counts_keep()")
    op.drop_table("conversation_counts")
