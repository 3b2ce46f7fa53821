"""Our query AST → one SQLAlchemy condition over `conversations`, per dialect, plus a relevance score.

Shapes are chosen for speed (stack-notes §A.8, §C.3): every field is a plain column test or an
`id IN (SELECT …)` subquery, never a join that could duplicate rows or make SQLite probe its FTS
index once per conversation. Full-text parts use FTS5 `MATCH` on SQLite and the GIN-indexed
`tsvector` columns with the `simple` configuration on PostgreSQL. Every user value is a bound
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

import re
import unicodedata
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    Select,
    String,
    and_,
    column,
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
from sqlalchemy.sql.expression import Grouping

from tidings.db.tables import (
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
from tidings.search.datemath import DateMathError, Period, resolve
from tidings.search.parse import And, Node, Not, Or, QueryError, Range, Term

__all__ = ["DIALECTS", "CompiledQuery", "QueryValueError", "compile_query"]

DIALECTS = ("sqlite", "postgresql")
STATUSES = ("active", "pending", "closed", "spam")
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
class CompiledQuery:
    """`condition` filters conversations; `score` ranks them, larger = more relevant.

    `score` is None, and `has_text` False, unless some subject, body or bare term is searched for
    outside a NOT: only those terms contribute to relevance.
    """

    condition: Condition
    score: ColumnElement[float] | None
    has_text: bool


def compile_query(node: Node, *, dialect: str, now: datetime) -> CompiledQuery:
    """Translate a parsed query for `dialect` ("sqlite" or "postgresql"); `now` is what NOW means."""
    if dialect not in DIALECTS:
        raise ValueError(f"unsupported dialect {dialect!r}; expected one of {DIALECTS}")
    text: _TextSearch[Any] = _SqliteText() if dialect == "sqlite" else _PostgresText()
    condition = _Compiler(text, now).compile(node, negated=False)
    score = text.score()
    return CompiledQuery(condition=condition, score=score, has_text=score is not None)


def tokens(value: str) -> list[str]:
    """Words as FTS5's unicode61 tokenizer splits them: runs of letters and digits, lower-cased."""
    return _TOKEN.findall(unicodedata.normalize("NFC", value).lower())


class _TextSearch(ABC, Generic[Q]):
    """Full-text conditions and scoring for one dialect; `Q` is the query form it matches with.

    It remembers the queries of positive text terms (not under NOT) to rank conversations by.
    """

    def __init__(self) -> None:
        self.subject_queries: list[Q] = []
        self.body_queries: list[Q] = []

    def subject(self, value: str, words: list[str], prefix: bool, *, scored: bool) -> Condition:
        query = self.all_words(value, words, prefix)
        if scored:
            self.subject_queries.append(query)
        return self.in_subject(query)

    def body(self, value: str, words: list[str], prefix: bool, *, scored: bool) -> Condition:
        query = self.phrase(value, words, prefix)
        if scored:
            self.body_queries.append(query)
        return self.in_body(query)

    @abstractmethod
    def all_words(self, value: str, words: list[str], prefix: bool) -> Q: ...

    @abstractmethod
    def phrase(self, value: str, words: list[str], prefix: bool) -> Q: ...

    @abstractmethod
    def in_subject(self, query: Q) -> Condition: ...

    @abstractmethod
    def in_body(self, query: Q) -> Condition: ...

    @abstractmethod
    def score(self) -> ColumnElement[float] | None: ...


_CONVERSATIONS_FTS = table("conversations_fts", column("rowid"))
_THREADS_FTS = table("threads_fts", column("rowid"))


def _fts_string(word: str) -> str:
    return '"' + word.replace('"', '""') + '"'


def _fts_match(fts_table: str, query: str) -> Condition:
    return literal_column(fts_table).op("MATCH", is_comparison=True)(literal(query, String))


def _bm25_relevance(fts_table: str) -> ColumnElement[float]:
    return -func.bm25(literal_column(fts_table), type_=Float)


