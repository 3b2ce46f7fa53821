"""Our query AST → one SQLAlchemy condition over `conversations`, per dialect, plus a relevance score.

Shapes are chosen for speed (stack-notes §A.8, §C.3): every field is a plain column test or an
`id IN (SELECT …)` subquery, never a join that could duplicate rows or make SQLite probe its FTS
index once per conversation. Full-text parts match the one search document per conversation
(`tidings.search.index`): FTS5 `MATCH` on SQLite, the GIN-indexed `tsvector` with the `simple`
configuration on PostgreSQL. Every user value is a bound
parameter; FTS5 and tsquery strings are built from our own tokens, each one quoted.

Every leaf condition is two-valued (nullable columns are guarded with `IS NOT NULL`), so `NOT`
means "every other conversation", including those without an assignee or a customer.

Dates: a value denotes a period (see `datemath`), and a plain `createdAt:2000-11` matches a stored
second inside it. As a range bound a date stands for the start of its period, as behaviour.md §7
says: `[2014 TO 2014-12-01]` runs from 2014-01-01T00:00:00 up to and including the instant
2014-12-01T00:00:00, and an exclusive `}` leaves that instant out. Stored values are whole epoch
seconds, so bounds with fractions compare exactly (`>= 10.5` is `>= 11`).

Text: `subject` needs all words of the value, in any order; `body` needs them as a phrase in one
thread (notes included); `word*` makes the last word a prefix. Words are runs of letters and digits,
as FTS5's unicode61 tokenizer sees them; a value without any matches nothing. On PostgreSQL the
value is also run through `plainto_tsquery` / `phraseto_tsquery`, so that addresses and URLs, which
its parser keeps whole, match as typed.
"""

from __future__ import annotations

import math
import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, Generic, NamedTuple, TypeVar

from sqlalchemy import (
    CTE,
    Boolean,
    ColumnElement,
    Connection,
    Float,
    Select,
    String,
    and_,
    any_,
    bindparam,
    case,
    cast,
    column,
    exists,
    false,
    func,
    literal,
    literal_column,
    not_,
    or_,
    select,
    table,
    true,
)
from sqlalchemy import text as sql_text
from sqlalchemy.dialects import sqlite
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.sql.elements import True_
from sqlalchemy.sql.expression import Grouping

from tidings.db.tables import (
    CONVERSATION_STATUSES,
    conversation_emails,
    conversation_tags,
    conversations,
    customer_emails,
    customers,
    mailboxes,
    tags,
    threads,
    users,
)
from tidings.kit.cache import TtlCache
from tidings.kit.prepared import Prepared
from tidings.kit.sql import SqliteIndexRange, equals_written, materialized, out_of_reach
from tidings.search import index
from tidings.search.datemath import DateMathError, Period, resolve
from tidings.search.parse import And, Node, Not, Or, QueryError, Range, Term
from tidings.search.text import fold

__all__ = [
    "DIALECTS",
    "CompiledQuery",
    "QueryValueError",
    "Sampled",
    "TextDriver",
    "bare_term_customers",
    "compile_query",
    "date_range",
    "during",
    "like_prefix",
    "names_a_customer",
    "tag_ids_by_name",
    "tag_names",
    "value_error",
]

DIALECTS = ("sqlite", "postgresql")
STATUSES = CONVERSATION_STATUSES
TYPES = ("email", "chat", "phone")
RANGE_FIELDS = ("number", "id", "createdAt", "modifiedAt")
TEXT_FIELDS = ("subject", "body", None)

