"""SQLAlchemy Core tables: the single description of what Tidings stores.

Timestamps are stored as integer seconds since the Unix epoch (UTC) through the `Timestamp`
type: the API speaks second precision only, integer comparisons are the same on SQLite and
PostgreSQL, and report bucketing by time zone becomes plain arithmetic in either dialect.

Denormalised columns on `conversations` (thread_count, preview, has_attachments, the customer
sort keys, the waiting/updated times, folder_id) are kept right by the services on every write,
so that lists and reports never need per-row work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class Timestamp(TypeDecorator[datetime]):
    """A UTC instant stored as integer epoch seconds; Python sees aware datetimes."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> int | None:
        if value is None:
            return None
        if isinstance(value, datetime):
            if value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            return int(value.timestamp())
        return int(value)

    def result_processor(self, dialect: Dialect, coltype: Any) -> Callable[[Any], datetime | None]:
        """Epoch seconds to aware datetimes, directly rather than through `process_result_value`
        and TypeDecorator's generic wrapper: a list page reads ~275 timestamps, and the wrapper
        doubled their cost (both drivers return integers)."""
        from_epoch = datetime.fromtimestamp

        def process(value: Any) -> datetime | None:
            return None if value is None else from_epoch(int(value), UTC)

        return process


def _id() -> Column[int]:
    return Column("id", Integer, primary_key=True, autoincrement=True)


