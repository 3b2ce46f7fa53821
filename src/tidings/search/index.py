"""The search documents: one per conversation, its subject and every thread body.

Written by the application, not by triggers: a trigger fires per thread row, so a conversation
with five threads would be re-indexed five times in a bulk load. Every write path ends in
`refresh` (the conversation service calls it from `refresh_derived`), and the bulk loader calls
`index_new` once per batch.

SQLite (FTS5): the rowid is the conversation's *search key*, `created_at * 2^31 + id` (ids are
below 2^31), so FTS5 returns matches in (createdAt, id) order, the default list order, and a
search can walk its index newest-first and stop after one page. Thread bodies are joined with
U+E000, a private-use character FTS5 keeps as a token but that no query can contain (queries
are split into letters and digits), so a phrase never spans two threads.

PostgreSQL (tsvector): the subject with weight A, the bodies with the default weight D, so one
GIN-indexed document answers `subject:`, `body:` and bare words. A filler lexeme between bodies,
deleted afterwards, leaves a gap in the positions for the same reason.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import Connection, text

TABLE = "conversation_search"
KEY_SHIFT = 2147483648  # 2^31: ids are below it (MAX_ID)
ID_MASK = KEY_SHIFT - 1
THREAD_BREAK = "\ue000"

SQLITE_KEY = f"c.created_at * {KEY_SHIFT} + c.id"
REBUILD_SQLITE = f"""INSERT INTO conversation_search (rowid, subject, body)
SELECT {SQLITE_KEY}, c.subject,
    (SELECT group_concat(b.body, ' ' || char(57344) || ' ')
     FROM (SELECT t.body FROM threads t WHERE t.conversation_id = c.id ORDER BY t.id) AS b)"""

REBUILD_POSTGRESQL = """INSERT INTO conversation_search (conversation_id, document)
SELECT c.id,
    setweight(to_tsvector('simple', coalesce(c.subject, '')), 'A')
    || coalesce((SELECT ts_delete(
                    to_tsvector('simple', string_agg(' tidingsthreadbreak ' || coalesce(t.body, ''), ' '
                                                     ORDER BY t.id)),
                    'tidingsthreadbreak'::text)
                 FROM threads t WHERE t.conversation_id = c.id), ''::tsvector)"""


def refresh(conn: Connection, conversation_ids: Collection[int]) -> None:
    """Rewrite the search documents of these conversations from their current subject and threads."""
    ids = sorted(set(conversation_ids))
    if not ids:
        return
    if conn.dialect.name == "sqlite":
        keys = f"SELECT {SQLITE_KEY} FROM conversations c WHERE c.id IN (SELECT value FROM json_each(:ids))"
        conn.execute(text(f"DELETE FROM conversation_search WHERE rowid IN ({keys})"), {"ids": _json(ids)})
        conn.execute(
            text(REBUILD_SQLITE + " FROM conversations c WHERE c.id IN (SELECT value FROM json_each(:ids))"),
            {"ids": _json(ids)},
        )
    else:
        conn.execute(
            text(
                REBUILD_POSTGRESQL + " FROM conversations c WHERE c.id = ANY(:ids) "
                "ON CONFLICT (conversation_id) DO UPDATE SET document = EXCLUDED.document"
            ),
            {"ids": ids},
        )


def index_new(conn: Connection, first_id: int, last_id: int) -> None:
    """Index conversations just inserted with ids in [first_id, last_id] (the bulk loader's path)."""
    rebuild = REBUILD_SQLITE if conn.dialect.name == "sqlite" else REBUILD_POSTGRESQL
    conn.execute(
        text(rebuild + " FROM conversations c WHERE c.id BETWEEN :first AND :last"),
        {"first": first_id, "last": last_id},
    )


def _json(ids: list[int]) -> str:
    return "[" + ",".join(str(i) for i in ids) + "]"
