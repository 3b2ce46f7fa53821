"""The `query=` text → our own small AST, with positions for error messages.

luqum does the Lucene grammar; this module closes its gaps (stack-notes §A.6) and hands the rest of
the code a tree of five frozen node types that cannot hold anything we do not support, so the
compiler never meets fuzzy, boost or regex nodes. Decisions on the open points:

- Limits first: more than 2,000 characters, or parentheses nested deeper than 32, are rejected
  before luqum runs (its tree walks recurse); so is a NUL character, which PostgreSQL cannot
  take as a parameter. `""` and `*` mean "no filter" (`None`).
- Curly quotes `“ ”` become `"` and `‘ ’` become `'`, as Help Scout's own page prints them.
- Lower-case `and`, `or`, `not` are operators like `AND`, `OR`, `NOT` (mixed case such as `And` is
  a word); lower-case `to` is an operator only inside range brackets, so `how to` stays text.
  A word right after `field:` is always a value (`subject:and`); elsewhere, quote these words.
- `&&`, `||` and a leading `!` are Lucene's spellings of AND, OR and NOT, and are read as such.
- Terms side by side mean AND, with AND's precedence: `a OR b c` is `a OR (b AND c)`.
  Precedence is NOT > AND > OR. `+term` is the term itself, `-term` is NOT term.
- Field names are matched case-insensitively (`MailboxId:1` is `mailboxid:1`) and the AST carries
  the documented spelling; an unknown field is an error that lists the known ones.
- `word*` is a prefix search; a `*` anywhere else, a lone `*` in a query, fuzzy `~`, proximity,
  boost `^`, regular expressions `/…/` and `>`/`<` open ranges are rejected with a message saying
  so. `?` is not a wildcard: it is kept as typed (text search ignores it as punctuation).
- Range bounds may be quoted (`["2014-02-27T00:00:00+02:00" TO *]`); an unquoted `*` bound is an
  open end. An unquoted value with a time-zone offset mis-parses as a field inside a field and is
  rejected with a hint to quote it.
"""

from __future__ import annotations

import decimal
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from luqum import tree
from luqum.thread import parse as luqum_parse

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "Node",
    "Not",
    "Or",
    "QueryError",
    "QuerySyntaxError",
    "Range",
    "Term",
    "parse_query",
]

MAX_LENGTH = 2000
MAX_DEPTH = 32

FIELDS = (
    "subject",
    "body",
    "tag",
    "mailbox",
    "mailboxid",
    "email",
    "customerIds",
    "number",
    "id",
    "assigned",
    "attachments",
    "replyUserIds",
    "modifiedAt",
    "createdAt",
    "status",
    "type",
)


class QueryError(Exception):
    """A query the API answers with 400: `message` says what, `position` where (0-based)."""

    def __init__(self, message: str, position: int) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


class QuerySyntaxError(QueryError):
    """The text is not a query we can read."""


@dataclass(frozen=True)
class Term:
    """`field:value`, or a bare value when `field` is None. `position` is where the value starts."""

    field: str | None
    value: str
    quoted: bool
    prefix: bool
    position: int


@dataclass(frozen=True)
class Range:
    """`field:[low TO high]`; a None bound is open. `position` is where the bracket is."""

    field: str
    low: str | None
    high: str | None
    include_low: bool
    include_high: bool
    position: int


@dataclass(frozen=True)
class And:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    children: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    child: Node


Node = And | Or | Not | Term | Range

_CURLY_QUOTES = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'"})
_WORD_OPERATORS = {"and": "AND", "or": "OR", "not": "NOT", "&&": "AND", "||": "OR"}
_BOUNDARIES = frozenset("()[]{}:^~")
_LUQUM_POSITION = re.compile(r"at position (\d+)")
_LUQUM_UNEXPECTED = re.compile(r"unexpected\s+'(.*)' at position")
_ESCAPED = re.compile(r"\\(.)", re.DOTALL)


def parse_query(text: str, fields: Sequence[str] = FIELDS) -> Node | None:
    """Parse a `query=` value whose fields are `fields` (the conversation fields unless said
    otherwise); None means no filter. Raises QuerySyntaxError."""
    return _parsed(text, tuple(fields))


# Parsing takes luqum ~0.1 ms for one word, more for longer queries, on every search; the tree
# is immutable, so a query asked again (a client polling, the next page) reuses it. Errors are
# not kept.
@lru_cache(maxsize=1024)
def _parsed(text: str, fields: tuple[str, ...]) -> Node | None:
    if len(text) > MAX_LENGTH:
        raise QuerySyntaxError(f"query is {len(text)} characters long; the limit is {MAX_LENGTH}", MAX_LENGTH)
    if "\x00" in text:
        position = text.index("\x00")
        raise QuerySyntaxError(f"query contains a NUL character at position {position}", position)
    text = text.translate(_CURLY_QUOTES)
    if text.strip() in ("", "*"):
        return None
    prepared, origin = _prepare(text)
    try:
        luqum_tree = luqum_parse(prepared)
    except Exception as exc:
        raise _syntax_error(exc, prepared, origin, len(text)) from None
    try:
        return _Converter(origin, fields).convert(luqum_tree, None)
    except RecursionError:
        raise QuerySyntaxError("query is nested too deeply", 0) from None