_TOKEN = re.compile(r"[^\W_]+")
_INTEGER = re.compile(r"[+-]?\d{1,18}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Condition = ColumnElement[bool]
Q = TypeVar("Q")


class QueryValueError(QueryError):
    """A well-formed query with a value its field cannot take (bad number, date, status…)."""


@dataclass(frozen=True)
class TextDriver:
    """The text terms every match must satisfy, as one full-text query, and the rest of the query.

    `condition` == the text match AND `rest`, provided no customer is named by `bare_terms` (a bare
    term also matches its customers' conversations, which the text query alone does not find).
    Listing uses it to count with the index, and on SQLite to walk the index in list order.
    """

    query: Any
    rest: Condition
    bare_terms: tuple[tuple[str, bool], ...]
    text: _TextSearch[Any]
    # Some term of the text is a prefix: testing one document for it costs what the whole prefix
    # does (FTS5 reads every word of the prefix), so it is not `probe`d.
    prefixed: bool = False

    def ids(self, *, limit: int | None = None, listed: Sequence[tuple[str, str]] = ()) -> Select[Any]:
        """Ids of the conversations the text matches; with `limit`, the newest ones where the index
        keeps that order (SQLite), else any. `listed`, (state, status) pairs: the index may leave
        out matches of any other (PostgreSQL: `index.listing_lexeme`); the caller's filters still
        decide."""
        return self.text.matching_ids(self.query, limit=limit, listed=listed)

    def narrowed_to(self, listed: Sequence[tuple[str, str]]) -> bool:
        """Whether `ids(listed=listed)` holds the matches of those (state, status) pairs only."""
        return bool(listed) and self.text.narrows(self.query, listed)

    def ordered(self) -> Select[int, int] | None:
        """Columns `id` and `search_key` of the matches, to be ordered by the key ((createdAt, id)
        order), or None when the index cannot give that order."""
        return self.text.ordered_ids(self.query)

    def probe(self) -> Condition | None:
        """The text tested on each conversation's own document, looked up by the conversation
        (SQLite: its FTS5 rowid is the conversation's (createdAt, id) key); None where that is
        not the way (PostgreSQL, whose `condition` the planner reads either way) or for a prefix."""
        return None if self.prefixed else self.text.probe(self.query)

    def walks_prefixes_by_words(self, conn: Connection) -> bool:
        """SQLite: whether each prefix of the text is read as its words now (`_match_argument`:
        at most `PREFIX_WORDS_CAP` of them, holding more than `PREFIX_DOCUMENTS_PER_WORD`
        documents each), so that a walk in key order streams its matches."""
        return (
            isinstance(self.text, _SqliteText)
            and _PREFIX_PHRASE.search(expanded_text(conn, self.query)) is None
        )

    def key_bounds(self) -> Select[int, int]:
        """One row: the lowest key of any search document and the highest plus one (NULLs when
        there are none). Keys order the documents as the index stores them; see `sample`."""
        return self.text.key_bounds()

    def sample(
        self, conn: Connection, bounds: list[tuple[int, int]], limit: int, checked: int
    ) -> list[Sampled]:
        """For each key range [start, end) of `bounds`, its first `limit` matches in key order, read
        from the index in its own order without finding the other matches. Where the index cannot
        find matches by key (PostgreSQL), only the first `checked` documents of a range are
        checked, and `checked_to` is the key of the last of them (None when the range holds fewer,
        or the index finds the matches itself). One fixed statement for every range."""
        return self.text.sample(conn, self.query, bounds, limit, checked)


class JoinedScore(NamedTuple):
    """Relevance as a table: outer-join `scores` `on` each conversation, and rank by `score`."""

    scores: CTE
    on: ColumnElement[bool]
    score: ColumnElement[float]


class Sampled(NamedTuple):
    """One match of an estimate's sample: the range it was found in (its index in the bounds)."""

    range_index: int
    id: int
    key: int
    checked_to: int | None


@dataclass(frozen=True)
class IdList:
    """A conjunct of the query that is a list of ids: a bare term (its text's matches, then its
    customers' conversations), an `email:`, a `customerIds:` or a `tag:`.

    As one list of ids a short one is read first, each id looked up: as an OR of the text and
    the customers neither database could (`john`, naming 339 customers, at 1M conversations:
    SQLite walked the 58k active conversations for the count and again for the page, 2 × 91 ms,
    PostgreSQL 185 ms for the count; read first, 4 and 18 ms). A long one must not be: SQLite
    looked up each of `re*`'s 991k ids (1.4 s, against 0.9 probing the active conversations),
    PostgreSQL hashed all of `refund`'s 467k beside `john`'s (1.3 s). Which is which the
    database cannot know; the list decides (`listing._leading_list`), and each other list is
    `probed`: SQLite, `id + 0 IN (list)`, which no index serves, so each conversation is
    looked up in it; PostgreSQL, a bare term's document tested per conversation, OR its
    customers (`_bare`: a long list in an IN beside another read first, it hashed in full);
    any other list is `listed` itself there (PostgreSQL plans such an IN from statistics).
    """

    ids: Select[Any]
    # Whether `ids` may be counted to see whether it is short (not a prefix's text matches,
    # which FTS5 reads in full before the first).
    countable: bool
    listed: ColumnElement[bool]
    probed: ColumnElement[bool]
    # Short by what it is (one address's or customer's conversations): read first uncounted,
    # as they always were.
    short: bool = False
    # A `tag:` term's tag name, as the tags' names are compared with it (the kept counts count
    # each tag's conversations).
    tag: str | None = None
    # A bare term with words: `ids`' two parts, the text's matches and the conversations of the
    # customers it names, which PostgreSQL's planner estimates poorly (`listing._planned_length`).
    parts: tuple[Select[Any], Select[Any]] | None = None


# A query's first conjuncts that are lists of ids are `IdList`s, up to this many; the rest are
# compiled as any other term (a long query of bare words would otherwise count list after list).
MAX_ID_LISTS = 4


def _led_by(parts: list[ColumnElement[bool] | IdList], lead: IdList | None) -> ColumnElement[bool]:
    """The query's conjuncts ANDed, `lead` (if any) read first and every other list probed."""
    return _balanced(
        and_,
        [
            (part.listed if part is lead else part.probed) if isinstance(part, IdList) else part
            for part in parts
        ],
    )


def _probed_beside(
    children: Sequence[Node], parts: list[Condition | IdList], lead: IdList, context: _Context, dialect: str
) -> Condition | None:
    """The query with `lead` read first and each other conjunct's texts and tags tested on the
    conversation (the probing compilers: its own document, its (conversation, tag) keys)
    rather than listed whole: beside a short list, few conversations are tested. At 1M on
    SQLite, `john refund`: 205 active conversations name John, where `refund`'s 448k matches
    took 90 ms to list; `john AND (tag:vip OR tag:billing)` listed both tags' 212k
    conversations (66 ms against 10). PostgreSQL plans a text's list itself (a bare term beside
    is `IdList.probed` already) but hashes every conversation of each tag whatever it is
    ANDed with (the same query: 88–97 ms against 28–31), so there it is for a tag beside the
    lead. None where no other conjunct has what this is for, or (SQLite) a text has a prefix
    (FTS5 would merge its every word for each conversation)."""
    others = [child for child, part in zip(children, parts, strict=True) if part is not lead]
    texts = [term for child in others for term in _text_terms(child)]
    tagged = [term for child in others for term in _tag_terms(child)]
    probing: _Compiler
    if dialect == "sqlite":
        if not (texts or tagged) or any(term.prefix for term in texts):
            return None
        probing = _SqliteProbingCompiler(context)
    else:
        if not tagged:
            return None
        probing = _PostgresProbingCompiler(context)
    return _balanced(
        and_,
        [
            part.listed if part is lead else probing.compile(child, negated=False)
            for child, part in zip(children, parts, strict=True)
        ],
    )


@dataclass(frozen=True)
class CompiledQuery:
    """`condition` filters conversations; `score` ranks them, larger = more relevant.

    `score` is None, and `has_text` False, unless some subject, body or bare term is searched for
    outside a NOT: only those terms contribute to relevance. `driver` is set when text terms are
    ANDed with the rest of the query at its top level.
    """

    condition: Condition
    score: ColumnElement[float] | None
    has_text: bool
    driver: TextDriver | None = None
    # The query names NOW (date math): its matches may change with each second.
    reads_clock: bool = False
    # The text search `score` came from (None exactly when `score` is), asked again for a score
    # that needs to hold for some conversations only: SQLite then ranks only those matches, in
    # one pass over the index (see `_SqliteText._scores`), and the others score 0.
    ranking: _TextSearch[Any] | None = None
    # The fields the query names (None for bare terms): which columns its conditions compare.
    fields: frozenset[str | None] = frozenset()
    # The conjuncts of the query that are lists of ids (see `IdList`), at most `MAX_ID_LISTS`;
    # `condition` reads none of them first, `leading[i]` reads `lists[i]` first.
    lists: tuple[IdList, ...] = ()
    leading: tuple[Condition, ...] = ()
    # `leading[i]` with each other conjunct's texts (SQLite) and tags tested on the conversation
    # instead of listed whole (None where it has nothing to gain, see `_probed_beside`); for a
    # short list read first (`listing._probes_beside_the_lead`).
    leading_probed: tuple[Condition | None, ...] = ()
    # The query is `NOT term` and the term is a list of ids (or it is `attachments:false`): the
    # list's conversations are what the query leaves out (`listing._complement_total`).
    complement: IdList | None = None
    # A query with text or tags (on SQLite, with no id lists and no text prefix): `condition`
    # with each text term tested on the conversation's own document and each tag on its
    # (conversation, tag) key (SQLite: `TextDriver.probe` and an EXISTS,
    # `_SqliteProbingCompiler`; PostgreSQL: each by a scalar subquery,
    # `_PostgresProbingCompiler`), for a page that walks few conversations
    # (`listing._probing_page`); `condition` lists each text's and tag's matches whole, or lets
    # PostgreSQL hash them.
    probing: Condition | None = None
    # The query is `NOT text`, the text made of subject, body and bare terms (AND, OR), none a
    # prefix: the text as a driver, whose matches among the other filters
    # `listing._complement_total` counts, or estimates as a large text's (None for any other).
    complement_text: TextDriver | None = None
    # The query is one `createdAt:` range or date: the epoch seconds `[start, end)` its matches
    # were created in (None: unbounded), whose whole days the kept counts per day sum
    # (`conversations.created_days`).
    created: tuple[int | None, int | None] | None = None
    # The query is an OR of `tag:` terms (`tag:a OR tag:b`, `tag:(a OR b)`) and the tags' ids
    # were looked up: the ids of those that exist, whose conversations the kept counts count
    # (`listing._tag_union_total`).
    tag_union: tuple[int, ...] | None = None

    def score_of(self, ids: Select[Any]) -> ColumnElement[float] | None:
        """`score` for the conversations whose ids `ids` selects: a page that knows its matches."""
        return self.ranking.score(only=ids) if self.ranking is not None else None

    def score_joined(self) -> JoinedScore | None:
        """`score` as a table to outer-join, where the database needs it so (see
        `_TextSearch.scores_joined`); None elsewhere, and without text."""
        return self.ranking.scores_joined() if self.ranking is not None else None

    def score_among(self, among: ColumnElement[bool], *, listed: bool = False) -> ColumnElement[float] | None:
        """`score` for the conversations `among` keeps (a list's filters): their ids listed
        first with `listed`, else each match's row read."""
        return self.ranking.score(**_checked(among, listed)) if self.ranking is not None else None

    def ranked_among(self, among: ColumnElement[bool], *, listed: bool = False) -> Select[Any] | None:
        """Columns `id` and `score` of the driver's matches that `among` keeps (checked as by
        `score_among`), from one pass over the text index, when the scored text is the driver's
        (SQLite); else None."""
        if self.ranking is None or self.driver is None:
            return None
        return self.ranking.ranked(self.driver.query, **_checked(among, listed))

    def ranked_of_statuses(self, statuses: Sequence[tuple[str, str]]) -> Select[Any] | None:
        """`ranked_among` for a list filtered by these (state, status) pairs alone, each match
        looked up in its status's index of ids (`status_probe`, SQLite)."""
        if self.ranking is None or self.driver is None:
            return None
        return self.ranking.ranked(self.driver.query, listed=statuses)


def _checked(among: ColumnElement[bool], listed: bool) -> dict[str, Any]:
    """How a score's matches are checked against `among`: `only` their ids, or `probed`."""
    return {"only": select(conversations.c.id).where(among)} if listed else {"probed": among}


@dataclass
class _Context:
    """What one compilation knows beyond the query: what NOW means (noting whether the query
    read it) and, when the caller looked them up, the ids of the tags the query names."""

    value: datetime
    tags: Mapping[str, int] | None = None
    read: bool = False

    def now(self) -> datetime:
        self.read = True
        return self.value

    def tag_ids(self, terms: Sequence[Term]) -> Select[Any] | list[int]:
        """The ids of the tags `terms` name (lowercased, as `IdList.tag`): those looked up for
        the request, written into the statement, which PostgreSQL plans with each tag's own
        frequency (behind a subquery of `tags` it assumed an average tag: `espresso tag:billing`
        at 1M, where `billing` tags 179k conversations, probed each of them for the count, 463
        ms against 23); else that subquery."""
        names = _names_of(terms)
        if self.tags is None:
            return select(tags.c.id).where(tags.c.name.in_(names))
        return [self.tags[name] for name in names if name in self.tags]


# Compiling builds SQLAlchemy expressions, which took longer than running a rare word's page:
# 0.5 ms for one word, 1.3-1.7 ms for a three-part boolean query. The result depends on the
# query, the dialect, the tags' ids looked up and, for a query with dates, NOW (whole seconds),
# so it is kept and shared (the expressions are immutable once built): a query without dates for
# good, one with dates for the rest of its second.
_compiled = TtlCache[tuple[Node, str, tuple[tuple[str, int], ...] | None, datetime | None], CompiledQuery](
    max_entries=2048, seconds=math.inf
)


def compile_query(
    node: Node, *, dialect: str, now: datetime, tag_ids: Mapping[str, int] | None = None
) -> CompiledQuery:
    """Translate a parsed query for `dialect` ("sqlite" or "postgresql"); `now` is what NOW means.
    `tag_ids`: the ids of the tags the query names (`tag_names`) by name, as looked up for this
    request (see `_Context.tag_ids`; a name missing from it names no tag); without it the
    statements look them up themselves."""
    if dialect not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect!r}; expected one of {DIALECTS}")
    known = None if tag_ids is None else tuple(sorted(tag_ids.items()))
    kept = _compiled.get((node, dialect, known, None)) or _compiled.get((node, dialect, known, now))
    if kept is not None:
        return kept
    context = _Context(now, tag_ids)
    text = _text_search(dialect)
    compiler = _Compiler(text, context)
    parts: list[Condition | IdList] = []
    lists: list[IdList] = []
    children = node.children if isinstance(node, And) else [node]
    for child in children:
        found = compiler.id_list(child) if len(lists) < MAX_ID_LISTS else None
        if found is not None:
            lists.append(found)
        parts.append(found if found is not None else compiler.compile(child, negated=False))
    leading = tuple(_led_by(parts, id_list) for id_list in lists)
    leading_probed = tuple(_probed_beside(children, parts, id_list, context, dialect) for id_list in lists)
    score = text.score()
    # A compiler of its own: the term is negated here, so its text must not be ranked by.
    complement = _Compiler(_text_search(dialect), context).complement(node)
    probing = None
    if dialect == "sqlite" and not lists and _probes_well(node):
        probing = _SqliteProbingCompiler(context).compile(node, negated=False)
    elif dialect == "postgresql" and (_text_terms(node) or _tag_terms(node)):
        probing = _PostgresProbingCompiler(context).compile(node, negated=False)
    driver = _driver(node, dialect, context)
    complement_text = None
    if isinstance(node, Not):
        negated = _driver(node.child, dialect, context)
        if negated is not None and not negated.prefixed and isinstance(negated.rest, True_):
            complement_text = negated
    compiled = CompiledQuery(
        condition=_led_by(parts, None),
        score=score,
        has_text=score is not None,
        driver=driver,
        reads_clock=context.read,
        ranking=text if score is not None else None,
        fields=frozenset(_fields_of(node)),
        lists=tuple(lists),
        leading=leading,
        leading_probed=leading_probed,
        complement=complement,
        probing=probing,
        complement_text=complement_text,
        created=_created_seconds(node, now),
        tag_union=_tag_union(node, context),
    )
    _compiled.put((node, dialect, known, now if context.read else None), compiled)
    return compiled


def _tag_union(node: Node, context: _Context) -> tuple[int, ...] | None:
    """The looked-up ids of the tags of a query that is an OR of `tag:` terms only (see
    `CompiledQuery.tag_union`); None for any other query, or where no ids were looked up."""
    if not isinstance(node, Or) or context.tags is None:
        return None
    if not all(isinstance(child, Term) and child.field == "tag" for child in node.children):
        return None
    ids = context.tag_ids([child for child in node.children if isinstance(child, Term)])
    return tuple(ids) if isinstance(ids, list) else None


