"""Text terms mean the same on both databases, and what the README says they mean.

Random boolean queries of `subject:`, `body:` and bare terms over a small vocabulary run on
SQLite (FTS5, a column per field) and PostgreSQL (one weighted tsvector, plus the subject's own
tsvector that decides subject words alone: `_PgQuery`), and are checked against a model in
Python: `subject:` needs every word in the subject, `body:` the words in a row in one thread,
a bare value either; `w*` is a prefix.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from tests.search.conftest import SearchDb
from tidings.db.tables import conversations

WORDS = ("kiwi", "lime", "fig", "plum")
FIRST_ID = 900_001

# Subjects and thread bodies that put each word in subjects only, bodies only, both, next to
# each other in one thread or split across two.
DOCUMENTS: list[tuple[str, list[str]]] = [
    ("kiwi lime", ["nothing here"]),
    ("kiwi", ["lime fig"]),
    ("fig plum", ["kiwi"]),
    ("plum", ["lime", "fig kiwi"]),
    ("lime kiwi fig", ["plum plum"]),
    ("nothing", ["kiwi lime fig plum"]),
    ("figs", ["limes and kiwis"]),
    ("", ["fig", "lime"]),
    ("plum lime", []),
    ("kiwi kiwi", ["kiwi fig lime"]),
]

Model = Callable[[str, list[list[str]]], bool]


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


@dataclass(frozen=True)
class Term:
    field: str  # subject | body | "" (bare)
    words: tuple[str, ...]
    prefix: bool

    def query(self) -> str:
        value = " ".join(self.words) + ("*" if self.prefix else "")
        quoted = f'"{value}"' if len(self.words) > 1 else value
        return f"{self.field}:{quoted}" if self.field else quoted

    def in_subject(self, subject: list[str]) -> bool:
        return all(self._has(subject, word, last) for word, last in self._marked())

    def in_body(self, bodies: list[list[str]]) -> bool:
        size = len(self.words)
        for body in bodies:
            for start in range(len(body) - size + 1):
                window = body[start : start + size]
                if all(
                    self._same(found, word, last)
                    for found, (word, last) in zip(window, self._marked(), strict=True)
                ):
                    return True
        return False

    def matches(self, subject: list[str], bodies: list[list[str]]) -> bool:
        if self.field == "subject":
            return self.in_subject(subject)
        if self.field == "body":
            return self.in_body(bodies)
        return self.in_subject(subject) or self.in_body(bodies)

    def _marked(self) -> list[tuple[str, bool]]:
        return [(word, index == len(self.words) - 1) for index, word in enumerate(self.words)]

    def _same(self, found: str, word: str, last: bool) -> bool:
        return found.startswith(word) if (self.prefix and last) else found == word

    def _has(self, tokens: list[str], word: str, last: bool) -> bool:
        return any(self._same(found, word, last) for found in tokens)


_TERMS = st.builds(
    Term,
    field=st.sampled_from(["subject", "body", ""]),
    words=st.lists(st.sampled_from(WORDS), min_size=1, max_size=2).map(tuple),
    prefix=st.booleans(),
)


@st.composite
def _expressions(draw: st.DrawFn, depth: int = 0) -> tuple[str, Callable[[list[str], list[list[str]]], bool]]:
    """A query string and its meaning; NOT only beside a positive operand, as in real queries."""
    if depth >= 2 or draw(st.booleans()):
        term = draw(_TERMS)
        return term.query(), term.matches
    left_text, left = draw(_expressions(depth + 1))
    right_text, right = draw(_expressions(depth + 1))
    operator = draw(st.sampled_from(["AND", "OR", "AND NOT"]))
    text = f"({left_text} {operator} {right_text})"
    if operator == "AND":
        return text, lambda s, b: left(s, b) and right(s, b)
    if operator == "OR":
        return text, lambda s, b: left(s, b) or right(s, b)
    return text, lambda s, b: left(s, b) and not right(s, b)


@pytest.fixture
def both(sqlite_db: SearchDb, postgres_db: SearchDb) -> tuple[SearchDb, SearchDb]:
    for db in (sqlite_db, postgres_db):
        for number, (subject, bodies) in zip(itertools.count(FIRST_ID), DOCUMENTS):
            db.add(subject, bodies=bodies, conversation_id=number)
    return sqlite_db, postgres_db


def _expected(meaning: Callable[[list[str], list[list[str]]], bool]) -> set[int]:
    return {
        number
        for number, (subject, bodies) in zip(itertools.count(FIRST_ID), DOCUMENTS)
        if meaning(_words(subject), [_words(body) for body in bodies])
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expression=_expressions())
def test_text_queries_mean_the_same_on_both_databases(
    both: tuple[SearchDb, SearchDb], expression: tuple[str, Callable[[list[str], list[list[str]]], bool]]
) -> None:
    query, meaning = expression
    ours = set(range(FIRST_ID, FIRST_ID + len(DOCUMENTS)))
    expected = _expected(meaning)
    for db in both:
        assert db.ids(query) & ours == expected, (db.dialect, query)
        assert _through_the_driver(db, query) & ours == expected, (db.dialect, query)


def _through_the_driver(db: SearchDb, query: str) -> set[int]:
    """The ids listing finds from the query's text driver (its text terms as one full-text
    query) and the rest of the query; the whole condition when there is no driver."""
    driver = db.compiled(query).driver
    if driver is None:
        return db.ids(query)
    statement = select(conversations.c.id).where(conversations.c.id.in_(driver.ids()), driver.rest)
    return set(db.conn.execute(statement).scalars())


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("subject:kiwi", {0, 1, 4, 9}),
        ("subject:kiwi AND body:lime", {1, 9}),  # 0 and 4 have lime in their subject only
        ("subject:lime OR body:plum", {0, 4, 5, 8}),
        ('subject:"lime kiwi"', {0, 4}),
        ("subject:fig*", {2, 4, 6}),
        ("kiwi AND NOT subject:kiwi", {2, 3, 5}),
    ],
)
def test_examples(both: tuple[SearchDb, SearchDb], query: str, expected: set[int]) -> None:
    """A few of the generated cases written out, so a failure reads plainly."""
    ours = set(range(FIRST_ID, FIRST_ID + len(DOCUMENTS)))
    for db in both:
        assert {i - FIRST_ID for i in db.ids(query) & ours} == expected, (db.dialect, query)
