"""Migration 0024 lists every word the SQLite search index already holds (`search_words`), so a
database upgraded with its documents in place walks their prefixes by their words at once;
its downgrade drops the table, and documents written without it are listed by the next upgrade.
Migration 0025 counts each word's documents from the index. PostgreSQL's index needs no such
table."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from tests.db.test_migration_0012_reverts import _downgrade_to
from tidings.db.migrate import upgrade
from tidings.demo.generator import generate
from tidings.search import index as search_index

NOW = datetime(2026, 11, 22, tzinfo=UTC)
INDEX_WORDS = "CREATE VIRTUAL TABLE temp.index_words USING fts5vocab(main, conversation_search, 'row')"


def _has_words_table(engine: Engine) -> bool:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            query = "SELECT count(*) FROM sqlite_master WHERE name = 'search_words'"
        else:
            query = "SELECT count(*) FROM pg_tables WHERE tablename = 'search_words'"
        return bool(conn.exec_driver_sql(query).scalar_one())


def _words_and_index_words(engine: Engine) -> tuple[set[str], set[str]]:
    with engine.connect() as conn:
        conn.exec_driver_sql(INDEX_WORDS)
        indexed = set(conn.exec_driver_sql("SELECT term FROM temp.index_words").scalars())
        conn.exec_driver_sql("DROP TABLE temp.index_words")
        kept = set(conn.exec_driver_sql("SELECT word FROM search_words").scalars())
    return kept, indexed


def test_0024_lists_the_words_of_documents_written_before_it(engine: Engine, dialect: str) -> None:
    upgrade(engine)
    if dialect == "postgresql":
        assert not _has_words_table(engine)
        return
    generate(engine, conversations=20, seed=5, now=NOW, batch_size=10)
    kept, indexed = _words_and_index_words(engine)
    assert kept == indexed and len(indexed) > 100  # kept as the demo's documents were written
    _downgrade_to(engine, "0023")
    assert not _has_words_table(engine)
    with engine.begin() as conn:
        documents = search_index.documents_of(conn, [1, 2])
        conn.exec_driver_sql(
            "DELETE FROM conversation_search WHERE rowid & ? IN (1, 2)", (search_index.ID_MASK,)
        )
        search_index.insert_documents(conn, [(d[0], d[1], f"Wordsworthian {d[2]}", d[3]) for d in documents])
    upgrade(engine)
    kept, indexed = _words_and_index_words(engine)
    assert "wordsworthian" in indexed
    assert kept == indexed


def _counts_and_index_counts(engine: Engine) -> tuple[dict[str, int], dict[str, int]]:
    with engine.connect() as conn:
        conn.exec_driver_sql(INDEX_WORDS)
        indexed = {term: doc for term, doc in conn.exec_driver_sql("SELECT term, doc FROM temp.index_words")}
        conn.exec_driver_sql("DROP TABLE temp.index_words")
        kept = {word: n for word, n in conn.exec_driver_sql("SELECT word, documents FROM search_words")}
    return kept, indexed


def _has_counts(engine: Engine) -> bool:
    with engine.connect() as conn:
        columns = conn.exec_driver_sql("SELECT name FROM pragma_table_info('search_words')").scalars()
        return "documents" in set(columns)


def test_0025_counts_the_documents_that_hold_each_word(engine: Engine, dialect: str) -> None:
    """The counts equal FTS5's own after the demo's writes, after a downgrade drops them and
    after the upgrade that counts them again from the index."""
    upgrade(engine)
    if dialect == "postgresql":
        assert not _has_words_table(engine)
        return
    generate(engine, conversations=20, seed=7, now=NOW, batch_size=10)
    kept, indexed = _counts_and_index_counts(engine)
    assert kept == indexed and max(indexed.values()) > 1
    _downgrade_to(engine, "0024")
    assert _has_words_table(engine) and not _has_counts(engine)
    upgrade(engine)
    assert _counts_and_index_counts(engine) == (indexed, indexed)