def _prepare(text: str) -> tuple[str, list[int]]:
    """Rewrite operator spellings luqum misses; map each output character to its input index.

    A small scanner that follows luqum's lexer closely enough to tell phrases, regular expressions
    and range brackets apart from words, so that only whole bare words are rewritten. It also
    enforces the nesting limit.
    """
    out: list[str] = []
    origin: list[int] = []

    def emit(piece: str, at: int) -> None:
        out.extend(piece)
        origin.extend([at] * len(piece))

    def copy(start: int, end: int) -> None:
        out.extend(text[start:end])
        origin.extend(range(start, end))

    depth = 0
    in_range = False
    i, length = 0, len(text)
    while i < length:
        char = text[i]
        if char.isspace() or char in _BOUNDARIES:
            if char == "(":
                depth += 1
                if depth > MAX_DEPTH:
                    raise QuerySyntaxError(
                        f"parentheses nested deeper than {MAX_DEPTH} levels at position {i}", i
                    )
            elif char == ")":
                depth = max(depth - 1, 0)
            elif char in "[{":
                in_range = True
            elif char in "]}":
                in_range = False
            copy(i, i + 1)
            i += 1
        elif char in '"/':
            end = _closing(text, i + 1, char)
            copy(i, end)
            i = end
        elif char in "+-<>'":
            copy(i, i + 1)
            i += 1
        elif char == "!":
            follows_word = i + 1 < length and not text[i + 1].isspace()
            emit("NOT " if follows_word else "NOT", i)
            i += 1
        else:
            end = _word_end(text, i)
            word = text[i:end]
            is_value = i > 0 and text[i - 1] == ":"
            if is_value:
                copy(i, end)
            elif in_range and word == "to":
                emit("TO", i)
            elif not in_range and word in _WORD_OPERATORS:
                emit(_WORD_OPERATORS[word], i)
            else:
                copy(i, end)
            i = end
    return "".join(out), origin


