"""When each conversation was active: the rows of `conversation_activity` the report bucket reads.

The bucket (behaviour §8) holds the conversations created in the interval or with any thread
(line items, drafts and hidden threads included) created in it. Computing that from `threads`
on every request meant reading every thread of the interval, de-duplicating their conversations
and looking each one up (5 s for the overall report at 1M conversations). Instead each
conversation has one row per UTC day on which it was created or had a thread created:

    (conversation_id, day, first_at, last_at, previous_at, <the conversation's report columns>)

`first_at`/`last_at` are the first and last of those instants on that day, `previous_at` the last
one before that day (`NO_EARLIER` on the conversation's first day). For any instant `s`, exactly
one row of a conversation *crosses* it: `previous_at < s <= last_at`. So the conversations
touched in [s, e] are read once each, without DISTINCT, from the index on
(day, previous_at, last_at, first_at, …); see `tidings.reports.queries.in_bucket`. The index
also holds the columns reports filter, count and sort by (state, status, mailbox, folder, type,
primary customer, createdAt, modifiedAt), so the bucket never visits `conversations`.

Who keeps what:

* the days (and the copied columns with them) are written by the application, like the search
  documents (`tidings.search.index`): every write path ends in
  `conversations.service.refresh_derived`, which calls `refresh`, and the bulk loader builds
  them from the rows it has in memory with `rows_for`. A conversation's rows depend only on its
  `created_at` and its threads' `created_at`, so they are rewritten whole;
* the copied columns are kept by triggers on `conversations` (`SQLITE_TRIGGERS` /
  `POSTGRES_TRIGGERS`, installed by migration 0006), so that every change of status, folder,
  mailbox, customer, state or modifiedAt — deleting included, which rewrites no threads —
  reaches them.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import BindParameter, Connection, bindparam, text

DAY = 86400
# previous_at of a conversation's first active day: earlier than any instant an API can name.
NO_EARLIER = -(2**62)
# The conversation columns copied into every activity row (same names on both tables).
COPIED = ("state", "status", "mailbox_id", "folder_id", "type", "customer_id", "created_at", "modified_at")

# Days since 1970-01-01 UTC, rounded down also before 1970 (integer division truncates on both
# databases, so the remainder is made non-negative first and the division is exact).
_DAY_OF = f"(at - ((at % {DAY}) + {DAY}) % {DAY}) / {DAY}"
_COPIED = ", ".join(COPIED)

_REBUILD = f"""INSERT INTO conversation_activity
    (conversation_id, day, first_at, last_at, previous_at, {_COPIED})
SELECT days.conversation_id, days.day, days.first_at, days.last_at, days.previous_at,
    {", ".join(f"c.{name}" for name in COPIED)}
FROM (SELECT conversation_id, day, min(at) AS first_at, max(at) AS last_at,
          coalesce(lag(max(at)) OVER (PARTITION BY conversation_id ORDER BY day), {NO_EARLIER}) AS previous_at
      FROM (SELECT conversation_id, at, {_DAY_OF} AS day
            FROM (SELECT c.id AS conversation_id, c.created_at AS at FROM conversations c {{conversations}}
                  UNION ALL
                  SELECT t.conversation_id, t.created_at FROM threads t {{threads}}) AS instants) AS dated
      GROUP BY conversation_id, day) AS days
JOIN conversations c ON c.id = days.conversation_id"""

# Every conversation (the migration's backfill).
REBUILD_ALL = _REBUILD.format(conversations="", threads="")

_CHANGED_SQLITE = " OR ".join(f"old.{name} IS NOT new.{name}" for name in COPIED)
_CHANGED_POSTGRES = " OR ".join(f"OLD.{name} IS DISTINCT FROM NEW.{name}" for name in COPIED)

SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER conversation_activity_copy AFTER UPDATE OF {_COPIED} ON conversations
    WHEN {_CHANGED_SQLITE}
    BEGIN
        UPDATE conversation_activity SET {", ".join(f"{name} = new.{name}" for name in COPIED)}
        WHERE conversation_id = new.id;
    END""",
]