def _fields_of(node: Node) -> Iterator[str | None]:
    return (leaf.field for leaf in _leaves(node))


def _leaves(node: Node) -> Iterator[Term | Range]:
    """The terms and ranges of a query, under every AND, OR and NOT."""
    if isinstance(node, And | Or):
        for child in node.children:
            yield from _leaves(child)
    elif isinstance(node, Not):
        yield from _leaves(node.child)
    else:
        yield node


def _text_search(dialect: str) -> _TextSearch[Any]:
    return _SqliteText() if dialect == "sqlite" else _PostgresText()


def _driver(node: Node, dialect: str, context: _Context) -> TextDriver | None:
    """Split the top-level AND into its pure-text conjuncts (the driver) and the rest."""
    text = _text_search(dialect)
    compiler = _Compiler(text, context)
    conjuncts = node.children if isinstance(node, And) else [node]
    queries: list[Any] = []
    bare: list[tuple[str, bool]] = []
    others: list[Node] = []
    prefixed = False
    for child in conjuncts:
        found = compiler.text_query(child)
        if found is None:
            others.append(child)
        else:
            queries.append(found[0])
            bare += found[1]
            prefixed = prefixed or _has_prefix(child)
    if not queries:
        return None
    rest = _balanced(and_, [compiler.compile(child, negated=False) for child in others]) if others else true()
    return TextDriver(text.every(queries), rest, tuple(bare), text, prefixed=prefixed)


def _text_terms(node: Node) -> list[Term]:
    """The query's subject, body and bare terms that search for some word."""
    return [
        leaf
        for leaf in _leaves(node)
        if isinstance(leaf, Term) and leaf.field in TEXT_FIELDS and tokens(leaf.value)
    ]


def _tag_terms(node: Node) -> list[Term]:
    """The query's `tag:` terms."""
    return [leaf for leaf in _leaves(node) if isinstance(leaf, Term) and leaf.field == "tag"]


def tag_names(node: Node) -> list[str]:
    """The names of the tags the query's `tag:` terms name, as compared (lowercased), for the
    caller to look their ids up (`compile_query`'s `tag_ids`)."""
    return _names_of(_tag_terms(node))


def _names_of(terms: Sequence[Term]) -> list[str]:
    return sorted({term.value.lower() for term in terms})


def tag_ids_by_name(conn: Connection, names: list[str]) -> dict[str, int]:
    """The ids of the tags named (`tag=`, a query's `tag:` terms) by name, for a statement
    planned for this request only.

    PostgreSQL then plans with each tag's own frequency: behind `tag_id IN (SELECT … WHERE name
    IN …)` it assumed an average tag, and for two common tags (`tag=billing,refund&status=all`,
    255,039 matches at 1M) probed the conversations once per tagged row: 2.1 s alone over HTTP,
    against 0.5 s through the hash join it chooses with the ids written in.
    """
    if len(names) > _NAMES_PREPARED:
        rows = conn.execute(select(tags.c.name, tags.c.id).where(tags.c.name.in_(names)))
        return {name: tag_id for name, tag_id in rows}
    named = _tags_named(len(names)).rows(conn, **{f"name_{n}": name for n, name in enumerate(names)})
    return {name: tag_id for name, tag_id in named}


# Up to this many names the lookup is a statement built once per number of names
# (`kit.prepared`): through SQLAlchemy's execute it cost 1.4 ms of a request on PostgreSQL.
_NAMES_PREPARED = 8


@lru_cache(maxsize=_NAMES_PREPARED)
def _tags_named(count: int) -> Prepared:
    names = [bindparam(f"name_{n}", type_=String) for n in range(count)]
    return Prepared(select(tags.c.name, tags.c.id).where(tags.c.name.in_(names)))


def _probes_well(node: Node) -> bool:
    """SQLite: whether the query has a text or a tag term and no text term is a prefix (FTS5
    would read a prefix's every word for each conversation)."""
    text = _text_terms(node)
    return bool(text or _tag_terms(node)) and not any(term.prefix for term in text)


def _has_prefix(node: Node) -> bool:
    """Whether a term of a text node (terms, AND and OR) is a prefix."""
    return any(isinstance(leaf, Term) and leaf.prefix for leaf in _leaves(node))


def tokens(value: str) -> list[str]:
    """Words as FTS5's unicode61 tokenizer splits them: runs of letters and digits, lower-cased,
    folded as the documents are (`tidings.search.text`)."""
    return _TOKEN.findall(fold(unicodedata.normalize("NFC", value)).lower())


class _TextSearch(ABC, Generic[Q]):
    """Full-text conditions and scoring for one dialect; `Q` is the query form it matches with.

    It remembers the queries of positive text terms (not under NOT) to rank conversations by.
    """

    def __init__(self) -> None:
        self.scored_queries: list[Q] = []

    def subject_query(self, value: str, words: list[str], prefix: bool) -> Q:
        return self.all_words(value, words, prefix)

    def body_query(self, value: str, words: list[str], prefix: bool) -> Q:
        return self.phrase(value, words, prefix)

    def anywhere_query(self, value: str, words: list[str], prefix: bool) -> Q:
        """The subject holds every word, or some body holds them in a row (a bare value)."""
        return self.either([self.subject_query(value, words, prefix), self.body_query(value, words, prefix)])

    def condition(self, query: Q, *, scored: bool) -> Condition:
        """The conversation's document matches `query`; remembered for ranking when `scored`."""
        if scored:
            self.scored_queries.append(query)
        return self.matched(query)

    def matched(self, query: Q) -> Condition:
        return conversations.c.id.in_(self.matching_ids(query))

    def matches_and(self, query: Q, ids: Select[Any]) -> Select[Any]:
        """Ids of the conversations whose document matches `query` (remembered for ranking),
        and `ids` after them (UNION ALL: the result is tested with IN)."""
        self.scored_queries.append(query)
        return self.matching_ids(query).union_all(ids)  # type: ignore[return-value]

    @abstractmethod
    def all_words(self, value: str, words: list[str], prefix: bool) -> Q:
        """The subject holds every word (the last one as a prefix when `prefix`)."""

    @abstractmethod
    def phrase(self, value: str, words: list[str], prefix: bool) -> Q:
        """Some thread body holds the words in a row."""

    @abstractmethod
    def either(self, queries: list[Q]) -> Q: ...

    @abstractmethod
    def every(self, queries: list[Q]) -> Q: ...

    @abstractmethod
    def matching_ids(
        self, query: Q, *, limit: int | None = None, listed: Sequence[tuple[str, str]] = ()
    ) -> Select[Any]:
        """Ids of the conversations whose document matches (newest first where the index allows);
        see `TextDriver.ids` for `listed`."""

    @abstractmethod
    def score(
        self, *, only: Select[Any] | None = None, probed: ColumnElement[bool] | None = None
    ) -> ColumnElement[float] | None:
        """Relevance of each conversation to the scored queries; with `only` (a select of
        conversation ids) or `probed` (a condition), it needs to hold only for those."""

    def ranked(
        self,
        matching: Q,
        *,
        only: Select[Any] | None = None,
        probed: ColumnElement[bool] | None = None,
        listed: Sequence[tuple[str, str]] = (),
    ) -> Select[Any] | None:
        """The conversations whose document matches `matching` (among those `only` or `probed`
        keeps, see `score`, or of the (state, status) pairs `listed`, see `status_probe`), with
        their score, where one pass over the index gives both; None where it cannot."""
        return None

    def ordered_ids(self, query: Q) -> Select[int, int] | None:
        """Matches with their (createdAt, id) key straight from the index, or None if it cannot."""
        return None

    @abstractmethod
    def narrows(self, query: Q, listed: Sequence[tuple[str, str]]) -> bool:
        """Whether `matching_ids(query, listed=listed)` leaves out the matches of other statuses."""

    def probe(self, query: Q) -> Condition | None:
        """The conversation's own document matches `query`, looked up per conversation, where
        the index can find one conversation's document (see `TextDriver.probe`)."""
        return None

    def scores_joined(self) -> JoinedScore | None:
        """`score` as a table to outer-join on each conversation's key, where a lookup per row
        would read the scores whole each time (SQLite); None where `score` is the way."""
        return None

    @abstractmethod
    def key_bounds(self) -> Select[int, int]: ...

    @abstractmethod
    def sample(
        self, conn: Connection, query: Q, bounds: list[tuple[int, int]], limit: int, checked: int
    ) -> list[Sampled]: ...


_SEARCH = table("conversation_search", column("rowid"))
_SEARCH_ROWID: ColumnElement[int] = literal_column("conversation_search.rowid")
_SEARCH_ID: ColumnElement[int] = _SEARCH_ROWID.op("&")(literal_column(str(index.ID_MASK)))
_SEARCH_KEY: ColumnElement[int] = conversations.c.created_at * index.KEY_SHIFT + conversations.c.id


# SQLite's partial indexes of the ids of the conversations of one status (migration 0027), for
# checking a text's matches against a list's statuses (`status_probe`).
STATUS_ID_INDEXES = {"active": "ix_conversations_active_ids", "pending": "ix_conversations_pending_ids"}
STATUS_ID_STATE = "published"


_STATUS_ID_INDEXES_MADE = sql_text(
    "SELECT name FROM sqlite_master WHERE type = 'index' AND name IN ("
    + ", ".join(f"'{name}'" for name in STATUS_ID_INDEXES.values())
    + ")"
)


def status_indexes_exist(conn: Connection) -> bool:
    """SQLite: whether the indexes of the ids of a status are there to be named (a bulk load
    into empty tables drops every secondary index until its end, `db.deferred_indexes`)."""
    return len(conn.execute(_STATUS_ID_INDEXES_MADE).all()) == len(STATUS_ID_INDEXES)


def probes_statuses(listed: Sequence[tuple[str, str]]) -> bool:
    """Whether `status_probe` can check matches against these (state, status) pairs."""
    return bool(listed) and all(
        state == STATUS_ID_STATE and status in STATUS_ID_INDEXES for state, status in listed
    )


