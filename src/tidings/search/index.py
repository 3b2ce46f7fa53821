"""The search documents: one per conversation, its subject and every thread body.

Written by the application, not by triggers: a trigger fires per thread row, so a conversation
with five threads would be re-indexed five times in a bulk load. Every write path ends in
`refresh` (the conversation service calls it from `refresh_derived`), and the bulk loader hands
each batch's documents, built from the rows it has in memory, to `insert_documents`. Both go
through the same Python (`tidings.search.text`): bodies lose their HTML, every text its diacritics.

SQLite (FTS5): the rowid is the conversation's *search key*, `created_at * 2^31 + id` (ids are
below 2^31), so FTS5 returns matches in (createdAt, id) order, the default list order, and a
search can walk its index newest-first and stop after one page. Thread bodies are joined with
U+E000, a private-use character FTS5 keeps as a token but that no query can contain (queries
are split into letters and digits), so a phrase never spans two threads.

PostgreSQL (tsvector): the subject with weight A, the bodies with the default weight D, so one
GIN-indexed document answers `subject:`, `body:` and bare words. A filler lexeme between bodies,
deleted afterwards, leaves a gap in the positions for the same reason. The table derives
`subject_document` (the A part) itself, a generated column with its own GIN index, because a
GIN index keeps no weights (`tidings.search.compile._PgQuery`): nothing here writes it. The
document also holds its conversation's state and status as one lexeme without a position
(`listing_lexeme`), read from the conversation as the document is written and kept by a trigger
when either changes (migration 0023); the A part and `ts_rank` ignore it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Collection, Iterator, Sequence
from typing import Any

from sqlalchemy import BigInteger, Connection, select, text, type_coerce

from tidings.db import deferred_indexes
from tidings.db.tables import conversations, threads
from tidings.kit.bulk import BulkWriter
from tidings.search.text import body_text, subject_text

TABLE = "conversation_search"
# SQLite: every word FTS5 has indexed, so that a prefix can be read as its words (migration 0024).
WORDS_TABLE = "search_words"
SQLITE_TOKENIZE = "unicode61 remove_diacritics 2"
KEY_SHIFT = 2147483648  # 2^31: ids are below it (MAX_ID)
ID_MASK = KEY_SHIFT - 1
THREAD_BREAK = "\ue000"
FTS5_DEFAULT_AUTOMERGE = 4

SQLITE_KEY = f"c.created_at * {KEY_SHIFT} + c.id"
REFRESH_CHUNK = 2000
_CHUNK_IDS = "(SELECT value FROM json_each(:ids))"


def refresh(conn: Connection, conversation_ids: Collection[int]) -> None:
    """Rewrite the search documents of these conversations from their current subject and threads."""
    ids = sorted(set(conversation_ids))
    for start in range(0, len(ids), REFRESH_CHUNK):
        chunk = ids[start : start + REFRESH_CHUNK]
        documents = documents_of(conn, chunk)
        if conn.dialect.name == "sqlite":
            keys = f"SELECT {SQLITE_KEY} FROM conversations c WHERE c.id IN {_CHUNK_IDS}"
            conn.execute(text(f"DELETE FROM {TABLE} WHERE rowid IN ({keys})"), {"ids": _json(chunk)})
            insert_documents(conn, documents)
        else:
            insert_documents(conn, documents, replace=True)


def write_all_documents(conn: Connection) -> int:
    """The document of every conversation, in chunks, into an emptied table (a migration that
    changes how text is indexed empties it and sets its indexes aside first)."""
    done, last_id = 0, 0
    while True:
        ids = list(
            conn.execute(
                select(conversations.c.id)
                .where(conversations.c.id > last_id)
                .order_by(conversations.c.id)
                .limit(REFRESH_CHUNK)
            ).scalars()
        )
        if not ids:
            return done
        insert_documents(conn, documents_of(conn, ids))
        done, last_id = done + len(ids), ids[-1]


def documents_of(conn: Connection, conversation_ids: Sequence[int]) -> list[Document]:
    """The documents of these conversations (those that exist), read from the tables."""
    c, t = conversations, threads
    heads = conn.execute(
        select(c.c.id, type_coerce(c.c.created_at, BigInteger), c.c.subject).where(
            c.c.id.in_(conversation_ids)
        )
    ).all()
    bodies: dict[int, list[str | None]] = {}
    rows = conn.execute(
        select(t.c.conversation_id, t.c.body)
        .where(t.c.conversation_id.in_(conversation_ids))
        .order_by(t.c.conversation_id, t.c.id)
    )
    for conversation_id, body in rows:
        bodies.setdefault(conversation_id, []).append(body)
    return [(row[0], int(row[1]), row[2], bodies.get(row[0], [])) for row in heads]


# (conversation id, createdAt in epoch seconds, subject, thread bodies in thread id order)
Document = tuple[int, int, str | None, Sequence[str | None]]

_SQLITE_BREAK = f" {THREAD_BREAK} "
_POSTGRESQL_BREAK = " tidingsthreadbreak "
# Its conversation's state and status, as one lexeme no text can hold (migration 0023).
_LISTING_LEXEME_SQL = "'tidings:' || c.state || ':' || c.status"
_INSERT_POSTGRESQL = f"""INSERT INTO conversation_search (conversation_id, document)
SELECT d.id,
    setweight(to_tsvector('simple', coalesce(d.subject, '')), 'A')
    || coalesce(ts_delete(to_tsvector('simple', d.bodies), 'tidingsthreadbreak'::text), ''::tsvector)
    || array_to_tsvector(ARRAY[{_LISTING_LEXEME_SQL}])