users = Table(
    "users",
    metadata,
    _id(),
    Column("first_name", String(40), nullable=False),
    Column("last_name", String(40), nullable=False, server_default=""),
    Column("email", String(254), nullable=False),
    Column("role", String(10), nullable=False),  # owner | admin | user
    Column("timezone", String(64), nullable=False, server_default="UTC"),
    Column("photo_url", String(500)),
    Column("job_title", String(100)),
    Column("phone", String(60)),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

mailboxes = Table(
    "mailboxes",
    metadata,
    _id(),
    Column("name", String(200), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("email", String(254), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# Mailboxes a `user`-role user may see; owners and admins see all and need no rows here.
user_mailboxes = Table(
    "user_mailboxes",
    metadata,
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), primary_key=True),
)

apps = Table(
    "apps",
    metadata,
    _id(),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False, server_default=""),
    Column("client_id", String(200), nullable=False, unique=True),
    Column("secret_hash", String(200), nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

# Access and refresh tokens, stored only as SHA-256 hashes of the random token.
tokens = Table(
    "tokens",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("kind", String(10), nullable=False),  # access | refresh
    Column("app_id", Integer, ForeignKey("apps.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("user_id", Integer, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("expires_at", Timestamp, nullable=False),
    Column("revoked", Boolean, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
)

folders = Table(
    "folders",
    metadata,
    _id(),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    # unassigned | assigned | drafts | closed | spam (system folders) | mytickets
    Column("type", String(20), nullable=False),
    Column("user_id", Integer, nullable=False, server_default="0"),
    Column("updated_at", Timestamp, nullable=False),
    UniqueConstraint("mailbox_id", "type", "user_id"),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("first_name", String(40), nullable=False, server_default=""),
    Column("last_name", String(40), nullable=False, server_default=""),
    Column("gender", String(20)),
    Column("job_title", String(60)),
    Column("location", String(60)),
    Column("organization", String(60)),
    Column("photo_type", String(20)),
    Column("photo_url", String(200)),
    Column("background", Text),
    Column("age", String(20)),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# `value` is stored lower-case: addresses match case-insensitively and are unique per account.
customer_emails = Table(
    "customer_emails",
    metadata,
    _id(),
    Column(
        "customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("value", String(254), nullable=False, unique=True),
    Column("type", String(20), nullable=False, server_default="work"),
)

customer_phones = Table(
    "customer_phones",
    metadata,
    _id(),
    Column(
        "customer_id", Integer, ForeignKey("customers.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("value", String(60), nullable=False),
    Column("type", String(20), nullable=False, server_default="work"),
)

# Tag names are stored lower-case, as the service does; matching is case-insensitive.
tags = Table(
    "tags",
    metadata,
    _id(),
    Column("name", String(100), nullable=False, unique=True),
    Column("slug", String(100), nullable=False),
    Column("color", String(20)),  # None -> "none" in reports, "#A5B2BD"-style elsewhere
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

# A conversation's statuses, a closed set kept by the application (`conversations.schemas.Status`).
CONVERSATION_STATUSES = ("active", "pending", "closed", "spam")

conversations = Table(
    "conversations",
    metadata,
    _id(),
    Column("number", Integer, nullable=False, unique=True),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id"), nullable=False),
    Column("folder_id", Integer, ForeignKey("folders.id"), nullable=False),
    Column("type", String(10), nullable=False),  # email | chat | phone
    Column("status", String(10), nullable=False),  # active | pending | closed | spam
    Column("state", String(10), nullable=False),  # published | draft | deleted
    Column("subject", String(998), nullable=False, server_default=""),
    Column("preview", String(255), nullable=False, server_default=""),
    Column("assignee_id", Integer, ForeignKey("users.id")),
    Column("customer_id", Integer, ForeignKey("customers.id")),  # primary customer
    Column("created_by_type", String(10), nullable=False),  # customer | user
    Column("created_by_id", Integer, nullable=False),
    Column("source_type", String(20), nullable=False, server_default="api"),
    Column("source_via", String(10), nullable=False, server_default="customer"),
    Column("cc", Text, nullable=False, server_default="[]"),  # JSON array of addresses
    Column("bcc", Text, nullable=False, server_default="[]"),
    Column("created_at", Timestamp, nullable=False),
    Column("modified_at", Timestamp, nullable=False),
    Column("closed_at", Timestamp),
    Column("closed_by", Integer),
    Column("user_updated_at", Timestamp, nullable=False),
    Column("last_customer_at", Timestamp),  # latest published customer-side thread
    Column("last_user_reply_at", Timestamp),  # latest published user reply
    Column("customer_waiting_since", Timestamp),  # set while the customer waits for a reply
    Column("thread_count", Integer, nullable=False, server_default="0"),  # published, no line items
    Column("total_threads", Integer, nullable=False, server_default="0"),  # every thread (100 cap)
    Column("has_attachments", Boolean, nullable=False, server_default="0"),
    Column("customer_name_sort", String(100), nullable=False, server_default=""),  # lower("first last")
    Column("customer_email_sort", String(254), nullable=False, server_default=""),  # lower(first email)
    Column("snoozed_until", Timestamp),
    Column("snoozed_by", Integer),
    Column("unsnooze_on_customer_reply", Boolean),
    Index("ix_conversations_state_status_created", "state", "status", "created_at", "id"),
    Index(
        "ix_conversations_mailbox_state_status_created", "mailbox_id", "state", "status", "created_at", "id"
    ),
    # A folder's lists by creation and by modification; the status last, as in the sort indexes
    # below (0021).
    Index("ix_conversations_folder_state_created", "folder_id", "state", "created_at", "id", "status"),
    Index("ix_conversations_folder_state_modified", "folder_id", "state", "modified_at", "id", "status"),
    Index("ix_conversations_state_modified", "state", "modified_at", "id"),
    Index("ix_conversations_state_status_modified", "state", "status", "modified_at", "id"),
    Index("ix_conversations_state_created", "state", "created_at", "id"),
    Index("ix_conversations_state_mailbox", "state", "mailbox_id", "id"),
    Index("ix_conversations_state_status", "state", "status", "id"),
    Index(
        "ix_conversations_assignee_state_status_created", "assignee_id", "state", "status", "created_at", "id"
    ),
    Index("ix_conversations_customer_state_status", "customer_id", "state", "status", "created_at", "id"),
)

conversation_tags = Table(
    "conversation_tags",
    metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("tag_id", Integer, ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
    Column("created_at", Timestamp, nullable=False),
    Index("ix_conversation_tags_tag", "tag_id", "conversation_id"),
)

# Every address a conversation was sent to or copied to (threads' to/cc/bcc and the
# conversation's cc/bcc), lower-case, so that `query=email:…` is an index lookup.
conversation_emails = Table(
    "conversation_emails",
    metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("email", String(254), primary_key=True),
    Index("ix_conversation_emails_email", "email", "conversation_id"),
)

threads = Table(
    "threads",
    metadata,
    _id(),
    Column(
        "conversation_id",
        Integer,
        ForeignKey("conversations.id", ondelete="CASCADE"),
        nullable=False,
    ),
    # customer | message (a user reply) | note | chat | phone | lineitem | forwardparent | forwardchild
    Column("type", String(15), nullable=False),
    Column("status", String(10), nullable=False, server_default="nochange"),
    Column("state", String(10), nullable=False, server_default="published"),  # published|draft|hidden
    Column("action_type", String(40), nullable=False, server_default="default"),
    Column("action_text", Text),
    Column("body", Text),
    Column("original_body", Text),  # the text before the first edit
    Column("source_type", String(20), nullable=False, server_default="api"),
    Column("source_via", String(10), nullable=False, server_default="user"),
    Column("customer_id", Integer, ForeignKey("customers.id")),
    Column("created_by_type", String(10), nullable=False),  # customer | user
    Column("created_by_id", Integer, nullable=False),
    Column("assigned_to_id", Integer),
    Column("saved_reply_id", Integer),
    Column("workflow_id", Integer),  # the workflow a `manual-workflow` line item records
    Column("to_list", Text, nullable=False, server_default="[]"),
    Column("cc_list", Text, nullable=False, server_default="[]"),
    Column("bcc_list", Text, nullable=False, server_default="[]"),
    Column("imported", Boolean, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("opened_at", Timestamp),
    Column("scheduled_for", Timestamp),  # a draft reply set to be sent later
    Column("scheduled_by", Integer),
    Column("scheduled_at", Timestamp),
    Column("unschedule_on_customer_reply", Boolean),
    Index("ix_threads_conversation_created", "conversation_id", "created_at", "id"),
    Index("ix_threads_created_type", "created_at", "type"),
    Index("ix_threads_saved_reply", "saved_reply_id", "created_at"),
    Index("ix_threads_workflow", "workflow_id", "created_at"),
)

attachments = Table(
    "attachments",
    metadata,
    _id(),
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), nullable=False),
    Column("thread_id", Integer, ForeignKey("threads.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("filename", String(255), nullable=False),
    Column("mime_type", String(255), nullable=False),
    Column("size", Integer, nullable=False),
    Column("width", Integer, nullable=False, server_default="0"),
    Column("height", Integer, nullable=False, server_default="0"),
    Column("data", LargeBinary, nullable=False),
    Column("created_at", Timestamp, nullable=False),
)

mailbox_fields = Table(
    "mailbox_fields",
    metadata,
    _id(),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("type", String(20), nullable=False),  # singleline | multiline | date | number | dropdown
    Column("required", Boolean, nullable=False, server_default="0"),
    Column("sort_order", Integer, nullable=False, server_default="0"),
)

mailbox_field_options = Table(
    "mailbox_field_options",
    metadata,
    _id(),
    Column(
        "field_id", Integer, ForeignKey("mailbox_fields.id", ondelete="CASCADE"), nullable=False, index=True
    ),
    Column("label", String(255), nullable=False),
    Column("sort_order", Integer, nullable=False, server_default="0"),
)

conversation_fields = Table(
    "conversation_fields",
    metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("field_id", Integer, ForeignKey("mailbox_fields.id", ondelete="CASCADE"), primary_key=True),
    Column("value", Text, nullable=False),
    Index("ix_conversation_fields_field_value", "field_id", "value"),
)

saved_replies = Table(
    "saved_replies",
    metadata,
    _id(),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("text", Text, nullable=False, server_default=""),
    Column("chat_text", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)

workflows = Table(
    "workflows",
    metadata,
    _id(),
    Column("mailbox_id", Integer, ForeignKey("mailboxes.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(200), nullable=False),
    Column("type", String(10), nullable=False),  # manual | automatic
    Column("status", String(10), nullable=False, server_default="active"),  # active | inactive | invalid
    Column("sort_order", Integer, nullable=False, server_default="0"),
    Column("created_at", Timestamp, nullable=False),
    Column("modified_at", Timestamp, nullable=False),
)

# How many conversations each (mailbox, state, status) holds, kept by database triggers on
# `conversations` (migration 0003), so that the common list totals need no COUNT over the table.
conversation_counts = Table(
    "conversation_counts",
    metadata,
    Column("mailbox_id", Integer, primary_key=True),
    Column("state", String(10), primary_key=True),
    Column("status", String(10), primary_key=True),
    Column("n", BigInteger, nullable=False),
)


def _counts_by(name: str, by: str, **n_options: Any) -> Table:
    """The counts of conversation_counts, per `by` as well (kept by triggers on write)."""
    return Table(
        name,
        metadata,
        Column(by, Integer, primary_key=True),
        Column("mailbox_id", Integer, primary_key=True),
        Column("state", String(10), primary_key=True),
        Column("status", String(10), primary_key=True),
        Column("n", BigInteger, nullable=False, **n_options),
    )


# Per tag: list totals for a single `tag` filter (0005).
conversation_tag_counts = _counts_by("conversation_tag_counts", "tag_id")
# Per assignee (unassigned conversations have none) and per folder: `assigned_to` and `folder`
# list totals (0010).
conversation_assignee_counts = _counts_by("conversation_assignee_counts", "assignee_id", server_default="1")
conversation_folder_counts = _counts_by("conversation_folder_counts", "folder_id", server_default="1")

# How many conversations of each state and status were created on each UTC day (`day` =
# created_at / 86400, divided toward zero), kept by triggers on `conversations` (migration
# 0020): a `createdAt:` range sums its whole days here and counts only its partial ends.
conversation_day_counts = Table(
    "conversation_day_counts",
    metadata,
    Column("state", String(10), primary_key=True),
    Column("status", String(10), primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("n", BigInteger, nullable=False, server_default="1"),
    # The days in order whatever the statuses, for a deep page's day (0022, `day_pages`).
    Index("ix_conversation_day_counts_state_day", "state", "day", "status"),
)


def _activity_columns() -> list[Column[Any]]:
    """An activity row after its key: the day's instants, then the copied conversation columns."""
    return [
        Column("first_at", BigInteger, nullable=False),
        Column("last_at", BigInteger, nullable=False),
        Column("previous_at", BigInteger, nullable=False),
        Column("state", String(10), nullable=False),
        Column("status", String(10), nullable=False),
        Column("mailbox_id", Integer, nullable=False),
        Column("folder_id", Integer, nullable=False),
        Column("type", String(10), nullable=False),
        Column("customer_id", Integer),
        Column("created_at", Timestamp, nullable=False),
        Column("modified_at", Timestamp, nullable=False),
    ]


# What an activity index holds after its leading column: the crossing test first, then every
# column a report filters, counts or sorts by, so that a bucket read never leaves the index.
_ACTIVITY_INDEXED = (
    "previous_at",
    "last_at",
    "first_at",
    "conversation_id",
    "state",
    "status",
    "mailbox_id",
    "folder_id",
    "type",
    "customer_id",
    "created_at",
    "modified_at",
)

# When each conversation was active, for the report bucket (migration 0006, tidings.reports.activity):
# one row per conversation per UTC day on which it was created or had a thread created, with the
# first and last of those instants that day and the last one before that day (`previous_at`), in
# plain epoch seconds (`previous_at` of a first day is a far-past sentinel). The conversation's
# columns a report filters, counts or sorts by are copied in (kept by triggers on `conversations`),
# so the bucket is read from the day index alone.
conversation_activity = Table(
    "conversation_activity",
    metadata,
    Column("conversation_id", Integer, ForeignKey("conversations.id", ondelete="CASCADE"), primary_key=True),
    Column("day", Integer, primary_key=True),  # days since 1970-01-01 UTC
    *_activity_columns(),
    Index("ix_conversation_activity_day", "day", *_ACTIVITY_INDEXED),
    sqlite_with_rowid=False,
)
# The rows of the conversations no report counts (not published, or spam), by day (0028): what
# an unfiltered report's thread lists leave out (tidings.reports.queries.thread_counts), which
# repeats the predicate literally so that SQLite uses the index.
_UNREPORTED = text("state != 'published' OR status = 'spam'")
Index(
    "ix_conversation_activity_unreported",
    conversation_activity.c.day,
    conversation_activity.c.conversation_id,
    conversation_activity.c.state,
    conversation_activity.c.status,
    sqlite_where=_UNREPORTED,
    postgresql_where=_UNREPORTED,
)

# The activity rows again, once per tag of their conversation (migration 0012, kept by triggers:
# tidings.reports.activity): a tag's share of the report bucket, read from the tag's own range.
# No foreign keys: every row follows a row of `conversation_activity` and one of
# `conversation_tags`, and goes when either goes.
conversation_tag_activity = Table(
    "conversation_tag_activity",
    metadata,
    Column("conversation_id", Integer, primary_key=True),
    Column("day", Integer, primary_key=True),
    Column("tag_id", Integer, primary_key=True),
    *_activity_columns(),
    Index("ix_conversation_tag_activity_tag", "tag_id", "day", *_ACTIVITY_INDEXED),
    sqlite_with_rowid=False,
)

# Named monotonic counters (conversation numbers); incremented inside the write transaction,
# which serialises creates on the counter row so numbers are unique and increasing.
counters = Table(
    "counters",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Fixed one-minute windows for the account-wide rate limit, shared by every process.
rate_limit_windows = Table(
    "rate_limit_windows",
    metadata,
    Column("bucket", String(100), primary_key=True),
    Column("window_start", BigInteger, primary_key=True),
    Column("hits", Integer, nullable=False),
)

# Webhooks (behaviour §9): who is told of which events, and the outbox of deliveries, written
# in the transaction of the change that causes them so that a crash loses none.
webhooks = Table(
    "webhooks",
    metadata,
    _id(),
    Column("url", String(2048), nullable=False),
    Column("secret", String(40), nullable=False),
    Column("events", Text, nullable=False),  # JSON list of event names
    Column("mailbox_ids", Text),  # JSON list; NULL: every mailbox
    Column("label", String(200)),
    Column("notification", Boolean, nullable=False),
    Column("payload_version", String(10), nullable=False),
    Column("state", String(10), nullable=False),  # enabled | disabled
    Column("dropped_in_a_row", Integer, nullable=False),
    # Where the caller that registered the webhook reached this server: the payloads' links.
    Column("api_base_url", String(2048), nullable=False),
    Column("web_base_url", String(2048), nullable=False),
    Column("created_at", Timestamp, nullable=False),
    Column("updated_at", Timestamp, nullable=False),
)
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    _id(),
    Column("webhook_id", Integer, ForeignKey("webhooks.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("event", String(64), nullable=False),
    Column("body", Text, nullable=False),  # the exact JSON sent, and signed
    Column("state", String(10), nullable=False),  # pending | delivered | dropped
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", Timestamp, nullable=False),
    Column("claimed_until", Timestamp),  # a sender holds it until then (a crashed one lets go)
    Column("last_status", Integer),
    Column("last_error", Text),
    Column("created_at", Timestamp, nullable=False),
    Column("finished_at", Timestamp, index=True),  # finished ones are kept 30 days
)
_PENDING = text("state = 'pending'")
Index(
    "ix_webhook_deliveries_due",
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.id,
    sqlite_where=_PENDING,
    postgresql_where=_PENDING,
)

# PostgreSQL: one row per transaction that changed data, written by a statement trigger on every
# other table (`tidings.db.change_log`), so a kept answer's stamp moves with data commits only and
# not with the rate limit's. Pruning deletes the rows and bumps the epoch. Unused on SQLite.
data_changes = Table(
    "data_changes",
    metadata,
    Column("txid", BigInteger, primary_key=True, autoincrement=False),
)
data_change_epochs = Table(
    "data_change_epochs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
)

# Case-insensitive lookups and sorts go through expression indexes on lower(...).
Index("uq_users_email_lower", func.lower(users.c.email), unique=True)
Index("ix_mailboxes_name_lower", func.lower(mailboxes.c.name))
Index("ix_customers_first_name_lower", func.lower(customers.c.first_name))
Index("ix_customers_last_name_lower", func.lower(customers.c.last_name))
# Every list sort has an index led by `state` (every list filters on it), then the id; those
# without the status among their keys hold it last, so a list of one status tests it in the
# index instead of reading each row (0021).
Index(
    "ix_conversations_state_subject",
    conversations.c.state,
    func.lower(conversations.c.subject),
    conversations.c.id,
    conversations.c.status,
)
Index(
    "ix_conversations_state_customer_name",
    conversations.c.state,
    conversations.c.customer_name_sort,
    conversations.c.id,
    conversations.c.status,
)
Index(
    "ix_conversations_state_customer_email",
    conversations.c.state,
    conversations.c.customer_email_sort,
    conversations.c.id,
    conversations.c.status,
)
Index(
    "ix_conversations_state_waiting",
    conversations.c.state,
    conversations.c.customer_waiting_since,
    conversations.c.id,
    conversations.c.status,
)
Index(
    "ix_conversations_state_number",
    conversations.c.state,
    conversations.c.number,
    conversations.c.id,
    conversations.c.status,
)
# The conversations with attachments (`query=attachments:true`, 0017), in list order; the
# predicate is written as each dialect renders the query's test, so that SQLite uses the index.
Index(
    "ix_conversations_attachments",
    conversations.c.state,
    conversations.c.status,
    conversations.c.created_at,
    conversations.c.id,
    sqlite_where=text("has_attachments IS 1"),
    postgresql_where=text("has_attachments IS true"),
)
# Partial indexes for the reports' thread-based numbers (0006), each in time order over only the
# threads it counts; tidings.reports.queries repeats the predicates literally so SQLite uses them.
_REPLY_SENT = text("type = 'message' AND state = 'published' AND saved_reply_id IS NOT NULL")
_WORKFLOW_RUN = text("type = 'lineitem' AND action_type = 'manual-workflow' AND workflow_id IS NOT NULL")
_RECEIVED = text("type IN ('customer', 'chat', 'phone') AND state = 'published'")
Index(
    "ix_threads_reply_sent",
    threads.c.created_at,
    threads.c.saved_reply_id,
    threads.c.conversation_id,
    sqlite_where=_REPLY_SENT,
    postgresql_where=_REPLY_SENT,
)
Index(
    "ix_threads_workflow_run",
    threads.c.created_at,
    threads.c.workflow_id,
    threads.c.conversation_id,
    sqlite_where=_WORKFLOW_RUN,
    postgresql_where=_WORKFLOW_RUN,
)
# The replies each user sent (`query=replyUserIds:`, 0018): without it the query read all 5M
# threads at 1M conversations.
_REPLY_BY_USER = text("type = 'message' AND created_by_type = 'user'")
Index(
    "ix_threads_reply_user",
    threads.c.created_by_id,
    threads.c.conversation_id,
    sqlite_where=_REPLY_BY_USER,
    postgresql_where=_REPLY_BY_USER,
)
Index(
    "ix_threads_received",
    threads.c.created_at,
    threads.c.conversation_id,
    sqlite_where=_RECEIVED,
    postgresql_where=_RECEIVED,
)

# Secondary indexes dropped for a bulk load into empty tables, with the statement that recreates
# them (migration 0007, tidings.db.deferred_indexes): a row here means the index is missing, and
# every server start and load recreates it before anything else runs.
deferred_indexes = Table(
    "deferred_indexes",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("table_name", String(200), nullable=False),
    Column("ddl", Text, nullable=False),
)