def status_probe(
    listed: Sequence[tuple[str, str]], of: ColumnElement[int] | None = None
) -> ColumnElement[bool]:
    """SQLite: the conversation `of` names (by default the search row's) is of one of the
    (state, status) pairs `listed`, looked up in its status's partial index of ids: a small
    B-tree that stays in the page cache (~0.35 µs a match at 1M conversations, against ~1.2 for
    the table's row, and ~15 ms to list the 58k active conversations' ids first). Written as
    SQL text: SQLite's planner takes the table's primary key for `id = …` unless told (INDEXED
    BY), which SQLAlchemy's SQLite dialect does not write; the predicate is written out as the
    index's is, as SQLite requires. `of` holds no bound value."""
    assert probes_statuses(listed), "a status with an index of its ids"
    named = str((_SEARCH_ID if of is None else of).compile(dialect=sqlite.dialect()))
    return or_(
        *(
            sql_text(
                f"EXISTS (SELECT 1 FROM conversations INDEXED BY {STATUS_ID_INDEXES[status]} "
                f"WHERE conversations.id = ({named}) "
                f"AND conversations.state = '{state}' AND conversations.status = '{status}')"
            )
            for state, status in listed
        )
    )


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _fts_match(query: str, *, by_words: bool = True) -> Condition:
    """The index matches `query`; `by_words`: each prefix read as its words (`_match_argument`),
    for a walk in key order that may stop early. Not where every match is read (an OR of a
    prefix's many words costs more to read through than FTS5's merged entries: `re*`, 149
    words, 1.75 -> 2.34 s for a page listing its matches at 1M), where bm25 weighs the phrases
    (the words' own weights would change the scores), nor where one document is probed."""
    argument = _match_argument(query) if by_words else literal(query, String)
    return literal_column(index.TABLE).op("MATCH", is_comparison=True)(argument)


# SQLite: a prefix is read as the words of `search_words` it starts (migration 0024) while they
# are at most this many and hold, on average, more than `PREFIX_DOCUMENTS_PER_WORD` documents
# each (0025). ORed words stream in key order where FTS5's own prefix merges every word's
# entries first, but an OR tests each of its words at every match it passes: at 1M
# conversations a page costs the OR ~5-20 µs a word, the merge ~0.2 µs an entry. So `s*` (348
# words, 12.4M entries) 2.3 s -> 6.5 ms and `re*` (149 words) 0.88 s -> 1.8 ms as words, while
# `58*` (752 words of order numbers, 1,311 entries) stays FTS5's (0.5 ms; 3.1 as words). Past
# the cap the OR's cost (and the estimate's, 64 walks of it) outgrows what it saves.
PREFIX_WORDS_CAP = 1024
PREFIX_DOCUMENTS_PER_WORD = 100
# A prefix phrase of an FTS5 query as `_SqliteText` writes it: `"order sh" *`.
_PREFIX_PHRASE = re.compile(r'"((?:[^"]|"")*)" \*')
_WORDS = table(index.WORDS_TABLE, column("word"), column("documents"))


def _match_argument(query: str) -> ColumnElement[str]:
    """The FTS5 query, with each prefix phrase replaced by its words ORed (`"order sh" *` ->
    `("order shipped" OR "order shipping")`), read from `search_words` when the statement runs;
    FTS5's own prefix where there are none, more than `PREFIX_WORDS_CAP`, or too few documents
    for their number (`PREFIX_DOCUMENTS_PER_WORD`)."""
    pieces = _PREFIX_PHRASE.split(query)
    if len(pieces) == 1:
        return literal(query, String)
    parts: list[ColumnElement[str]] = []
    for number, piece in enumerate(pieces):
        if number % 2:
            parts.append(_prefix_words(piece))
        elif piece:
            parts.append(literal(piece, String))
    argument = parts[0]
    for part in parts[1:]:
        argument = argument + part
    return argument


def _prefix_words(phrase: str) -> ColumnElement[str]:
    """`phrase` (quoted as in an FTS5 string) with its last word a prefix, as FTS5 query text."""
    head, _, last = phrase.rpartition(" ")
    low, high = prefix_bounds(last)
    word = _WORDS.c.word
    bounds = [word >= low, *([word < high] if high is not None else [])]
    found = select(word, _WORDS.c.documents).where(*bounds)
    words = found.limit(PREFIX_WORDS_CAP + 1).subquery("prefix_words")
    quoted = literal('"' + (head + " " if head else ""), String) + words.c.word + literal('"', String)
    listed = literal("(", String) + func.group_concat(quoted, " OR ") + literal(")", String)
    own = literal('"' + phrase + '" *', String)
    count = func.count()
    worth_it = func.sum(words.c.documents) > count * PREFIX_DOCUMENTS_PER_WORD
    return (
        select(case((and_(count.between(1, PREFIX_WORDS_CAP), worth_it), listed), else_=own))
        .select_from(words)
        .scalar_subquery()
    )


def expanded_text(conn: Connection, query: str) -> str:
    """The FTS5 query text `_match_argument` makes of `query`, for a statement that binds it."""
    if _PREFIX_PHRASE.search(query) is None:
        return query
    return str(conn.execute(select(_match_argument(query))).scalar_one())


@lru_cache(maxsize=8)
def _sqlite_sample(ranges: int) -> Prepared:
    """One branch per key range, each the range's first matches in rowid order; the statement is
    built and compiled once (building 64 branches per search took 20 ms)."""
    branches = [
        f"SELECT {number}, rowid FROM (SELECT rowid FROM {index.TABLE} WHERE {index.TABLE} MATCH :text"
        f" AND rowid >= :start_{number} AND rowid < :end_{number} ORDER BY rowid LIMIT :sample_limit)"
        for number in range(ranges)
    ]
    return Prepared(sql_text(" UNION ALL ".join(branches)))


# A range's first `checked` documents by id, those of them that match, the first `sample_limit` of
# those; and the id of the last document checked. One statement whatever the number of ranges,
# planned in ~1 ms (64 branches: 11-15 ms).
_POSTGRES_SAMPLE = Prepared(
    sql_text(
        f"""
        SELECT ranges.number, matched.id, checks.checked_to
        FROM unnest(CAST(:starts AS BIGINT[]), CAST(:ends AS BIGINT[])) WITH ORDINALITY
            AS ranges(start, stop, number)
        LEFT JOIN LATERAL (
            SELECT conversation_id AS checked_to FROM {index.TABLE}
            WHERE conversation_id >= ranges.start AND conversation_id < ranges.stop
            ORDER BY conversation_id OFFSET CAST(:checked AS INTEGER) - 1 LIMIT 1
        ) AS checks ON true
        CROSS JOIN LATERAL (
            SELECT documents.id FROM (
                SELECT conversation_id AS id, document FROM {index.TABLE}
                WHERE conversation_id >= ranges.start AND conversation_id < ranges.stop
                ORDER BY conversation_id LIMIT :checked
            ) AS documents
            WHERE documents.document @@ CAST(:text AS tsquery)
            ORDER BY documents.id LIMIT :sample_limit
        ) AS matched
        """
    ),
    server_prepared=False,
)


