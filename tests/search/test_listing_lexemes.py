"""A text's matches among a list's states and statuses (`TextDriver.ids(listed=…)`).

PostgreSQL keeps each conversation's state and status in its search document as one lexeme
(migration 0023, `index.listing_lexeme`), written with the document and kept by a trigger when
either changes, so its index can leave out the matches of other statuses. SQLite looks each
match up in the indexes of the ids of the active and of the pending conversations (migration
0027, `compile.status_probe`) and ignores any other pairs (its caller's filters decide), as
PostgreSQL ignores them for subject words alone (their own index finds them). On both,
`listed` never leaves out a match of its pairs, whatever changed since the document was
written, and where either narrows it keeps no other.
"""

from __future__ import annotations

import pytest
from sqlalchemy import update

from tests.search.conftest import SearchDb
from tidings.db.tables import conversations
from tidings.search import index as search_index
from tidings.search import probes_statuses


def _listed_ids(db: SearchDb, query: str, listed: list[tuple[str, str]]) -> set[int]:
    driver = db.compiled(query).driver
    assert driver is not None, query
    return set(db.conn.execute(driver.ids(listed=listed)).scalars())


def _set(db: SearchDb, conversation_id: int, **values: str) -> None:
    db.conn.execute(update(conversations).where(conversations.c.id == conversation_id).values(**values))


def _lexemes(db: SearchDb, conversation_id: int) -> list[str]:
    return list(
        db.conn.exec_driver_sql(
            "SELECT lexeme FROM conversation_search, unnest(document) "
            "WHERE conversation_id = %s AND lexeme LIKE 'tidings:%%' ORDER BY lexeme",
            (conversation_id,),
        ).scalars()
    )


@pytest.mark.parametrize(
    ("query", "narrowed"),
    [
        ("quokka", True),
        ('body:"quokka jam"', True),
        ("quokka OR wombat", True),
        ("quok*", True),
        ("quokka AND subject:wombat", True),
        ("subject:quokka", False),  # subject words alone: the subject's own index finds them
    ],
)
def test_listed_pairs_keep_exactly_their_matches_after_changes(
    db: SearchDb, query: str, narrowed: bool
) -> None:
    active = db.add("quokka", bodies=["quokka jam"])
    closed = db.add("quokka wombat", bodies=["quokka jam"], status="closed")
    pending = db.add("quokka wombat", bodies=["quokka jam and wombat"], status="pending")
    reopened = db.add("quokka wombat", bodies=["quokka jam"], status="closed")
    db.add("nothing here", bodies=["no such word"])
    _set(db, reopened, status="active")
    deleted = db.add("quokka wombat", bodies=["quokka jam"])
    _set(db, deleted, state="deleted")
    every = _listed_ids(db, query, [])
    assert every >= {closed, pending, reopened, deleted}
    pairs: dict[tuple[tuple[str, str], ...], set[int]] = {
        (("published", "active"),): {active, reopened},
        (("published", "active"), ("published", "pending")): {active, reopened, pending},
        (("published", "closed"),): {closed},
        (("deleted", "active"),): {deleted},
    }
    for listed, theirs in pairs.items():
        kept = _listed_ids(db, query, list(listed))
        # `listed` may leave out the other pairs' matches, never one of its own
        assert every & theirs <= kept <= every, listed
        if (narrowed and db.dialect == "postgresql") or (db.dialect == "sqlite" and probes_statuses(listed)):
            assert kept == every & theirs, listed
        else:
            assert kept == every, listed


def test_a_document_holds_one_lexeme_of_its_conversations_state_and_status(postgres_db: SearchDb) -> None:
    db = postgres_db
    conversation_id = db.add("Kept", bodies=["some words"])
    assert _lexemes(db, conversation_id) == ["tidings:published:active"]
    _set(db, conversation_id, status="closed")
    assert _lexemes(db, conversation_id) == ["tidings:published:closed"]
    _set(db, conversation_id, state="deleted", status="spam")
    assert _lexemes(db, conversation_id) == ["tidings:deleted:spam"]
    search_index.refresh(db.conn, [conversation_id])  # a document written again reads the row
    assert _lexemes(db, conversation_id) == ["tidings:deleted:spam"]
    _set(db, conversation_id, subject="Kept, renamed")  # neither state nor status: untouched
    assert _lexemes(db, conversation_id) == ["tidings:deleted:spam"]


def test_the_lexeme_is_no_text_and_no_part_of_the_subject(postgres_db: SearchDb) -> None:
    """No query reaches it (the parser splits at `:`), it has no position, so it is outside the
    subject's part (`subject_document`), and it leaves the relevance of a text unchanged."""
    db = postgres_db
    plain = db.add("Plain", bodies=["nothing else"])
    for query in ["tidings", "published", "active", '"tidings:published:active"', "subject:active"]:
        assert plain not in db.ids(query), query
    worded = db.add("published tidings", bodies=["an active conversation"])
    closed = db.add("published tidings", bodies=["an active conversation"], status="closed")
    assert db.ids("tidings active") & {plain, worded, closed} == {worded, closed}
    subject_part = db.conn.exec_driver_sql(
        "SELECT subject_document::text FROM conversation_search WHERE conversation_id = %s", (worded,)
    ).scalar_one()
    assert "tidings:" not in subject_part
    scores = db.scores("published OR active")
    assert scores[worded] == scores[closed] > 0