class _SqliteText(_TextSearch[str]):
    """FTS5: `id IN (SELECT rowid … MATCH ?)`, which measured 200× faster than a join."""

    def all_words(self, value: str, words: list[str], prefix: bool) -> str:
        quoted = [_fts_string(word) for word in words]
        if prefix:
            quoted[-1] += " *"
        return " AND ".join(quoted)

    def phrase(self, value: str, words: list[str], prefix: bool) -> str:
        return _fts_string(" ".join(words)) + (" *" if prefix else "")

    def in_subject(self, query: str) -> Condition:
        matching = select(_CONVERSATIONS_FTS.c.rowid).where(_fts_match("conversations_fts", query))
        return conversations.c.id.in_(matching)

    def in_body(self, query: str) -> Condition:
        matching_threads = select(_THREADS_FTS.c.rowid).where(_fts_match("threads_fts", query))
        return conversations.c.id.in_(
            select(threads.c.conversation_id).where(threads.c.id.in_(matching_threads))
        )

    def score(self) -> ColumnElement[float] | None:
        if not self.subject_queries and not self.body_queries:
            return None
        parts: list[ColumnElement[float]] = []
        if self.subject_queries:
            subject_query = " OR ".join(f"({query})" for query in self.subject_queries)
            subject_relevance = (
                select(_bm25_relevance("conversations_fts"))
                .where(
                    _fts_match("conversations_fts", subject_query),
                    _CONVERSATIONS_FTS.c.rowid == conversations.c.id,
                )
                .scalar_subquery()
            )
            parts.append(func.coalesce(subject_relevance, 0.0, type_=Float))
        if self.body_queries:
            body_query = " OR ".join(f"({query})" for query in self.body_queries)
            # FTS5 ranks only in a lookup by rowid, so rank each thread of the conversation.
            thread_relevance = (
                select(_bm25_relevance("threads_fts"))
                .where(_fts_match("threads_fts", body_query), _THREADS_FTS.c.rowid == threads.c.id)
                .scalar_subquery()
            )
            best_thread = (
                select(func.max(thread_relevance, type_=Float))
                .where(threads.c.conversation_id == conversations.c.id)
                .scalar_subquery()
            )
            parts.append(func.coalesce(best_thread, 0.0, type_=Float))
        return _sum(parts)


# Not in the metadata: the migration adds these generated columns on PostgreSQL only.
_SIMPLE: ColumnElement[Any] = literal_column("'simple'::regconfig")
_SUBJECT_TSV: ColumnElement[Any] = literal_column("conversations.subject_tsv")
_BODY_TSV: ColumnElement[Any] = literal_column("threads.body_tsv")


def _tsquery_word(word: str) -> str:
    return "'" + word.replace("'", "''") + "'"


def _tsquery(words: list[str], joiner: str, prefix: bool) -> ColumnElement[Any]:
    quoted = [_tsquery_word(word) for word in words]
    if prefix:
        quoted[-1] += ":*"
    return func.to_tsquery(_SIMPLE, literal(joiner.join(quoted), String))


def _matches(tsv: ColumnElement[Any], query: ColumnElement[Any]) -> Condition:
    return tsv.op("@@", is_comparison=True)(query)


def _tsquery_or(queries: list[ColumnElement[Any]]) -> ColumnElement[Any]:
    """`q1 || q2 || …` as a balanced tree: a long chain would be too deep to compile."""
    if len(queries) == 1:
        return queries[0]
    middle = len(queries) // 2
    return _tsquery_or(queries[:middle]).op("||")(_tsquery_or(queries[middle:]))


