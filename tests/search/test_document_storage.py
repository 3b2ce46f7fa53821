"""PostgreSQL keeps a search document compressed in its row (migration 0014): checking one
document must not go through the TOAST table, which cost a rare word's page half its time."""

from __future__ import annotations

import random
import string

from tests.search.conftest import SearchDb


def _toast_chunks(db: SearchDb) -> int:
    toast = db.conn.exec_driver_sql(
        "SELECT reltoastrelid::regclass::text FROM pg_class WHERE relname = 'conversation_search'"
    ).scalar_one()
    return int(db.conn.exec_driver_sql(f"SELECT count(*) FROM {toast}").scalar_one())


def test_a_document_larger_than_the_toast_threshold_stays_in_its_row(postgres_db: SearchDb) -> None:
    db = postgres_db
    rng = random.Random(5)
    words = ["".join(rng.choices(string.ascii_lowercase, k=9)) for _ in range(250)]
    before = _toast_chunks(db)
    conversation_id = db.add("A long one", bodies=[" ".join(words)])
    size = db.conn.exec_driver_sql(
        "SELECT pg_column_size(document) FROM conversation_search WHERE conversation_id = %s",
        (conversation_id,),
    ).scalar_one()
    # Above ~2 KB PostgreSQL's default moves a value out of the row.
    assert size > 2100
    assert _toast_chunks(db) == before
    assert db.ids(words[125]) & {conversation_id} == {conversation_id}