class _SqliteText(_TextSearch[str]):
    """FTS5 over `conversation_search`: a match is a conversation, `id IN (SELECT rowid & mask …)`."""

    def all_words(self, value: str, words: list[str], prefix: bool) -> str:
        quoted = [_fts_string(word) for word in words]
        if prefix:
            quoted[-1] += " *"
        return "(" + " AND ".join("{subject} : " + q for q in quoted) + ")"

    def phrase(self, value: str, words: list[str], prefix: bool) -> str:
        return "({body} : " + _fts_string(" ".join(words)) + (" *)" if prefix else ")")

    def anywhere_query(self, value: str, words: list[str], prefix: bool) -> str:
        """One word in the subject or a body is the word in either of the index's two columns:
        one phrase with no column filter. The OR of the two columns read the word's entries
        twice and checked each hit's column (`refund` at 1M: counted in 45 ms against 21)."""
        if len(words) == 1:
            return "(" + _fts_string(words[0]) + (" *)" if prefix else ")")
        return super().anywhere_query(value, words, prefix)

    def either(self, queries: list[str]) -> str:
        return "(" + " OR ".join(queries) + ")"

    def every(self, queries: list[str]) -> str:
        return "(" + " AND ".join(queries) + ")"

    def matching_ids(
        self, query: str, *, limit: int | None = None, listed: Sequence[tuple[str, str]] = ()
    ) -> Select[Any]:
        """FTS5 holds no status: intersecting a text with one cost more than the text's own
        matches (`espresso` with the active conversations' entries at 1M: 25 ms against 2.5).
        With `listed` of statuses that have an index of their ids, each match is looked up in
        it (`status_probe`); other statuses are left to the caller's filters."""
        if limit is None:
            every = (
                select(_SEARCH_ID.label("id")).select_from(_SEARCH).where(_fts_match(query, by_words=False))
            )
            return every.where(status_probe(listed)) if probes_statuses(listed) else every
        found = select(_SEARCH_ID.label("id")).select_from(_SEARCH).where(_fts_match(query))
        return found.order_by(_SEARCH_ROWID.desc()).limit(limit)

    def narrows(self, query: str, listed: Sequence[tuple[str, str]]) -> bool:
        return probes_statuses(listed)

    def probe(self, query: str) -> Condition | None:
        return exists(
            select(literal(1))
            .select_from(_SEARCH)
            .where(_fts_match(query, by_words=False), _SEARCH_ROWID == _SEARCH_KEY)
        )

    def ordered_ids(self, query: str) -> Select[int, int] | None:
        walk: Select[int, int] = (
            select(_SEARCH_ID.label("id"), _SEARCH_ROWID.label("search_key"))
            .select_from(_SEARCH)
            .where(_fts_match(query))
        )
        return walk

    def key_bounds(self) -> Select[int, int]:
        """The (createdAt, id) keys are the table's rowids, which FTS5 reads in order."""
        first = select(_SEARCH_ROWID).select_from(_SEARCH).order_by(_SEARCH_ROWID.asc()).limit(1)
        last = select(_SEARCH_ROWID).select_from(_SEARCH).order_by(_SEARCH_ROWID.desc()).limit(1)
        return select(first.scalar_subquery().label("low"), (last.scalar_subquery() + 1).label("high"))

    def sample(
        self, conn: Connection, query: str, bounds: list[tuple[int, int]], limit: int, checked: int
    ) -> list[Sampled]:
        """FTS5 finds a rowid range's matches itself, however rare: nothing to cap."""
        values: dict[str, Any] = {"text": expanded_text(conn, query), "sample_limit": limit}
        for number, (start, end) in enumerate(bounds):
            values[f"start_{number}"], values[f"end_{number}"] = start, end
        rows = _sqlite_sample(len(bounds)).rows(conn, **values)
        return [Sampled(number, key & index.ID_MASK, key, None) for number, key in rows]

    def score(
        self, *, only: Select[Any] | None = None, probed: ColumnElement[bool] | None = None
    ) -> ColumnElement[float] | None:
        if not self.scored_queries:
            return None
        # Every match's score from one pass over the index, looked up by key. bm25 weighs each
        # phrase by how many documents hold it, which FTS5 counts once per cursor: as a
        # subquery run for each row (`MATCH … AND rowid = key`) it counted again for every
        # row, and a sort by relevance of a common word never ended (`subject:refund`, one
        # mailbox, every status, at 1M conversations: 20.5 s; "espresso" 1.37 s).
        scores = self._scores(only=only, probed=probed)
        relevance = select(scores.c.score).where(scores.c.search_key == _SEARCH_KEY).scalar_subquery()
        return func.coalesce(relevance, 0.0, type_=Float)

    def scores_joined(self) -> JoinedScore | None:
        """A correlated lookup of `score` scans the materialised scores for each row: SQLite
        plans a scalar subquery as if it ran once, so it builds no index on them. Joined, it
        builds one (`modifiedAt:[NOW-1YEAR TO NOW] AND (espresso OR tag:vip)` by relevance,
        every status, at 1M conversations: the page's statement 22 s, 0.4 s joined)."""
        if not self.scored_queries:
            return None
        scores = self._scores()
        return JoinedScore(
            scores, scores.c.search_key == _SEARCH_KEY, func.coalesce(scores.c.score, 0.0, type_=Float)
        )

    def ranked(
        self,
        matching: str,
        *,
        only: Select[Any] | None = None,
        probed: ColumnElement[bool] | None = None,
        listed: Sequence[tuple[str, str]] = (),
    ) -> Select[Any] | None:
        # The scored text is every positive text term ORed; when that is what the driver matches
        # (one term, one phrase, terms ORed; the driver wraps its one conjunct), the scores are
        # the page's matches as they are, sorted with no walk over every conversation the
        # filters allow to find them.
        if not self.scored_queries:
            return None
        scored = self.either(self.scored_queries)
        if matching not in (scored, self.every([scored])):
            return None
        scores = self._scores(only=only, probed=probed, listed=listed)
        return select((scores.c.search_key.op("&")(index.ID_MASK)).label("id"), scores.c.score)

    def _scores(
        self,
        *,
        only: Select[Any] | None = None,
        probed: ColumnElement[bool] | None = None,
        listed: Sequence[tuple[str, str]] = (),
    ) -> CTE:
        """The CTE of every match's key and bm25; with `only`, of the matches whose conversation
        id it selects; with `probed`, of those whose conversation meets it; with `listed`, of
        those of its (state, status) pairs, looked up in their indexes of ids (`status_probe`).

        A match is then checked before its bm25 is computed: most matches fail a list's filters
        (`espresso` at 1M: 863 of 12,804 are active), and the check costs less than the ranking.
        `probed` reads each match's row (~1-1.7 µs: rows of a 1M table, most not in the page
        cache); `only` looks each up among the ids it lists first (through the filters' index
        ~0.1 µs an id, then ~0.2 a match): `upgrade`'s 57,400 matches against the 58k active
        conversations took 113 ms probed, 22 listed.
        """
        where = [_fts_match(self.either(self.scored_queries), by_words=False)]
        if only is not None:
            where.append(_SEARCH_ID.in_(only))
        if probed is not None:
            where.append(
                exists()
                .where(conversations.c.id == _SEARCH_ID, probed)
                .select_from(conversations)
                .correlate_except(conversations)
            )
        if listed:
            where.append(status_probe(listed))
        return materialized(
            select(
                _SEARCH_ROWID.label("search_key"),
                (-func.bm25(literal_column(index.TABLE), 2.0, 1.0, type_=Float)).label("score"),
            )
            .select_from(_SEARCH)
            .where(*where)
            .cte("text_scores")
        )


class _SqliteProbingText(_SqliteText):
    """FTS5 text conditions tested on each conversation's own document (`probe`), for a page
    that walks few conversations; `_SqliteText`'s `id IN (…)` lists every match first."""

    def matched(self, query: str) -> Condition:
        probe = self.probe(query)
        assert probe is not None, "SQLite probes any text"
        return probe


_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_DOCUMENT: ColumnElement[Any] = literal_column("conversation_search.document")
_SUBJECT_DOCUMENT: ColumnElement[Any] = literal_column("conversation_search.subject_document")
_DOCUMENT_OWNER: ColumnElement[int] = literal_column("conversation_search.conversation_id")
_TSQUERY_LEXEME = r"('(?:[^']|'')*')"


def _tsquery_word(word: str, weight: str, prefix: bool) -> str:
    """`'word':*A`; without weight or prefix, just `'word'`."""
    marks = ("*" if prefix else "") + weight
    return "'" + word.replace("'", "''") + "'" + (":" + marks if marks else "")


def _tsquery(words: list[str], joiner: str, weight: str, prefix: bool) -> ColumnElement[Any]:
    quoted = [_tsquery_word(word, weight, prefix and i == len(words) - 1) for i, word in enumerate(words)]
    return func.to_tsquery(_SIMPLE, literal(joiner.join(quoted), String))


def _listed_tsquery(listed: Sequence[tuple[str, str]]) -> ColumnElement[Any]:
    """The lexemes of these (state, status) pairs ORed, as written (not run through a parser,
    which would split them at `:`)."""
    lexemes = " | ".join("'" + index.listing_lexeme(state, status) + "'" for state, status in listed)
    return cast(literal(lexemes, String), TSQUERY)


def _weighted(query: ColumnElement[Any], weight: str) -> ColumnElement[Any]:
    """A parser-made tsquery with every lexeme restricted to `weight` (A subject, D bodies)."""
    as_text = func.regexp_replace(
        func.cast(query, String), literal(_TSQUERY_LEXEME, String), literal(r"\1:" + weight, String), "g"
    )
    return func.to_tsquery(_SIMPLE, as_text)


def _matches(tsv: ColumnElement[Any], query: ColumnElement[Any]) -> Condition:
    return tsv.op("@@", is_comparison=True)(query)


def _tsquery_tree(queries: list[ColumnElement[Any]], operator: str) -> ColumnElement[Any]:
    """`q1 || q2 || …` (or `&&`) as a balanced tree: a long chain would be too deep to compile."""
    if len(queries) == 1:
        return queries[0]
    middle = len(queries) // 2
    return _tsquery_tree(queries[:middle], operator).op(operator)(_tsquery_tree(queries[middle:], operator))


@dataclass(frozen=True)
class _PgQuery:
    """A tsquery over the whole document, and, when every match must hold some words in its
    subject, an unweighted tsquery of them for `subject_document` (migration 0013); `exact` when
    that alone decides (subject words only: `'w':A` on the document is `'w'` on its A part).

    GIN indexes keep no weights: `'espresso':A` alone made PostgreSQL read back every document
    holding the word anywhere (12,804 at 1M conversations, ~0.8 s) to find the few hundred with
    it in the subject. The subject's own index finds those exactly; a document test, where one
    is still needed, then runs on them only.
    """

    document: ColumnElement[Any]
    subject: ColumnElement[Any] | None = None
    exact: bool = False

    def condition(self) -> Condition:
        if self.subject is None:
            return _matches(_DOCUMENT, self.document)
        in_subject = _matches(_SUBJECT_DOCUMENT, self.subject)
        return in_subject if self.exact else and_(in_subject, _matches(_DOCUMENT, self.document))