class _PostgresText(_TextSearch[ColumnElement[Any]]):
    """tsvector columns generated with `to_tsvector('simple', …)` and GIN-indexed."""

    def all_words(self, value: str, words: list[str], prefix: bool) -> ColumnElement[Any]:
        query = _tsquery(words, " & ", prefix)
        if prefix:
            return query
        return _tsquery_or([query, func.plainto_tsquery(_SIMPLE, literal(value, String))])

    def phrase(self, value: str, words: list[str], prefix: bool) -> ColumnElement[Any]:
        query = _tsquery(words, " <-> ", prefix)
        if prefix:
            return query
        return _tsquery_or([query, func.phraseto_tsquery(_SIMPLE, literal(value, String))])

    def in_subject(self, query: ColumnElement[Any]) -> Condition:
        return _matches(_SUBJECT_TSV, query)

    def in_body(self, query: ColumnElement[Any]) -> Condition:
        return conversations.c.id.in_(select(threads.c.conversation_id).where(_matches(_BODY_TSV, query)))

    def score(self) -> ColumnElement[float] | None:
        if not self.subject_queries and not self.body_queries:
            return None
        parts: list[ColumnElement[float]] = []
        if self.subject_queries:
            subject_query = _tsquery_or(self.subject_queries)
            # A subject hit says more about a conversation than a hit in one of its threads.
            parts.append(2.0 * func.ts_rank(_SUBJECT_TSV, subject_query, type_=Float))
        if self.body_queries:
            body_query = _tsquery_or(self.body_queries)
            best_thread = (
                select(func.max(func.ts_rank(_BODY_TSV, body_query, type_=Float)))
                .where(threads.c.conversation_id == conversations.c.id, _matches(_BODY_TSV, body_query))
                .scalar_subquery()
            )
            parts.append(func.coalesce(best_thread, 0.0, type_=Float))
        return _sum(parts)


def _sum(parts: list[ColumnElement[float]]) -> ColumnElement[float]:
    total = parts[0]
    for part in parts[1:]:
        total = total + part
    return total