POSTGRES_TRIGGERS = [
    f"""CREATE FUNCTION conversation_activity_copy() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE conversation_activity SET {", ".join(f"{name} = NEW.{name}" for name in COPIED)}
        WHERE conversation_id = NEW.id;
        RETURN NULL;
    END $$""",
    f"""CREATE TRIGGER conversation_activity_copy AFTER UPDATE OF {_COPIED} ON conversations
    FOR EACH ROW WHEN ({_CHANGED_POSTGRES})
    EXECUTE FUNCTION conversation_activity_copy()""",
]


# -- the same rows once per tag of the conversation --------------------------------------------

# `conversation_tag_activity` (migration 0012): each activity row again for each tag its
# conversation carries, indexed from the tag, so a tag's part of the bucket is a range read of
# its own rows rather than a probe of `conversation_tags` for every conversation of the bucket
# (the fields-drilldown by tag: 52,733 probes at 1M conversations). Kept whole by triggers on
# both sources, so every write path (the API, the bulk loader, cascades) keeps it. A trigger
# reads the other source as its statement sees it: the API's writers of a conversation hold its
# row lock (`conversations.service.visible_conversation(lock=True)`), so its tags and its days
# never change in two transactions at once.
TAG_COLUMNS = ("tag_id", "conversation_id", "day", "first_at", "last_at", "previous_at", *COPIED)
_ACTIVITY_COLUMNS = TAG_COLUMNS[1:]
_TAG_COLUMNS = ", ".join(TAG_COLUMNS)

# The backfill: every activity row joined with its conversation's tags.
REBUILD_TAGS = (
    f"INSERT INTO conversation_tag_activity ({_TAG_COLUMNS}) "
    f"SELECT ct.tag_id, {', '.join(f'a.{name}' for name in _ACTIVITY_COLUMNS)} "
    "FROM conversation_activity a JOIN conversation_tags ct ON ct.conversation_id = a.conversation_id"
)


# Each trigger (named conversation_tag_activity_<key>): the event and the table it follows.
_TAG_EVENTS = {
    "tagged": ("INSERT", "conversation_tags"),
    "untagged": ("DELETE", "conversation_tags"),
    "added": ("INSERT", "conversation_activity"),
    "removed": ("DELETE", "conversation_activity"),
    "changed": ("UPDATE", "conversation_activity"),
}


def _sqlite_tag_triggers() -> list[str]:
    from_new = ", ".join(f"new.{name}" for name in _ACTIVITY_COLUMNS)
    from_activity = ", ".join(f"a.{name}" for name in _ACTIVITY_COLUMNS)
    copied = ", ".join(f"{name} = new.{name}" for name in _ACTIVITY_COLUMNS[2:])
    return [
        f"""CREATE TRIGGER conversation_tag_activity_tagged AFTER INSERT ON conversation_tags BEGIN
        INSERT INTO conversation_tag_activity ({_TAG_COLUMNS})
        SELECT new.tag_id, {from_activity} FROM conversation_activity a
        WHERE a.conversation_id = new.conversation_id;
    END""",
        """CREATE TRIGGER conversation_tag_activity_untagged AFTER DELETE ON conversation_tags BEGIN
        DELETE FROM conversation_tag_activity
        WHERE conversation_id = old.conversation_id AND tag_id = old.tag_id;
    END""",
        f"""CREATE TRIGGER conversation_tag_activity_added AFTER INSERT ON conversation_activity BEGIN
        INSERT INTO conversation_tag_activity ({_TAG_COLUMNS})
        SELECT ct.tag_id, {from_new} FROM conversation_tags ct
        WHERE ct.conversation_id = new.conversation_id;
    END""",
        """CREATE TRIGGER conversation_tag_activity_removed AFTER DELETE ON conversation_activity BEGIN
        DELETE FROM conversation_tag_activity WHERE conversation_id = old.conversation_id AND day = old.day;
    END""",
        f"""CREATE TRIGGER conversation_tag_activity_changed AFTER UPDATE ON conversation_activity BEGIN
        UPDATE conversation_tag_activity SET {copied}
        WHERE conversation_id = new.conversation_id AND day = new.day;
    END""",
    ]