class _PostgresText(_TextSearch[_PgQuery]):
    """One GIN-indexed tsvector per conversation, subject weighted A, bodies D (`simple` config),
    and its subject part in a second GIN-indexed tsvector.

    The value is also run through `plainto_tsquery` / `phraseto_tsquery`, so that addresses and
    URLs, which PostgreSQL's parser keeps whole, match as typed.
    """

    def all_words(self, value: str, words: list[str], prefix: bool) -> _PgQuery:
        weighted = _tsquery(words, " & ", "A", prefix)
        unweighted = _tsquery(words, " & ", "", prefix)
        if prefix:
            return _PgQuery(weighted, unweighted, exact=True)
        as_typed = func.plainto_tsquery(_SIMPLE, literal(fold(value), String))
        return _PgQuery(
            _tsquery_tree([weighted, _weighted(as_typed, "A")], "||"),
            _tsquery_tree([unweighted, as_typed], "||"),
            exact=True,
        )

    def phrase(self, value: str, words: list[str], prefix: bool) -> _PgQuery:
        query = _tsquery(words, " <-> ", "D", prefix)
        if prefix:
            return _PgQuery(query)
        as_typed = func.phraseto_tsquery(_SIMPLE, literal(fold(value), String))
        return _PgQuery(_tsquery_tree([query, _weighted(as_typed, "D")], "||"))

    def anywhere_query(self, value: str, words: list[str], prefix: bool) -> _PgQuery:
        """One word in the subject (A) or a body (D) is the word anywhere in the document, which
        carries no other weights. Unweighted, the GIN index answers it without reading each
        document back to check weights ('espresso' at 1M conversations: 191 -> 73 ms)."""
        if len(words) != 1:
            return super().anywhere_query(value, words, prefix)
        query = _tsquery(words, "", "", prefix)
        if prefix:
            return _PgQuery(query)
        return _PgQuery(
            _tsquery_tree([query, func.plainto_tsquery(_SIMPLE, literal(fold(value), String))], "||")
        )

    def either(self, queries: list[_PgQuery]) -> _PgQuery:
        """The subject words are needed only if each alternative needs some."""
        subjects = [query.subject for query in queries if query.subject is not None]
        return _PgQuery(
            _tsquery_tree([query.document for query in queries], "||"),
            _tsquery_tree(subjects, "||") if len(subjects) == len(queries) else None,
            exact=all(query.exact for query in queries),
        )

    def every(self, queries: list[_PgQuery]) -> _PgQuery:
        """The subject words of every part are needed."""
        subjects = [query.subject for query in queries if query.subject is not None]
        return _PgQuery(
            _tsquery_tree([query.document for query in queries], "&&"),
            _tsquery_tree(subjects, "&&") if subjects else None,
            exact=all(query.exact for query in queries),
        )

    def matched(self, query: _PgQuery) -> Condition:
        """The conversation's own document tested (EXISTS), not `id IN (the matches)`: under NOT or
        in an OR, PostgreSQL cannot turn an IN into a join, and when the matches are too many to
        hash in `work_mem` it ran the whole text search again for every conversation (`NOT the`
        or `re*` at 1M conversations: stopped after 11 minutes). An EXISTS becomes a join where
        an IN would (a top-level AND); elsewhere the planner hashes the matches when they fit and
        otherwise probes each conversation's document by its key."""
        return exists(
            select(literal(1))
            .select_from(table(index.TABLE))
            .where(conversations.c.id == _DOCUMENT_OWNER, query.condition())
        )

    def matching_ids(
        self, query: _PgQuery, *, limit: int | None = None, listed: Sequence[tuple[str, str]] = ()
    ) -> Select[Any]:
        """With `listed`, the text's index entries intersected with those of the states and
        statuses (one tsquery: GIN skips through the larger entry), so only those matches' rows
        are read: `espresso` among the active conversations at 1M, 12,804 rows -> 863. Not for
        subject words alone (`exact`), which the subject's own small index finds: the document's
        index cannot tell their weight, so each candidate's document was read back to check it
        (`subject:refund` in one mailbox by relevance, 75-81 -> 87-127 ms a request)."""
        if listed and not query.exact:
            query = _PgQuery(_tsquery_tree([query.document, _listed_tsquery(listed)], "&&"), query.subject)
        found = select(_DOCUMENT_OWNER.label("id")).select_from(table(index.TABLE)).where(query.condition())
        return found.limit(limit) if limit is not None else found

    def narrows(self, query: _PgQuery, listed: Sequence[tuple[str, str]]) -> bool:
        return not query.exact

    def key_bounds(self) -> Select[int, int]:
        """The key is the conversation's id, the documents' primary key."""
        return select(
            func.min(_DOCUMENT_OWNER).label("low"), (func.max(_DOCUMENT_OWNER) + 1).label("high")
        ).select_from(table(index.TABLE))

    def sample(
        self,
        conn: Connection,
        query: _PgQuery,
        bounds: list[tuple[int, int]],
        limit: int,
        checked: int,
    ) -> list[Sampled]:
        """The documents are walked along the primary key and checked one by one: collecting a
        common text's matches from the GIN index first took seconds at 1M conversations. The
        walk stops after `checked` documents, which for a rarer text (1 % of the documents)
        would otherwise read 2,300 a range (0.56 s for 64 ranges). The document's own test
        decides; the subject's is only a way in through its index."""
        as_text = conn.execute(select(func.cast(query.document, String))).scalar_one()
        rows = _POSTGRES_SAMPLE.rows(
            conn,
            text=as_text,
            starts=[start for start, _ in bounds],
            ends=[end for _, end in bounds],
            sample_limit=limit,
            checked=checked,
        )
        return [Sampled(number - 1, key, key, checked_to) for number, key, checked_to in rows]

    def score(
        self, *, only: Select[Any] | None = None, probed: ColumnElement[bool] | None = None
    ) -> ColumnElement[float] | None:
        # ts_rank reads each ranked row's own document: only the rows a statement keeps.
        if not self.scored_queries:
            return None
        query = self.either(self.scored_queries)
        relevance = (
            select(func.ts_rank(_DOCUMENT, query.document, type_=Float))
            .select_from(table(index.TABLE))
            .where(conversations.c.id == _DOCUMENT_OWNER, query.condition())
            .scalar_subquery()
        )
        return func.coalesce(relevance, 0.0, type_=Float)

    def ranked(
        self,
        matching: _PgQuery,
        *,
        only: Select[Any] | None = None,
        probed: ColumnElement[bool] | None = None,
        listed: Sequence[tuple[str, str]] = (),
    ) -> Select[Any] | None:
        """With `listed` (state, status) pairs alone: the matches of those statuses, found by the
        text index with their lexemes (`matching_ids`), ranked as they are read. Every match of
        `matching` (the driver's text, each of its parts a positive text term) matches the
        scored text too, so its score is `score`'s. A page by relevance of `espresso` among the
        active conversations at 1M: 15-17 ms joined to the conversations (the planner hashed
        the 863 matches and scanned all 58k active ids; with `status=open` 32-41 ms, 103k),
        each match's document read again by `score`; 6 ms read once (8 with `open`)."""
        if not listed or only is not None or probed is not None or matching.exact or not self.scored_queries:
            return None
        score = func.ts_rank(_DOCUMENT, self.either(self.scored_queries).document, type_=Float)
        return self.matching_ids(matching, listed=listed).add_columns(score.label("score"))


class _PostgresProbingText(_PostgresText):
    """Text conditions tested on each conversation's own document, one lookup by its key, for a
    page that walks few conversations (`listing._probing_page`).

    `_PostgresText.matched`'s EXISTS, in an OR or under NOT, is planned for every conversation
    the filters allow, not for the page's few: PostgreSQL hashed every match of the text first
    (`ste*` at 1M conversations: 119k documents read back, 0.6 s, for a page found among the
    first 201 active conversations). A scalar subquery is never hashed."""

    def matched(self, query: _PgQuery) -> Condition:
        own = (
            select(query.condition())
            .select_from(table(index.TABLE))
            .where(conversations.c.id == _DOCUMENT_OWNER)
        )
        return _tested_per_conversation(own)


def _tested_per_conversation(test: Select[Any]) -> Condition:
    """A correlated test as a scalar subquery, false where it finds no row: PostgreSQL never
    hashes one, so it runs only for the conversations a page's walk reads."""
    return func.coalesce(test.scalar_subquery(), false(), type_=Boolean)