class _Compiler:
    """Walks the AST, one handler per field; `negated` tracks whether a NOT encloses the node."""

    def __init__(self, text: _TextSearch[Any], now: datetime) -> None:
        self.text = text
        self.now = now
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
            return _balanced(or_, [self.compile(child, negated=negated) for child in node.children])
        if isinstance(node, Not):
            return not_(self.compile(node.child, negated=not negated))
        if isinstance(node, Range):
            return self._range(node)
        handler = self.fields.get(node.field)
        if handler is None:
            raise QueryValueError(f"unknown field {node.field!r} at position {node.position}", node.position)
        if node.prefix and node.field not in TEXT_FIELDS:
            raise _value_error(node, "does not support wildcards; '*' works on subject, body and bare words")
        return handler(node, negated)

    # text

    def _subject(self, term: Term, negated: bool) -> Condition:
        words = tokens(term.value)
        if not words:
            return false()
        return self.text.subject(term.value, words, term.prefix, scored=not negated)

    def _body(self, term: Term, negated: bool) -> Condition:
        words = tokens(term.value)
        if not words:
            return false()
        return self.text.body(term.value, words, term.prefix, scored=not negated)

    def _bare(self, term: Term, negated: bool) -> Condition:
        """A value without a field: subject, body, the customer's first, last or full name, or email."""
        value = term.value.strip()
        name_matches: Condition
        email_matches: Condition
        if term.prefix:
            pattern = _like_prefix(value.lower())
            name_matches = or_(
                func.lower(customers.c.first_name).like(pattern, escape="!"),
                func.lower(customers.c.last_name).like(pattern, escape="!"),
            )
            email_matches = customer_emails.c.value.like(pattern, escape="!")
        else:
            wanted = func.lower(literal(value, String))
            name_matches = or_(
                func.lower(customers.c.first_name) == wanted,
                func.lower(customers.c.last_name) == wanted,
                func.lower(customers.c.first_name + " " + customers.c.last_name) == wanted,
            )
            email_matches = customer_emails.c.value == value.lower()
        return or_(
            self._subject(term, negated),
            self._body(term, negated),
            _customer_in(select(customers.c.id).where(name_matches)),
            _customer_in(select(customer_emails.c.customer_id).where(email_matches)),
        )

    # exact values

    def _tag(self, term: Term, negated: bool) -> Condition:
        tag_ids = select(tags.c.id).where(tags.c.name == term.value.lower())
        return conversations.c.id.in_(
            select(conversation_tags.c.conversation_id).where(conversation_tags.c.tag_id.in_(tag_ids))
        )

    def _mailbox(self, term: Term, negated: bool) -> Condition:
        named = func.lower(mailboxes.c.name) == func.lower(literal(term.value, String))
        return conversations.c.mailbox_id.in_(select(mailboxes.c.id).where(named))

    def _mailbox_id(self, term: Term, negated: bool) -> Condition:
        return conversations.c.mailbox_id == _integer(term, term.value)

    def _email(self, term: Term, negated: bool) -> Condition:
        address = term.value.strip().lower()
        copied = select(conversation_emails.c.conversation_id).where(conversation_emails.c.email == address)
        owned = select(customer_emails.c.customer_id).where(customer_emails.c.value == address)
        return or_(conversations.c.id.in_(copied), _customer_in(owned))

    def _customer_id(self, term: Term, negated: bool) -> Condition:
        customer_id = _integer(term, term.value)
        return and_(conversations.c.customer_id.is_not(None), conversations.c.customer_id == customer_id)

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
            raise _value_error(term, f"expects true or false, got {term.value!r}")
        has_attachments = conversations.c.has_attachments
        return has_attachments.is_(true()) if value == "true" else has_attachments.is_(false())

    def _reply_user_id(self, term: Term, negated: bool) -> Condition:
        replies = select(threads.c.conversation_id).where(
            threads.c.type == "message",
            threads.c.created_by_type == "user",
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
        period = self._period(term.field or "", term.value, term.position)
        return and_(stored >= _ceil_seconds(period.start), stored < _ceil_seconds(period.end_exclusive))

    def _period(self, field: str, value: str, position: int) -> Period:
        try:
            return resolve(value, self.now)
        except DateMathError as exc:
            raise QueryValueError(
                f"invalid date for {field} at position {position}: {exc.message}", position
            ) from None

    def _range(self, node: Range) -> Condition:
        if node.field not in RANGE_FIELDS:
            raise QueryValueError(
                f"{node.field} does not accept a range (at position {node.position}); "
                f"ranges work on {', '.join(RANGE_FIELDS)}",
                node.position,
            )
        bounds: list[Condition] = []
        if node.field in ("createdAt", "modifiedAt"):
            stored = conversations.c.created_at if node.field == "createdAt" else conversations.c.modified_at
            if node.low is not None:
                low = self._period(node.field, node.low, node.position).start
                bounds.append(
                    stored >= _ceil_seconds(low) if node.include_low else stored > _floor_seconds(low)
                )
            if node.high is not None:
                high = self._period(node.field, node.high, node.position).start
                bounds.append(
                    stored <= _floor_seconds(high) if node.include_high else stored < _ceil_seconds(high)
                )
        else:
            column_ = conversations.c.number if node.field == "number" else conversations.c.id
            if node.low is not None:
                low_number = _range_integer(node, node.low)
                bounds.append(column_ >= low_number if node.include_low else column_ > low_number)
            if node.high is not None:
                high_number = _range_integer(node, node.high)
                bounds.append(column_ <= high_number if node.include_high else column_ < high_number)
        return and_(true(), *bounds)


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


def _customer_in(customer_ids: Select[Any]) -> Condition:
    return and_(conversations.c.customer_id.is_not(None), conversations.c.customer_id.in_(customer_ids))


def _like_prefix(value: str) -> str:
    escaped = value.replace("!", "!!").replace("%", "!%").replace("_", "!_")
    return escaped + "%"


def _value_error(term: Term, problem: str) -> QueryValueError:
    return QueryValueError(f"{term.field} {problem} (at position {term.position})", term.position)


def _integer(term: Term, value: str) -> int:
    if not _INTEGER.fullmatch(value.strip()):
        raise _value_error(term, f"expects a whole number, got {value!r}")
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
        raise _value_error(term, f"expects one of {', '.join(allowed)}, got {term.value!r}")
    return value


def _floor_seconds(instant: datetime) -> int:
    elapsed = instant - _EPOCH
    return elapsed.days * 86400 + elapsed.seconds


def _ceil_seconds(instant: datetime) -> int:
    elapsed = instant - _EPOCH
    return _floor_seconds(instant) + (1 if elapsed.microseconds else 0)
