"""SQLite reads a prefix as the words of the index that start with it (`search_words`, migration
0024), kept as documents are written: a walk in key order finds exactly what FTS5's own prefix
finds, and the words are read when the statement runs, so a word written later is found too.
Each word's documents are counted as they are written (0025), and a prefix whose words hold
few documents each keeps FTS5's own prefix; these tests' few documents would never be read as
words, so the least count is lowered to none except where that choice is the test."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from tests.search.conftest import SearchDb, _rolled_back
from tidings.search import compile as search_compile
from tidings.search import index as search_index


@pytest.fixture(autouse=True)
def words_for_any_count(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search_compile, "PREFIX_DOCUMENTS_PER_WORD", 0)


def _fts5_own(db: SearchDb, fts_query: str) -> set[int]:
    """The conversations FTS5 itself matches for the query text (its prefixes merged)."""
    return set(
        db.conn.exec_driver_sql(
            "SELECT rowid & ? FROM conversation_search WHERE conversation_search MATCH ?",
            (search_index.ID_MASK, fts_query),
        ).scalars()
    )


def _walked(db: SearchDb, query: str) -> tuple[set[int], str, str]:
    """What the walk in key order finds for `query`, the driver's FTS5 text, and that text
    as the statement reads it (each prefix as its words)."""
    driver = db.compiled(query).driver
    assert driver is not None and driver.prefixed, query
    walk = driver.ordered()
    assert walk is not None
    found = {row[0] for row in db.conn.execute(walk)}
    return found, driver.query, search_compile.expanded_text(db.conn, driver.query)


def _words(db: SearchDb, low: str, high: str) -> list[str]:
    return list(
        db.conn.exec_driver_sql(
            "SELECT word FROM search_words WHERE word >= ? AND word < ? ORDER BY word", (low, high)
        ).scalars()
    )


_SHIP_WORDS = ("ship", ["shipment", "shipped", "shipping", "shipwreck"])


@pytest.mark.parametrize(
    ("query", "expected", "words"),
    [
        ("ship*", ["shipped", "shipping", "subject", "order subject"], _SHIP_WORDS),
        ("cafe*", ["cafe", "cafeteria"], ("cafe", ["cafe", "cafes", "cafeteria"])),
        ("café*", ["cafe", "cafeteria"], ("cafe", ["cafe", "cafes", "cafeteria"])),
        ("body:tracking-num*", ["tracking"], ("num", ["number", "numbers"])),
        ("subject:order-sh*", ["order subject"], _SHIP_WORDS),
        ("ord* AND ship*", ["order subject"], ("ord", ["order"])),
        ("straß*", ["strasse"], ("straß", ["straße"])),
        ("日本*", ["japanese"], ("日本", ["日本語のメール"])),
    ],
)
def test_a_prefix_walked_through_its_words_finds_what_fts5_finds(
    sqlite_db: SearchDb, query: str, expected: list[str], words: tuple[str, list[str]]
) -> None:
    db = sqlite_db
    made = {
        "shipped": db.add("Parcel", bodies=["It shipped today"]),
        "shipping": db.add("Cost", bodies=["SHIPPING costs", "and a SHIPMENT"]),
        "subject": db.add("Shipwreck", bodies=["nothing else"]),
        "worship": db.add("Temple", bodies=["worship and hardship"]),
        "cafe": db.add("Cafés", bodies=["near the CAFÉ"]),
        "cafeteria": db.add("Lunch", bodies=["the cafeteria"]),
        "tracking": db.add("Where", bodies=["my tracking number 5", "tracking numbers"]),
        "tracking apart": db.add("Where", bodies=["number tracking", "tracking nu"]),
        "order subject": db.add("Order shipped", bodies=["thanks"]),
        "strasse": db.add("Adresse", bodies=["Straße des Hafens 5"]),
        "japanese": db.add("言語", bodies=["日本語のメール"]),
    }
    found, own_text, read_as = _walked(db, query)
    assert found == _fts5_own(db, own_text) == {made[name] for name in expected}
    assert " *" not in read_as and " *" in own_text  # the words were read, not FTS5's prefix
    stem, stem_words = words
    low, high = search_compile.prefix_bounds(stem)
    assert high is not None
    assert _words(db, low, high) == stem_words


def test_a_prefix_no_word_starts_keeps_fts5s_own(sqlite_db: SearchDb) -> None:
    sqlite_db.add("Hello", bodies=["nothing to see"])
    found, own_text, read_as = _walked(sqlite_db, "qqzx*")
    assert found == set()
    assert read_as == own_text


def test_a_prefix_of_more_words_than_the_cap_keeps_fts5s_own(
    sqlite_db: SearchDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = [sqlite_db.add("Blue", bodies=[f"the {word} here"]) for word in ("zoa", "zob", "zoc")]
    monkeypatch.setattr(search_compile, "PREFIX_WORDS_CAP", 2)
    found, own_text, read_as = _walked(sqlite_db, "zo*")
    assert read_as == own_text
    assert found == set(made)
    monkeypatch.setattr(search_compile, "PREFIX_WORDS_CAP", 3)
    found, own_text, read_as = _walked(sqlite_db, "zo*")
    assert read_as != own_text
    assert found == set(made)


def test_a_prefix_whose_words_hold_few_documents_each_keeps_fts5s_own(
    sqlite_db: SearchDb, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`zo*` is read as its words only once they hold more than `PREFIX_DOCUMENTS_PER_WORD`
    documents each on average (FTS5 merges few entries faster than an OR tests many words)."""
    monkeypatch.setattr(search_compile, "PREFIX_DOCUMENTS_PER_WORD", 2)
    made = [sqlite_db.add("Blue", bodies=[f"the {word} here"]) for word in ("zoa", "zob", "zoa")]
    found, own_text, read_as = _walked(sqlite_db, "zo*")
    assert read_as == own_text  # 3 documents for 2 words: 1.5 each
    assert found == set(made)
    made += [sqlite_db.add("Green", bodies=["zob and zoa"]) for _ in range(2)]
    found, own_text, read_as = _walked(sqlite_db, "zo*")
    assert '("zoa" OR "zob")' in read_as and " *" not in read_as  # 4 + 3 documents: 3.5 a word
    assert found == set(made)