class _Compiler:
    """Walks the AST, one handler per field; `negated` tracks whether a NOT encloses the node."""

    def __init__(self, text: _TextSearch[Any], context: _Context) -> None:
        self.text = text
        self.context = context
        # The fields whose term, as a conjunct, is a list of ids (None: bare terms; `id_list`).
        self.listing: dict[str | None, Callable[[Term], Select[Any]]] = {
            None: self._bare_listed,
            "customerIds": self._customer_ids,
            "email": self._emailed,
            "tag": self._tagged,
        }
        self.fields: dict[str | None, Callable[[Term, bool], Condition]] = {
            None: self._bare,
            "subject": self._subject,
            "body": self._body,
            "tag": self._tag,
            "mailbox": self._mailbox,
            "mailboxid": self._mailbox_id,
            "email": self._email,
            "customerIds": self._customer_id,
            "number": self._number,
            "id": self._id,
            "assigned": self._assigned,
            "attachments": self._attachments,
            "replyUserIds": self._reply_user_id,
            "modifiedAt": self._modified_at,
            "createdAt": self._created_at,
            "status": self._status,
            "type": self._type,
        }

    def compile(self, node: Node, *, negated: bool) -> Condition:
        if isinstance(node, And):
            return _balanced(and_, [self.compile(child, negated=negated) for child in node.children])
        if isinstance(node, Or):
            return _balanced(or_, self._either(node.children, negated))
        if isinstance(node, Not):
            return not_(self.compile(node.child, negated=not negated))
        if isinstance(node, Range):
            return self._range(node)
        return self._handler(node)(node, negated)

    def _either(self, children: tuple[Node, ...], negated: bool) -> list[Condition]:
        """An OR's conditions, its `tag:` terms tested as one set of tags where the OR has several
        (in the place of the first, each checked in its own place): `tag:vip OR tag:billing`
        listed or probed each tag's conversations apart (see `_tags`)."""
        tagged = [child for child in children if isinstance(child, Term) and child.field == "tag"]
        if len(tagged) < 2:
            return [self.compile(child, negated=negated) for child in children]
        conditions: list[Condition] = []
        tags_at = 0
        for child in children:
            if isinstance(child, Term) and child.field == "tag":
                self._handler(child)
                if child is tagged[0]:
                    tags_at = len(conditions)
                    conditions.append(false())
                continue
            conditions.append(self.compile(child, negated=negated))
        conditions[tags_at] = self._tags(tagged, negated)
        return conditions

    def _handler(self, term: Term) -> Callable[[Term, bool], Condition]:
        handler = self.fields.get(term.field)
        if handler is None:
            raise QueryValueError(f"unknown field {term.field!r} at position {term.position}", term.position)
        if term.prefix and term.field not in TEXT_FIELDS:
            raise value_error(term, "does not support wildcards; '*' works on subject, body and bare words")
        return handler

    def id_list(self, node: Node) -> IdList | None:
        """A conjunct of the query as a list of ids, when it is a bare term, an `email:`, a
        `customerIds:` or a `tag:` (see `IdList`); else None."""
        if not isinstance(node, Term) or node.field not in self.listing:
            return None
        self._handler(node)
        ids = self.listing[node.field](node)
        listed = conversations.c.id.in_(ids)
        probed: Condition
        if isinstance(self.text, _SqliteText):
            probed = out_of_reach(conversations.c.id).in_(ids)
        elif node.field is None:
            # Each conversation's own document tested; the text is ranked through `ids` already.
            probed = self._bare(node, False, scored=False)
        else:
            probed = listed  # PostgreSQL plans an IN over a list itself
        # A prefix's text matches are all read before the first (FTS5 merges every word's
        # matches), so its list is not counted to see whether it is short.
        countable = not (node.prefix and tokens(node.value))
        short = node.field in ("email", "customerIds")
        tag = node.value.lower() if node.field == "tag" else None
        parts = None
        if node.field is None and tokens(node.value):
            parts = (self.text.matching_ids(self._bare_text(node, tokens(node.value))), self._owned(node))
        return IdList(ids, countable, listed, probed, short=short, tag=tag, parts=parts)

    def complement(self, node: Node) -> IdList | None:
        """The conversations a whole query leaves out as a list of ids, where it is `NOT term`
        of a list's term (`id_list`), `NOT attachments:true` or `attachments:false`."""
        if isinstance(node, Not):
            return self.id_list(node.child) or _with_attachments(node.child, "true")
        return _with_attachments(node, "false")

    # text

    def text_query(self, node: Node) -> tuple[Any, list[tuple[str, bool]]] | None:
        """The full-text query of a node made only of text terms, AND and OR, with the bare terms in
        it (whose customer part the caller must rule out); None for any other node."""
        if isinstance(node, And | Or):
            parts = [self.text_query(child) for child in node.children]
            if any(part is None for part in parts):
                return None
            queries = [part[0] for part in parts if part is not None]
            bare = [term for part in parts if part is not None for term in part[1]]
            combined = self.text.every(queries) if isinstance(node, And) else self.text.either(queries)
            return combined, bare
        if not isinstance(node, Term) or node.field not in TEXT_FIELDS:
            return None
        words = tokens(node.value)
        if not words:
            return None
        if node.field == "subject":
            return self.text.subject_query(node.value, words, node.prefix), []
        if node.field == "body":
            return self.text.body_query(node.value, words, node.prefix), []
        return self._bare_text(node, words), [(node.value.strip(), node.prefix)]

    def _bare_text(self, term: Term, words: list[str]) -> Any:
        return self.text.anywhere_query(term.value, words, term.prefix)

    def _subject(self, term: Term, negated: bool) -> Condition:
        words = tokens(term.value)
        if not words:
            return false()
        return self.text.condition(
            self.text.subject_query(term.value, words, term.prefix), scored=not negated
        )

    def _body(self, term: Term, negated: bool) -> Condition:
        words = tokens(term.value)
        if not words:
            return false()
        return self.text.condition(self.text.body_query(term.value, words, term.prefix), scored=not negated)

    def _bare(self, term: Term, negated: bool, *, scored: bool | None = None) -> Condition:
        """A value without a field: subject, body, the customer's first, last or full name, or
        email. Its text is remembered for ranking unless negated (or `scored` says otherwise)."""
        words = tokens(term.value)
        customers_ = _customer_in(bare_term_customers(term.value, term.prefix))
        if not words:
            return customers_
        ranked = not negated if scored is None else scored
        return or_(self.text.condition(self._bare_text(term, words), scored=ranked), customers_)

    def _bare_listed(self, term: Term) -> Select[Any]:
        """A bare term's matches as one list of ids: the text's, then its customers'
        conversations (see `IdList`; only for a conjunct: under NOT or in an OR, PostgreSQL
        would run the text search again for each conversation when the list is too long to
        hash, see `_PostgresText.matched`)."""
        words = tokens(term.value)
        owned = self._owned(term)
        return self.text.matches_and(self._bare_text(term, words), owned) if words else owned

    def _owned(self, term: Term) -> Select[Any]:
        """The conversations of the customers a bare term names."""
        return select(_OWNED.c.id).where(
            _OWNED.c.customer_id.in_(bare_term_customers(term.value, term.prefix))
        )

    # exact values

    def _tag(self, term: Term, negated: bool) -> Condition:
        if negated:
            # Under NOT the set of tagged conversations cannot drive the query; probing each
            # candidate costs less than materialising every conversation with a common tag.
            return self._tags([term], negated)
        return conversations.c.id.in_(self._tagged(term))

    def _tags(self, terms: list[Term], negated: bool) -> Condition:
        """A conversation with any of `terms`' tags: each conversation's keys probed for all the
        tags at once, which PostgreSQL plans as it sees fit (with the tags' ids written in, at
        1M, `vip` 33k conversations and `billing` 179k: counting the OR among the active
        conversations 47 ms against 75 through a list per tag, beside `espresso` 25 against
        68). SQLite, which takes the form as the plan, keeps a list per tag under no NOT,
        read in id order from the tag's index: it counted the OR in 48 ms through the lists
        and 41 probing (126 through one list of both, unsorted), but where many conversations
        are tested probing loses (`refund AND (tag:vip OR tag:billing)` by relevance tests
        448k matches: 893 ms against 704), so it probes only where few are
        (`_SqliteProbingCompiler`)."""
        if negated or not isinstance(self.text, _SqliteText):
            return self._tags_probed(terms)
        return or_(*(self._tag(term, negated) for term in terms))

    def _tags_probed(self, terms: list[Term]) -> Condition:
        """Whether the conversation has any of `terms`' tags, its keys probed for them all."""
        return exists().where(*_tagged_key(self.context.tag_ids(terms)))

    def _tagged(self, term: Term) -> Select[Any]:
        return select(conversation_tags.c.conversation_id).where(
            conversation_tags.c.tag_id.in_(self.context.tag_ids([term]))
        )

    def _mailbox(self, term: Term, negated: bool) -> Condition:
        named = func.lower(mailboxes.c.name) == func.lower(literal(term.value, String))
        return conversations.c.mailbox_id.in_(select(mailboxes.c.id).where(named))

    def _mailbox_id(self, term: Term, negated: bool) -> Condition:
        return conversations.c.mailbox_id == _integer(term, term.value)

    def _email(self, term: Term, negated: bool) -> Condition:
        return conversations.c.id.in_(self._emailed(term))

    def _emailed(self, term: Term) -> Select[Any]:
        address = term.value.strip().lower()
        copied = select(conversation_emails.c.conversation_id).where(conversation_emails.c.email == address)
        owners = select(customer_emails.c.customer_id).where(customer_emails.c.value == address)
        owned = select(_OWNED.c.id).where(_OWNED.c.customer_id.in_(owners))
        # One IN over a UNION: an OR of two INs made both databases scan the conversations.
        return copied.union(owned)  # type: ignore[return-value]

    def _customer_id(self, term: Term, negated: bool) -> Condition:
        return conversations.c.id.in_(self._customer_ids(term))

    def _customer_ids(self, term: Term) -> Select[Any]:
        """The customer's conversations, read through the customer index: as `customer_id = ?`
        beside the list's state and status, SQLite (no statistics) walked the state and status
        index instead and read every active conversation's row (195 ms at 1M for 2 matches)."""
        customer_id = _integer(term, term.value)
        return select(_OWNED.c.id).where(_OWNED.c.customer_id == customer_id)

    def _number(self, term: Term, negated: bool) -> Condition:
        return conversations.c.number == _integer(term, term.value)

    def _id(self, term: Term, negated: bool) -> Condition:
        return conversations.c.id == _integer(term, term.value)

    def _assigned(self, term: Term, negated: bool) -> Condition:
        value = term.value.strip()
        if value.lower() == "unassigned":
            return conversations.c.assignee_id.is_(None)
        wanted = func.lower(literal(value, String))
        named = or_(
            func.lower(users.c.first_name) == wanted,
            func.lower(users.c.last_name) == wanted,
            func.lower(users.c.first_name + " " + users.c.last_name) == wanted,
            func.lower(users.c.email) == wanted,
        )
        return and_(
            conversations.c.assignee_id.is_not(None),
            conversations.c.assignee_id.in_(select(users.c.id).where(named)),
        )

    def _attachments(self, term: Term, negated: bool) -> Condition:
        value = term.value.strip().lower()
        if value not in ("true", "false"):
            raise value_error(term, f"expects true or false, got {term.value!r}")
        has_attachments = conversations.c.has_attachments
        return has_attachments.is_(true()) if value == "true" else has_attachments.is_(false())

    def _reply_user_id(self, term: Term, negated: bool) -> Condition:
        """Through the partial index of users' messages (ix_threads_reply_user). Its predicate's
        values are written into the SQL: SQLite then knows every entry passes those terms and
        reads the conversations from the index alone; bound as parameters, it read each of a
        busy agent's 124k threads to test them again (221 -> 51 ms at 1M conversations)."""
        replies = select(threads.c.conversation_id).where(
            equals_written(threads.c.type, "message"),
            equals_written(threads.c.created_by_type, "user"),
            threads.c.created_by_id == _integer(term, term.value),
        )
        return conversations.c.id.in_(replies)

    def _status(self, term: Term, negated: bool) -> Condition:
        return conversations.c.status == _choice(term, STATUSES)

    def _type(self, term: Term, negated: bool) -> Condition:
        return conversations.c.type == _choice(term, TYPES)

    # dates and ranges

    def _modified_at(self, term: Term, negated: bool) -> Condition:
        return self._during(conversations.c.modified_at, term)

    def _created_at(self, term: Term, negated: bool) -> Condition:
        return self._during(conversations.c.created_at, term)

    def _during(self, stored: ColumnElement[datetime], term: Term) -> Condition:
        return during(stored, term, self.context.now())

    def _range(self, node: Range) -> Condition:
        if node.field not in RANGE_FIELDS:
            raise QueryValueError(
                f"{node.field} does not accept a range (at position {node.position}); "
                f"ranges work on {', '.join(RANGE_FIELDS)}",
                node.position,
            )
        if node.field in ("createdAt", "modifiedAt"):
            stored = conversations.c.created_at if node.field == "createdAt" else conversations.c.modified_at
            return date_range(stored, node, self.context.now())
        bounds: list[Condition] = []
        column_ = conversations.c.number if node.field == "number" else conversations.c.id
        if node.low is not None:
            low_number = _range_integer(node, node.low)
            bounds.append(column_ >= low_number if node.include_low else column_ > low_number)
        if node.high is not None:
            high_number = _range_integer(node, node.high)
            bounds.append(column_ <= high_number if node.include_high else column_ < high_number)
        return and_(true(), *bounds)


class _SqliteProbingCompiler(_Compiler):
    """SQLite: the query for a page that walks few conversations, each text tested on the
    conversation's own document (`_SqliteProbingText`) and each tag by its (conversation, tag)
    key: `tag:vip OR tag:billing` listed the 212k conversations of either tag first, 27.6 ms
    for a page found among the first ~115 active conversations at 1M (0.07 ms probed)."""

    def __init__(self, context: _Context) -> None:
        super().__init__(_SqliteProbingText(), context)

    def _tag(self, term: Term, negated: bool) -> Condition:
        return self._tags([term], negated)

    def _tags(self, terms: list[Term], negated: bool) -> Condition:
        return self._tags_probed(terms)


class _PostgresProbingCompiler(_Compiler):
    """PostgreSQL: the query for a page that walks few conversations, its texts and tags tested
    on each conversation by a scalar subquery, which the planner never hashes (see
    `_PostgresProbingText`): `tag:vip OR tag:billing` hashed every conversation of either tag,
    51 ms for a page found among the first ~110 active conversations at 1M."""

    def __init__(self, context: _Context) -> None:
        super().__init__(_PostgresProbingText(), context)

    def _tag(self, term: Term, negated: bool) -> Condition:
        return self._tags([term], negated)

    def _tags(self, terms: list[Term], negated: bool) -> Condition:
        tagged = _tagged_key(self.context.tag_ids(terms), as_array=True)
        return _tested_per_conversation(select(true()).where(*tagged).limit(1))