FROM unnest(%s::bigint[], %s::text[], %s::text[]) AS d(id, subject, bodies)
JOIN conversations c ON c.id = d.id"""
# Concurrent refreshes of one conversation: a delete then insert could collide on the key.
_REPLACE_POSTGRESQL = " ON CONFLICT (conversation_id) DO UPDATE SET document = EXCLUDED.document"


def listing_lexeme(state: str, status: str) -> str:
    """PostgreSQL: the lexeme a document holds for its conversation's state and status.

    The GIN index then finds a text's matches among a list's statuses itself (`'espresso' &
    'tidings:published:active'`) instead of every match's row being read to be joined with
    `conversations` (see migration 0023). The parser splits words at `:`, so no text holds it."""
    return f"tidings:{state}:{status}"


def insert_documents(conn: Connection, documents: Sequence[Document], *, replace: bool = False) -> None:
    """Write documents from rows in memory: the bulk loader's (it need not read back the threads
    it wrote) and `refresh`'s. `replace` (PostgreSQL): overwrite a conversation's document."""
    if not documents:
        return
    if conn.dialect.name == "sqlite":
        rows = [_sqlite_row(d) for d in documents]
        BulkWriter(conn).insert(TABLE, ("rowid", "subject", "body"), rows)
        _record_words(conn, rows)
        return
    raw: Any = conn.connection.dbapi_connection
    with raw.cursor() as cursor:
        cursor.execute(
            _INSERT_POSTGRESQL + (_REPLACE_POSTGRESQL if replace else ""),
            (
                [document[0] for document in documents],
                [_subject(document[2]) for document in documents],
                [_postgresql_bodies(document[3]) for document in documents],
            ),
        )


# A contentless FTS5 table of this connection's own, emptied after each use: FTS5 splits the
# new documents into words there exactly as it does for the index, and its vocabulary lists them.
_SCRATCH = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch USING fts5(subject, body, "
    f"tokenize='{SQLITE_TOKENIZE}', detail=none, content='')",
    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_scratch_words "
    "USING fts5vocab(temp, search_scratch, 'row')",
)
_WORDS_KEPT = f"SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{WORDS_TABLE}'"


def _record_words(conn: Connection, rows: Sequence[tuple[int, str | None, str | None]]) -> None:
    """SQLite: add the words of these documents to `search_words`, and the documents to each
    word's count (0025), in the writer's transaction.

    FTS5 reads a prefix (`ship*`) by merging the entries of every word it starts, all of them
    before the first match (`order*` at 1M conversations: 397k matches, 62 ms for a page);
    the same words ORed stream in key order (0.1 ms). FTS5's own vocabulary table counts each
    word's entries to list it (415 ms for the words of `re`), so the words are kept here as
    they are indexed: +0.03 ms a document in a batch of 2,000, +0.25 ms for one alone. A word
    is never removed (a word no document holds any more matches nothing), and a count never
    falls: a document written again (each change of its conversation) counts again, so a count
    is at most the documents ever written with the word, which is all the choice between the
    words and FTS5's own prefix needs (`compile._prefix_words`). Before migration
    0024 (a migration that rewrites documents) there is no table yet: 0024 reads the words of
    the whole index."""
    if conn.exec_driver_sql(_WORDS_KEPT).first() is None:
        return
    for statement in _SCRATCH:
        conn.exec_driver_sql(statement)
    BulkWriter(conn).insert("temp.search_scratch", ("subject", "body"), [row[1:] for row in rows])
    conn.exec_driver_sql(
        f"INSERT INTO {WORDS_TABLE} (word, documents) SELECT term, doc FROM temp.search_scratch_words "
        "WHERE true ON CONFLICT (word) DO UPDATE SET documents = documents + excluded.documents"
    )
    conn.exec_driver_sql("INSERT INTO temp.search_scratch (search_scratch) VALUES ('delete-all')")


@contextlib.contextmanager
def bulk_loading(conn: Connection) -> Iterator[None]:
    """SQLite: no incremental merging of the FTS5 index during a fresh load, one full merge after.

    FTS5 writes each transaction's documents as a new segment and by default merges segments as
    they pile up (`automerge` 4), which re-reads the growing index again and again; with it off
    the load leaves many segments, which `optimize` merges into one at the end, the layout
    queries read fastest. PostgreSQL needs nothing here: its GIN index is a deferred index
    (`tidings.db.deferred_indexes`).
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    # Recorded where the dropped indexes are, so a load killed half-way is finished by the next
    # start (`deferred_indexes.restore`) instead of leaving the index without merging.
    undo = {
        f"{TABLE} automerge": _fts_command("automerge", FTS5_DEFAULT_AUTOMERGE),
        f"{TABLE} optimize": _fts_command("optimize"),
    }
    with conn.begin():
        for name, statement in undo.items():
            deferred_indexes.record(conn, name, TABLE, statement)
        conn.exec_driver_sql(_fts_command("automerge", 0))
    try:
        yield
    finally:
        if conn.in_transaction():
            conn.rollback()
        deferred_indexes.restore(conn, undo)


def _fts_command(command: str, value: int | None = None) -> str:
    if value is None:
        return f"INSERT INTO {TABLE} ({TABLE}) VALUES ('{command}')"
    return f"INSERT INTO {TABLE} ({TABLE}, rank) VALUES ('{command}', {value})"


def _subject(subject: str | None) -> str | None:
    return subject_text(subject) if subject is not None else None


def _sqlite_row(document: Document) -> tuple[int, str | None, str | None]:
    """NULL bodies are left out; no body at all is a NULL column."""
    conversation_id, created_at, subject, bodies = document
    present = [body_text(body) for body in bodies if body is not None]
    return (
        created_at * KEY_SHIFT + conversation_id,
        _subject(subject),
        _SQLITE_BREAK.join(present) if present else None,
    )


def _postgresql_bodies(bodies: Sequence[str | None]) -> str | None:
    """Every thread after a break, a NULL body as empty text; NULL when there is no thread."""
    if not bodies:
        return None
    return " ".join(_POSTGRESQL_BREAK + (body_text(body) if body else "") for body in bodies)


def _json(ids: list[int]) -> str:
    return "[" + ",".join(str(i) for i in ids) + "]"
