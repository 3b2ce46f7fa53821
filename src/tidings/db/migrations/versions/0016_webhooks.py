"""webhooks: subscriptions and the outbox of their deliveries (behaviour §9)

`webhooks` holds who is told of which events; `webhook_deliveries` is the outbox, written in the
transaction of the change that causes each event, read by the sender (`tidings.webhooks.sender`)
through a partial index of the pending rows in due order. On PostgreSQL `webhooks` gets the
change-log trigger like every data table; the deliveries do not: their bookkeeping changes no
answer the API gives (`tidings.db.change_log.NOT_DATA`).

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from tidings.db.change_log import trigger_on

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(40), nullable=False),
        sa.Column("events", sa.Text, nullable=False),
        sa.Column("mailbox_ids", sa.Text),
        sa.Column("label", sa.String(200)),
        sa.Column("notification", sa.Boolean, nullable=False),
        sa.Column("payload_version", sa.String(10), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("dropped_in_a_row", sa.Integer, nullable=False),
        sa.Column("api_base_url", sa.String(2048), nullable=False),
        sa.Column("web_base_url", sa.String(2048), nullable=False),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhooks")),
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("webhook_id", sa.Integer, nullable=False),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.BigInteger, nullable=False),
        sa.Column("claimed_until", sa.BigInteger),
        sa.Column("last_status", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("finished_at", sa.BigInteger),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["webhooks.id"],
            name=op.f("fk_webhook_deliveries_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
    )
    op.create_index(op.f("ix_webhook_deliveries_webhook_id"), "webhook_deliveries", ["webhook_id"])
    op.create_index(op.f("ix_webhook_deliveries_finished_at"), "webhook_deliveries", ["finished_at"])
    pending = sa.text("state = 'pending'")
    op.create_index(
        "ix_webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "id"],
        sqlite_where=pending,
        postgresql_where=pending,
    )
    if op.get_context().dialect.name == "postgresql":
        op.execute(trigger_on("webhooks"))


def downgrade() -> None:
    op.drop_table("webhook_deliveries")
    op.drop_table("webhooks")