def _pairs(db: SearchDb, query: str) -> dict[str, int]:
    return {word: count for word, count in db.conn.exec_driver_sql(query)}


def test_each_words_documents_are_counted_as_they_are_written(sqlite_db: SearchDb) -> None:
    """The counts equal FTS5's own (its vocabulary's `doc`) as documents are added, and a
    document written again counts again: a count is at most the writes of documents with it."""
    db = sqlite_db
    first = db.add("Kumquat crate", bodies=["kumquat jam", "a KUMQUAT tart"])
    db.add("Kumquats", bodies=["kumquat and loquat"])
    db.add("Loquat", bodies=["just loquat"])
    db.conn.exec_driver_sql(
        "CREATE VIRTUAL TABLE temp.counted USING fts5vocab(main, conversation_search, 'row')"
    )
    words = "('kumquat', 'kumquats', 'loquat')"
    fts5_counts = _pairs(db, f"SELECT term, doc FROM temp.counted WHERE term IN {words}")
    kept = f"SELECT word, documents FROM search_words WHERE word IN {words}"
    assert _pairs(db, kept) == fts5_counts == {"kumquat": 2, "kumquats": 1, "loquat": 2}
    search_index.refresh(db.conn, [first])
    assert _pairs(db, kept) == {"kumquat": 3, "kumquats": 1, "loquat": 2}
    db.conn.exec_driver_sql("DROP TABLE temp.counted")


def test_words_are_kept_as_documents_are_written_and_read_when_the_walk_runs(sqlite_db: SearchDb) -> None:
    db = sqlite_db
    first = db.add("Quodlibet", bodies=["a zymurgy question"])
    assert _words(db, "quod", "quoe") == ["quodlibet"]
    assert _words(db, "zymu", "zymv") == ["zymurgy"]
    driver = db.compiled("zymu*").driver
    assert driver is not None
    walk = driver.ordered()
    assert walk is not None
    assert {row[0] for row in db.conn.execute(walk)} == {first}
    second = db.add("Later", bodies=["zymurgical notes"])
    assert {row[0] for row in db.conn.execute(walk)} == {first, second}
    assert _words(db, "zymu", "zymv") == ["zymurgical", "zymurgy"]


_SYLLABLES = ["ka", "ki", "ko", "ra", "re", "ré", "ro", "sa", "se", "Sé", "1", "ß", "ø"]
_WORD = st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=4).map("".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    documents=st.lists(st.lists(_WORD, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=8),
    prefix=st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=2).map("".join),
    field=st.sampled_from(["", "subject:", "body:"]),
)
def test_any_prefix_walked_through_its_words_finds_what_fts5_finds(
    sqlite_search_engine: Engine, documents: list[str], prefix: str, field: str
) -> None:
    stem = search_compile.tokens(prefix)[0]
    expected: set[int] = set()
    with _rolled_back(sqlite_search_engine, "sqlite") as db:
        for number, text in enumerate(documents):
            subject, body = (text if number % 2 else "Plain"), (text if number % 3 else "plain")
            made = db.add(subject, bodies=[body])
            searched = {"subject:": [subject], "body:": [body]}.get(field, [subject, body])
            if any(word.startswith(stem) for part in searched for word in search_compile.tokens(part)):
                expected.add(made)
        found, own_text, _ = _walked(db, f"{field}{stem}*")
        assert found == _fts5_own(db, own_text) == expected