def _closing(text: str, start: int, delimiter: str) -> int:
    """Index after the unescaped `delimiter` closing a phrase or regex (or the end of text)."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
        elif text[i] == delimiter:
            return i + 1
        else:
            i += 1
    return len(text) if delimiter == '"' else start


def _word_end(text: str, start: int) -> int:
    i = start
    while i < len(text) and not (text[i].isspace() or text[i] in _BOUNDARIES):
        i += 2 if text[i] == "\\" else 1
    return min(i, len(text))


def _syntax_error(exc: Exception, prepared: str, origin: list[int], length: int) -> QuerySyntaxError:
    if isinstance(exc, decimal.InvalidOperation):
        index = min((i for i, char in enumerate(prepared) if char in "~^"), default=0)
        position = origin[index] if index < len(origin) else 0
        return QuerySyntaxError(
            f"query can't be parsed: a bad number after '~' or '^' at position {position}", position
        )
    message = str(exc)
    found = _LUQUM_POSITION.search(message)
    if found is None:
        if "end of expression" in message:
            return QuerySyntaxError(
                "query can't be parsed: it ends too early (an unclosed parenthesis, quote or bracket, "
                f"or a missing term after an operator) at position {length}",
                length,
            )
        return QuerySyntaxError("query can't be parsed", 0)
    index = int(found.group(1))
    position = origin[index] if index < len(origin) else length
    unexpected = _LUQUM_UNEXPECTED.search(message)
    if unexpected is not None:
        what = f"unexpected {unexpected.group(1)!r}"
    elif "Illegal character '\"" in message:
        what = "an unclosed quote"
    elif "Illegal character" in message:
        what = "unexpected character"
    else:
        what = "unexpected input"
    return QuerySyntaxError(f"query can't be parsed: {what} at position {position}", position)


_OR_MARK = object()


class _Converter:
    """luqum tree → our AST, refusing every construct the compiler does not support."""

    def __init__(self, origin: list[int], fields: Sequence[str]) -> None:
        self.origin = origin
        self.fields = fields
        self.field_by_lower_name = {name.lower(): name for name in fields}

    def position(self, item: tree.Item) -> int:
        pos = getattr(item, "pos", None)
        if pos is None or not self.origin:
            return 0
        return self.origin[min(pos, len(self.origin) - 1)]

    def convert(self, item: tree.Item, field: str | None) -> Node:
        negated = False
        while True:
            if isinstance(item, tree.Not | tree.Prohibit):
                negated = not negated
                item = item.a
            elif isinstance(item, tree.Plus):
                item = item.a
            elif isinstance(item, tree.BaseGroup):
                item = item.expr
            else:
                break
        node = self._convert_one(item, field)
        return Not(node) if negated else node

    def _convert_one(self, item: tree.Item, field: str | None) -> Node:
        if isinstance(item, tree.BaseOperation):
            return self._operation(item, field)
        if isinstance(item, tree.SearchField):
            return self._search_field(item, field)
        if isinstance(item, tree.Regex):
            raise self._unsupported(
                item, "regular expressions (/…/) are not supported; quote values with '/'"
            )
        if isinstance(item, tree.Phrase):
            return Term(field, _unescape(item.value[1:-1]), True, False, self.position(item))
        if isinstance(item, tree.Word):
            return self._word(item, field)
        if isinstance(item, tree.Range):
            return self._range(item, field)
        if isinstance(item, tree.Proximity):
            raise self._unsupported(item, 'proximity search ("…"~N) is not supported')
        if isinstance(item, tree.Fuzzy):
            raise self._unsupported(item, "fuzzy search (~) is not supported")
        if isinstance(item, tree.Boost):
            raise self._unsupported(item, "boosting (^) is not supported")
        if isinstance(item, tree.OpenRange):
            raise self._unsupported(item, "'>' and '<' are not supported; use a range like [value TO *]")
        raise self._unsupported(item, "this part of the query is not supported")

    def _unsupported(self, item: tree.Item, what: str) -> QuerySyntaxError:
        position = self.position(item)
        return QuerySyntaxError(f"{what} (at position {position})", position)

    def _operation(self, item: tree.BaseOperation, field: str | None) -> Node:
        """Rebuild AND/OR/implicit chains so that side-by-side terms bind like AND."""
        alternatives: list[list[Node]] = [[]]
        for part in _linearise(item):
            if part is _OR_MARK:
                alternatives.append([])
            else:
                alternatives[-1].append(self.convert(part, field))
        conjunctions = [_combine(And, nodes) for nodes in alternatives]
        return _combine(Or, conjunctions)

    def _search_field(self, item: tree.SearchField, field: str | None) -> Node:
        position = self.position(item)
        if field is not None:
            raise QuerySyntaxError(
                f"unexpected ':' in the value of {field} at position {position}; "
                'quote values that contain ":" (for example "2014-02-27T00:00:00+02:00")',
                position,
            )
        name = self.field_by_lower_name.get(item.name.lower())
        if name is None:
            raise QuerySyntaxError(
                f"unknown field {item.name!r} at position {position}; known fields: {', '.join(self.fields)}",
                position,
            )
        return self.convert(item.expr, name)

    def _word(self, item: tree.Word, field: str | None) -> Term:
        raw: str = item.value
        position = self.position(item)
        prefix = raw.endswith("*") and not _is_escaped(raw, len(raw) - 1)
        stem = raw[:-1] if prefix else raw
        if stem == "" or any(c == "*" and not _is_escaped(stem, i) for i, c in enumerate(stem)):
            raise QuerySyntaxError(
                f"wildcard '*' is only supported at the end of a word, as in coff* (at position {position})",
                position,
            )
        return Term(field, _unescape(stem), False, prefix, position)

    def _range(self, item: tree.Range, field: str | None) -> Range:
        position = self.position(item)
        if field is None:
            raise QuerySyntaxError(
                f"a range needs a field, as in createdAt:[2014 TO *] (at position {position})", position
            )
        return Range(
            field,
            self._bound(item.low),
            self._bound(item.high),
            bool(item.include_low),
            bool(item.include_high),
            position,
        )

    def _bound(self, item: tree.Item) -> str | None:
        sign = ""
        if isinstance(item, tree.Prohibit):
            sign, item = "-", item.a
        if isinstance(item, tree.Phrase):
            return sign + _unescape(item.value[1:-1])
        if isinstance(item, tree.Word):
            if item.value == "*" and not sign:
                return None
            return sign + _unescape(item.value)
        raise self._unsupported(item, "a range bound must be a value or *")


def _linearise(item: tree.Item) -> list[tree.Item | object]:
    """Operands of an ungrouped AND/OR/implicit chain in text order, with OR marks between."""
    if not isinstance(item, tree.BaseOperation):
        return [item]
    parts: list[tree.Item | object] = []
    for index, operand in enumerate(item.operands):
        if index and isinstance(item, tree.OrOperation):
            parts.append(_OR_MARK)
        parts.extend(_linearise(operand))
    return parts


def _combine(kind: type[And] | type[Or], nodes: list[Node]) -> Node:
    flat: list[Node] = []
    for node in nodes:
        flat.extend(node.children if isinstance(node, kind) else (node,))
    return flat[0] if len(flat) == 1 else kind(tuple(flat))


def _is_escaped(text: str, index: int) -> bool:
    backslashes = 0
    while index - backslashes - 1 >= 0 and text[index - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def _unescape(text: str) -> str:
    return _ESCAPED.sub(r"\1", text)