def _postgres_tag_triggers() -> list[str]:
    """Statement triggers reading transition tables: a COPY of thousands of activity rows by the
    bulk loader is one INSERT … SELECT, not a trigger call per row."""
    from_activity = ", ".join(f"a.{name}" for name in _ACTIVITY_COLUMNS)
    copied = ", ".join(f"{name} = n.{name}" for name in _ACTIVITY_COLUMNS[2:])
    bodies = {
        "tagged": f"""INSERT INTO conversation_tag_activity ({_TAG_COLUMNS})
            SELECT n.tag_id, {from_activity} FROM added n
            JOIN conversation_activity a ON a.conversation_id = n.conversation_id""",
        "untagged": """DELETE FROM conversation_tag_activity t USING removed o
            WHERE t.conversation_id = o.conversation_id AND t.tag_id = o.tag_id""",
        "added": f"""INSERT INTO conversation_tag_activity ({_TAG_COLUMNS})
            SELECT ct.tag_id, {from_activity} FROM added a
            JOIN conversation_tags ct ON ct.conversation_id = a.conversation_id""",
        "removed": """DELETE FROM conversation_tag_activity t USING removed o
            WHERE t.conversation_id = o.conversation_id AND t.day = o.day""",
        "changed": f"""UPDATE conversation_tag_activity t SET {copied} FROM added n
            WHERE t.conversation_id = n.conversation_id AND t.day = n.day""",
    }
    statements = []
    for name, body in bodies.items():
        event, table = _TAG_EVENTS[name]
        transition = "OLD TABLE AS removed" if event == "DELETE" else "NEW TABLE AS added"
        statements.append(
            f"""CREATE FUNCTION conversation_tag_activity_{name}() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        {body};
        RETURN NULL;
    END $$"""
        )
        statements.append(
            f"""CREATE TRIGGER conversation_tag_activity_{name} AFTER {event} ON {table}
    REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION conversation_tag_activity_{name}()"""
        )
    return statements


SQLITE_TAG_TRIGGERS = _sqlite_tag_triggers()
POSTGRES_TAG_TRIGGERS = _postgres_tag_triggers()
# (trigger, table) pairs, for dropping them.
TAG_TRIGGERS = [(f"conversation_tag_activity_{name}", table) for name, (_, table) in _TAG_EVENTS.items()]


def refresh(conn: Connection, conversation_ids: Collection[int]) -> None:
    """Rewrite the activity rows of these conversations from their current threads."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return
    param: BindParameter[list[int]] = bindparam("ids", ids, expanding=True)
    conn.execute(text("DELETE FROM conversation_activity WHERE conversation_id IN :ids").bindparams(param))
    conn.execute(
        text(
            _REBUILD.format(conversations="WHERE c.id IN :ids", threads="WHERE t.conversation_id IN :ids")
        ).bindparams(param)
    )


# The columns of a row built by `rows_for`, in its order.
COLUMNS = ("conversation_id", "day", "first_at", "last_at", "previous_at", *COPIED)


def rows_for(conversation_id: int, instants: Sequence[int], copied: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows `_REBUILD` writes for one conversation, from its createdAt and thread times in memory.

    `copied` holds the conversation's values of `COPIED`, in that order. Python's `//` rounds
    down also before 1970, like `_DAY_OF`; the tests compare the two on generated data.
    """
    days: dict[int, list[int]] = {}
    for at in instants:
        bounds = days.get(at // DAY)
        if bounds is None:
            days[at // DAY] = [at, at]
        elif at < bounds[0]:
            bounds[0] = at
        elif at > bounds[1]:
            bounds[1] = at
    rows = []
    previous = NO_EARLIER
    for day in sorted(days):
        first_at, last_at = days[day]
        rows.append((conversation_id, day, first_at, last_at, previous, *copied))
        previous = last_at
    return rows