def _tagged_key(ids: Select[Any] | list[int], *, as_array: bool = False) -> tuple[ColumnElement[bool], ...]:
    """The outer conversation's (conversation, tag) key with any of the tags `ids`, for a probe
    of one conversation (`_Context.tag_ids`). A subquery of the ids is read once, uncorrelated:
    on PostgreSQL (`as_array`) into an array, as `tag_id IN (SELECT …)` or a join to `tags` was
    planned as a scan of every tag for each conversation."""
    tagged: ColumnElement[bool] = conversation_tags.c.tag_id.in_(ids)
    if not isinstance(ids, list) and as_array:
        tagged = conversation_tags.c.tag_id == any_(func.array(ids.scalar_subquery()))
    return (conversation_tags.c.conversation_id == conversations.c.id, tagged)


def during(stored: ColumnElement[datetime], term: Term, now: datetime) -> Condition:
    """A stored instant inside the period a date value denotes (`createdAt:2000-11`)."""
    return _between(stored, period_seconds(term, now))


def date_range(stored: ColumnElement[datetime], node: Range, now: datetime) -> Condition:
    """A stored instant inside `[low TO high]`, each bound the start of the period it denotes."""
    return _between(stored, range_seconds(node, now))


def period_seconds(term: Term, now: datetime) -> tuple[int, int]:
    """The whole seconds (epoch) of the period a date value denotes, as `[start, end)`."""
    period = _period(term.field or "", term.value, term.position, now)
    return _ceil_seconds(period.start), _ceil_seconds(period.end_exclusive)


def range_seconds(node: Range, now: datetime) -> tuple[int | None, int | None]:
    """The whole seconds (epoch) inside a date range, as `[start, end)` (None: unbounded)."""
    start = end = None
    if node.low is not None:
        low = _period(node.field, node.low, node.position, now).start
        start = _ceil_seconds(low) if node.include_low else _floor_seconds(low) + 1
    if node.high is not None:
        high = _period(node.field, node.high, node.position, now).start
        end = _floor_seconds(high) + 1 if node.include_high else _ceil_seconds(high)
    return start, end


def _between(stored: ColumnElement[datetime], seconds: tuple[int | None, int | None]) -> Condition:
    start, end = seconds
    bounds: list[Condition] = []
    if start is not None:
        bounds.append(stored >= start)
    if end is not None:
        bounds.append(stored < end)
    return and_(true(), *bounds)


def _created_seconds(node: Node, now: datetime) -> tuple[int | None, int | None] | None:
    """`[start, end)` when the whole query is one `createdAt:` range or date (see
    `CompiledQuery.created`), else None."""
    if isinstance(node, Range) and node.field == "createdAt":
        return range_seconds(node, now)
    if isinstance(node, Term) and node.field == "createdAt":
        return period_seconds(node, now)
    return None


def _period(field: str, value: str, position: int, now: datetime) -> Period:
    try:
        return resolve(value, now)
    except DateMathError as exc:
        message = f"invalid date for {field} at position {position}: {exc.message}"
        raise QueryValueError(message, position) from None


_FLAT_CHAIN = 16


class _Parenthesised(Grouping[bool]):
    """A grouping that `and_`/`or_` keep as one operand instead of flattening it into theirs."""

    inherit_cache = True
    operator = None


def _balanced(combine: Callable[..., Condition], conditions: list[Condition]) -> Condition:
    """AND/OR of many conditions as a balanced, parenthesised tree.

    SQLite parses `a AND b AND c …` into a tree as deep as the chain and refuses depth 1000, which a
    2,000-character query of bare words reaches; halving keeps the depth logarithmic.
    """
    if len(conditions) <= _FLAT_CHAIN:
        return combine(*conditions)
    middle = len(conditions) // 2
    return combine(
        _Parenthesised(_balanced(combine, conditions[:middle])),
        _Parenthesised(_balanced(combine, conditions[middle:])),
    )


def _with_attachments(node: Node, value: str) -> IdList | None:
    """The conversations with attachments as a list, when `node` is `attachments:<value>`. Short
    by what it is: its partial index (migration 0017) holds those conversations only."""
    if not isinstance(node, Term) or node.field != "attachments" or node.value.strip().lower() != value:
        return None
    attached = conversations.c.has_attachments.is_(true())
    return IdList(select(conversations.c.id).where(attached), True, attached, attached, short=True)


_OWNED = conversations.alias("owned")
_SPACE: ColumnElement[str] = literal_column("' '", String)


def bare_term_customers(value: str, prefix: bool) -> Select[Any]:
    """Ids of the customers a bare term names: first, last or full name, or email address."""
    value = value.strip()
    if prefix:
        pattern = literal(like_prefix(value.lower()), String)
        low, high = prefix_bounds(value.lower())
        bounds = (literal(low, String), literal(high, String) if high is not None else None)
        return _customers_named(pattern, pattern, prefix=True, full_name=False, bounds=bounds)
    return _customers_named(
        func.lower(literal(value, String)),
        literal(value.lower(), String),
        prefix=False,
        full_name=" " in value,
    )


def _customers_named(
    name: ColumnElement[str],
    email: ColumnElement[str],
    *,
    prefix: bool,
    full_name: bool,
    bounds: tuple[ColumnElement[str], ColumnElement[str] | None] | None = None,
) -> Select[Any]:
    """The customers whose first, last (or, with `full_name`, full) name is `name` and those
    with the address `email`; with `prefix`, both are LIKE patterns (escape `!`) and `bounds`
    the range of lower-cased values they start (see `prefix_bounds`)."""
    name_matches: Condition
    email_matches: Condition
    if prefix:
        assert bounds is not None, "a prefix's range"
        first, last = func.lower(customers.c.first_name), func.lower(customers.c.last_name)
        name_matches = or_(
            and_(_in_range(first, bounds), first.like(name, escape="!")),
            and_(_in_range(last, bounds), last.like(name, escape="!")),
        )
        value = customer_emails.c.value
        email_matches = and_(_in_range(value, bounds), value.like(email, escape="!"))
    else:
        names = [func.lower(customers.c.first_name) == name, func.lower(customers.c.last_name) == name]
        if full_name:
            # A full name always holds a space; the expression matches ix_customers_full_name_lower.
            names.append(
                func.lower(customers.c.first_name.concat(_SPACE).concat(customers.c.last_name)) == name
            )
        name_matches = or_(*names)
        email_matches = customer_emails.c.value == email
    by_name = select(customers.c.id).where(name_matches)
    by_email = select(customer_emails.c.customer_id).where(email_matches)
    # UNION ALL: the ids are tested with IN or for being there at all, so duplicates do no harm,
    # and a check for any one stops at the first instead of collecting every match first.
    return by_name.union_all(by_email)  # type: ignore[return-value]


def _in_range(value: ColumnElement[str], bounds: tuple[Any, Any]) -> ColumnElement[bool]:
    """SQLite: `value` within a prefix's range, so that its index finds the candidates (a LIKE
    alone read every customer: 48 ms a prefix search at 100k customers, against 0.2 ms)."""
    low, high = bounds
    return SqliteIndexRange(and_(value >= low, value < high) if high is not None else value >= low)


def prefix_bounds(prefix: str) -> tuple[str, str | None]:
    """The range of strings that start with `prefix` in binary order: [prefix, the next prefix),
    None for no upper end (a prefix of nothing but U+10FFFF, the last code point)."""
    stem = prefix.rstrip(_LAST_CODE_POINT)
    if not stem:
        return prefix, None
    return prefix, stem[:-1] + chr(ord(stem[-1]) + 1)


_LAST_CODE_POINT = chr(0x10FFFF)


@lru_cache(maxsize=4)
def _customer_named_check(prefix: bool, full_name: bool) -> Prepared:
    name = bindparam("name", type_=String)
    wanted = name if prefix else func.lower(name)
    bounds = (bindparam("low", type_=String), bindparam("high", type_=String)) if prefix else None
    named = _customers_named(
        wanted, bindparam("email", type_=String), prefix=prefix, full_name=full_name, bounds=bounds
    )
    return Prepared(named.limit(1))


def names_a_customer(conn: Connection, value: str, prefix: bool) -> bool:
    """Whether a bare term names any customer (`bare_term_customers` finds one).

    Every search of a bare word asks this. A fixed statement per shape run on the cursor
    (kit/prepared.py) costs a fraction of building and executing the select each time.
    """
    value = value.strip()
    if prefix:
        pattern = like_prefix(value.lower())
        low, high = prefix_bounds(value.lower())
        if high is None:
            return conn.execute(bare_term_customers(value, True).limit(1)).first() is not None
        return bool(
            _customer_named_check(True, False).rows(conn, name=pattern, email=pattern, low=low, high=high)
        )
    return bool(_customer_named_check(False, " " in value).rows(conn, name=value, email=value.lower()))


def _customer_in(customer_ids: Select[Any]) -> Condition:
    return and_(conversations.c.customer_id.is_not(None), conversations.c.customer_id.in_(customer_ids))


def like_prefix(value: str) -> str:
    """A LIKE pattern (escape `!`) for values starting with `value`."""
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"


def value_error(term: Term, problem: str) -> QueryValueError:
    """`field problem (at position N)`: how every bad value of a query is reported."""
    return QueryValueError(f"{term.field} {problem} (at position {term.position})", term.position)


def _integer(term: Term, value: str) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise value_error(term, f"expects a whole number, got {value!r}")
    return int(value)


def _range_integer(node: Range, value: str) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise QueryValueError(
            f"{node.field} expects whole numbers as range bounds, got {value!r} "
            f"(at position {node.position})",
            node.position,
        )
    return int(value)


def _choice(term: Term, allowed: tuple[str, ...]) -> str:
    value = term.value.strip().lower()
    if value not in allowed:
        raise value_error(term, f"expects one of {', '.join(allowed)}, got {term.value!r}")
    return value


def _floor_seconds(instant: datetime) -> int:
    elapsed = instant - _EPOCH
    return elapsed.days * 86400 + elapsed.seconds


def _ceil_seconds(instant: datetime) -> int:
    elapsed = instant - _EPOCH
    return _floor_seconds(instant) + (1 if elapsed.microseconds else 0)
