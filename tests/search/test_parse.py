"""Query text → AST: Help Scout's own examples, every luqum gap we close, limits, and fuzzing."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tidings.search.parse import (
    FIELDS,
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Node,
    Not,
    Or,
    QueryError,
    QuerySyntaxError,
    Range,
    Term,
    parse_query,
)


def T(field: str | None, value: str, position: int, *, quoted: bool = False, prefix: bool = False) -> Term:
    return Term(field, value, quoted, prefix, position)


def Q(field: str | None, value: str, position: int) -> Term:
    return Term(field, value, True, False, position)


def R(
    field: str, low: str | None, high: str | None, position: int, include: tuple[bool, bool] = (True, True)
) -> Range:
    return Range(field, low, high, include[0], include[1], position)


# Every example row of the source page (list-conversations.txt), as printed there.
SOURCE_PAGE_EXAMPLES: list[tuple[str, Node]] = [
    (
        '(assigned:"spock" AND (customerIds: 123 OR customerIds: 567))',
        And((Q("assigned", "spock", 10), Or((T("customerIds", "123", 36), T("customerIds", "567", 56))))),
    ),
    ("(number: 123)", T("number", "123", 9)),
    ("tag:fire", T("tag", "fire", 4)),
    ('(subject:"rainbow")', Q("subject", "rainbow", 9)),
    ('(subject:"have a question")', Q("subject", "have a question", 9)),
    ('(subject:"coffee" OR subject:"tea")', Or((Q("subject", "coffee", 9), Q("subject", "tea", 29)))),
    ('(subject:"coffee tea")', Q("subject", "coffee tea", 9)),
    ('(tag:"carrots")', Q("tag", "carrots", 5)),
    ('(tag:"dogs love carrots")', Q("tag", "dogs love carrots", 5)),
    ('(tag:"dogs" OR tag:"carrots")', Or((Q("tag", "dogs", 5), Q("tag", "carrots", 19)))),
    ('(mailbox:"Orders")', Q("mailbox", "Orders", 9)),
    ("(mailboxid:100)", T("mailboxid", "100", 11)),
    ("(modifiedAt:[2014-02-27T00:00:00Z TO *])", R("modifiedAt", "2014-02-27T00:00:00Z", None, 12)),
    (
        "(modifiedAt:[2014-02-27T00:00:00Z TO 2014-02-27T23:59:59Z])",
        R("modifiedAt", "2014-02-27T00:00:00Z", "2014-02-27T23:59:59Z", 12),
    ),
    ("(modifiedAt:[NOW-1HOUR TO *])", R("modifiedAt", "NOW-1HOUR", None, 12)),
    (
        "(modifiedAt:[2013-01-01T00:00:00Z TO 2013-12-31T23:59:59Z])",
        R("modifiedAt", "2013-01-01T00:00:00Z", "2013-12-31T23:59:59Z", 12),
    ),
    ("(modifiedAt:[2014 TO 2014-12-01])", R("modifiedAt", "2014", "2014-12-01", 12)),
    ("(modifiedAt:2000-11)", T("modifiedAt", "2000-11", 12)),
    ("(createdAt:[2014-02-27T00:00:00Z TO *])", R("createdAt", "2014-02-27T00:00:00Z", None, 11)),
    (
        "(createdAt:[2014-02-27T00:00:00Z TO 2014-02-27T23:59:59Z])",
        R("createdAt", "2014-02-27T00:00:00Z", "2014-02-27T23:59:59Z", 11),
    ),
    ("(createdAt:[NOW-1HOUR TO *])", R("createdAt", "NOW-1HOUR", None, 11)),
    (
        "(createdAt:[2013-01-01T00:00:00Z/YEAR TO 2014-01-01T00:00:00Z/YEAR])",
        R("createdAt", "2013-01-01T00:00:00Z/YEAR", "2014-01-01T00:00:00Z/YEAR", 11),
    ),
    ('(email:"john@appleseed.com")', Q("email", "john@appleseed.com", 7)),
    (
        "(email:(john@appleseed.com OR vbear@mywork.com))",
        Or((T("email", "john@appleseed.com", 8), T("email", "vbear@mywork.com", 30))),
    ),
    ('(body:"what a beautiful day")', Q("body", "what a beautiful day", 6)),
    (
        '(body:"what a day" OR body:"how about tomorrow")',
        Or((Q("body", "what a day", 6), Q("body", "how about tomorrow", 27))),
    ),
    ("(customerIds:100)", T("customerIds", "100", 13)),
    ("(number:1234)", T("number", "1234", 8)),
    ("(id:123456)", T("id", "123456", 4)),
    ('(assigned:"spock")', Q("assigned", "spock", 10)),
    ("(attachments:true)", T("attachments", "true", 13)),
    ('(assigned:"Unassigned")', Q("assigned", "Unassigned", 10)),
]


@pytest.mark.parametrize(
    ("query", "expected"), SOURCE_PAGE_EXAMPLES, ids=[q for q, _ in SOURCE_PAGE_EXAMPLES]
)
def test_source_page_examples(query: str, expected: Node) -> None:
    assert parse_query(query) == expected


def _terms(node: Node | None) -> list[Term]:
    if isinstance(node, Term):
        return [node]
    if isinstance(node, And | Or):
        return [term for child in node.children for term in _terms(child)]
    if isinstance(node, Not):
        return _terms(node.child)
    return []


@pytest.mark.parametrize("query", [q for q, _ in SOURCE_PAGE_EXAMPLES])
def test_term_positions_point_at_the_value(query: str) -> None:
    for term in _terms(parse_query(query)):
        written = f'"{term.value}"' if term.quoted else term.value
        assert query[term.position :].startswith(written)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # no filter
        ("", None),
        ("   ", None),
        ("*", None),
        (" * ", None),
        # bare terms and phrases, prefixes, escapes
        ("coffee", T(None, "coffee", 0)),
        ('"what a day"', Q(None, "what a day", 0)),
        ("coff*", T(None, "coff", 0, prefix=True)),
        ("subject:coff*", T("subject", "coff", 8, prefix=True)),
        ('subject:"coff*"', Q("subject", "coff*", 8)),
        (r"subject:coff\*", T("subject", "coff*", 8)),
        ("john@appleseed.com", T(None, "john@appleseed.com", 0)),
        ("email:john+tag@appleseed.com", T("email", "john+tag@appleseed.com", 6)),
        ("tag:vip-customer", T("tag", "vip-customer", 4)),
        ("subject:a/b", T("subject", "a/b", 8)),
        ("subject:über", T("subject", "über", 8)),
        ('subject:"日本"', Q("subject", "日本", 8)),
        (r"subject:O\'Brien", T("subject", "O'Brien", 8)),
        (r'subject:"he said \"hi\""', Q("subject", 'he said "hi"', 8)),
        ('subject:""', Q("subject", "", 8)),
        ("password?", T(None, "password?", 0)),
        # operators, precedence and implicit AND
        (
            "tag:vip AND tag:gold OR tag:silver",
            Or((And((T("tag", "vip", 4), T("tag", "gold", 16))), T("tag", "silver", 28))),
        ),
        (
            "tag:vip OR tag:gold AND tag:silver",
            Or((T("tag", "vip", 4), And((T("tag", "gold", 15), T("tag", "silver", 28))))),
        ),
        ('assigned:"spock" tag:"urgent"', And((Q("assigned", "spock", 9), Q("tag", "urgent", 21)))),
        ("a OR b c", Or((T(None, "a", 0), And((T(None, "b", 5), T(None, "c", 7)))))),
        ("a b OR c", Or((And((T(None, "a", 0), T(None, "b", 2))), T(None, "c", 7)))),
        ("a b c", And((T(None, "a", 0), T(None, "b", 2), T(None, "c", 4)))),
        ("(a OR b) c", And((Or((T(None, "a", 1), T(None, "b", 6))), T(None, "c", 9)))),
        ("NOT tag:x", Not(T("tag", "x", 8))),
        ("-tag:x", Not(T("tag", "x", 5))),
        ("+tag:x", T("tag", "x", 5)),
        ("NOT NOT tag:x", T("tag", "x", 12)),
        ("-(-tag:x)", T("tag", "x", 7)),
        (
            "status:active AND NOT tag:processed",
            And((T("status", "active", 7), Not(T("tag", "processed", 26)))),
        ),
        ('(NOT email:"email@domain.com")', Not(Q("email", "email@domain.com", 11))),
        # field groups
        ("subject:(coffee OR tea)", Or((T("subject", "coffee", 9), T("subject", "tea", 19)))),
        ("subject:(coffee tea)", And((T("subject", "coffee", 9), T("subject", "tea", 16)))),
        ("subject:(coffee AND NOT tea)", And((T("subject", "coffee", 9), Not(T("subject", "tea", 24))))),
        ("replyUserIds:(23 OR 45)", Or((T("replyUserIds", "23", 14), T("replyUserIds", "45", 20)))),
        ('email:("a@x.com" OR b@y.com)', Or((Q("email", "a@x.com", 7), T("email", "b@y.com", 20)))),
        # ranges
        ("number:[10 TO 20]", R("number", "10", "20", 7)),
        ("id:{5 TO *]", R("id", "5", None, 3, (False, True))),
        ("number:[* TO 20}", R("number", None, "20", 7, (True, False))),
        ("createdAt:{NOW-7DAYS TO NOW}", R("createdAt", "NOW-7DAYS", "NOW", 10, (False, False))),
        ("createdAt:[NOW/DAY TO NOW+1DAY/DAY]", R("createdAt", "NOW/DAY", "NOW+1DAY/DAY", 10)),
        ("modifiedAt:[* TO 2014-02-27T00:00:00Z]", R("modifiedAt", None, "2014-02-27T00:00:00Z", 11)),
        (
            'modifiedAt:["2014-02-27T00:00:00+02:00" TO *]',
            R("modifiedAt", "2014-02-27T00:00:00+02:00", None, 11),
        ),
        ('number:["*" TO 5]', R("number", "*", "5", 7)),
        ("number:[-5 TO 5]", R("number", "-5", "5", 7)),
        ("modifiedAt:2014-02-27T00:00:00.123Z", T("modifiedAt", "2014-02-27T00:00:00.123Z", 11)),
    ],
)
def test_parses(query: str, expected: Node | None) -> None:
    assert parse_query(query) == expected


class TestClosedGaps:
    """stack-notes §A.6: what luqum gets wrong on its own."""

    def test_curly_double_quotes_are_straightened(self) -> None:
        assert parse_query("(NOT email:“email@domain.com”)") == Not(Q("email", "email@domain.com", 11))

    def test_curly_single_quotes_are_straightened(self) -> None:
        assert parse_query("subject:O’Brien") == T("subject", "O'Brien", 8)

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ('subject:"coffee" and tag:"vip"', And((Q("subject", "coffee", 8), Q("tag", "vip", 25)))),
            ("tag:a or tag:b", Or((T("tag", "a", 4), T("tag", "b", 13)))),
            ("not tag:a", Not(T("tag", "a", 8))),
            ("tag:a and not tag:b", And((T("tag", "a", 4), Not(T("tag", "b", 18))))),
            ("subject:(coffee or tea)", Or((T("subject", "coffee", 9), T("subject", "tea", 19)))),
            ("createdAt:[NOW-1HOUR to *]", R("createdAt", "NOW-1HOUR", None, 10)),
        ],
    )
    def test_lower_case_operators(self, query: str, expected: Node) -> None:
        assert parse_query(query) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ('subject:"coffee and tea"', Q("subject", "coffee and tea", 8)),
            ("subject:and", T("subject", "and", 8)),
            ("how to reset", And((T(None, "how", 0), T(None, "to", 4), T(None, "reset", 7)))),
            ("Coffee And Tea", And((T(None, "Coffee", 0), T(None, "And", 7), T(None, "Tea", 11)))),
            ("sandor", T(None, "sandor", 0)),
        ],
    )
    def test_operator_words_stay_words_elsewhere(self, query: str, expected: Node) -> None:
        assert parse_query(query) == expected

    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("tag:a && tag:b", And((T("tag", "a", 4), T("tag", "b", 13)))),
            ("tag:a || tag:b", Or((T("tag", "a", 4), T("tag", "b", 13)))),
            ('!tag:"vip"', Not(Q("tag", "vip", 5))),
            ("tag:a AND !tag:b", And((T("tag", "a", 4), Not(T("tag", "b", 15))))),
            ("!(tag:a OR tag:b)", Not(Or((T("tag", "a", 6), T("tag", "b", 15))))),
            ("a&&b", T(None, "a&&b", 0)),
            ("wow!", T(None, "wow!", 0)),
        ],
    )
    def test_lucene_symbol_operators(self, query: str, expected: Node) -> None:
        assert parse_query(query) == expected

    @pytest.mark.parametrize(
        ("query", "fragment", "position"),
        [
            ("subject:coffee~", "fuzzy", 8),
            ("coffee~2", "fuzzy", 0),
            ('"coffee tea"~2', "proximity", 0),
            ("coffee^2", "boosting", 0),
            ("subject:coffee^2", "boosting", 8),
            ("number:[1 TO 2]^2", "boosting", 7),
            ("subject:/cof+ee/", "regular expressions", 8),
            ("number:>5", "'>' and '<'", 7),
            ("number:<=5", "'>' and '<'", 7),
            ("co*ffee", "only supported at the end", 0),
            ("*coffee", "only supported at the end", 0),
            ("subject:*", "only supported at the end", 8),
            ("tag:vip AND *", "only supported at the end", 12),
            ("[1 TO 5]", "a range needs a field", 0),
        ],
    )
    def test_unsupported_syntax_is_rejected(self, query: str, fragment: str, position: int) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query(query)
        assert fragment in error.value.message
        assert error.value.position == position

    def test_offset_without_quotes_is_a_nested_field(self) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query("modifiedAt:2014-02-27T00:00:00+02:00")
        assert "quote values that contain" in error.value.message
        assert "modifiedAt" in error.value.message

    def test_field_inside_a_field_group(self) -> None:
        with pytest.raises(QuerySyntaxError, match="in the value of subject"):
            parse_query("subject:(coffee OR tag:vip)")

    @pytest.mark.parametrize(
        ("query", "position"),
        [
            ("a~.", 1),
            ("a^.", 1),
            ("a~1.5.3", 1),
            ("subject:coffee~.", 14),
            ("tag:x OR a^.", 10),
        ],
    )
    def test_decimal_errors_become_syntax_errors(self, query: str, position: int) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query(query)
        assert error.value.position == position
        assert "bad number" in error.value.message

    @pytest.mark.parametrize(
        ("query", "fragment", "position"),
        [
            ('subject:"unterminated', "unclosed quote", 8),
            ('(tag:"vip"', "ends too early", 10),
            ('tag:"vip")', "unexpected ')'", 9),
            ('AND tag:"vip"', "unexpected 'AND'", 0),
            ('tag:"vip" AND', "ends too early", 13),
            ("tag:vip OR OR tag:x", "unexpected 'OR'", 11),
            ("NOT", "ends too early", 3),
            ("subject:", "ends too early", 8),
            ("'quoted'", "unexpected character", 0),
            ("url:http://x.com", "unknown field 'url'", 0),
            ("createdAt:[NOW TO]", "unexpected ']'", 17),
            ("a && && b", "unexpected 'AND'", 5),
        ],
    )
    def test_unparsable_queries(self, query: str, fragment: str, position: int) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query(query)
        assert fragment in error.value.message
        assert error.value.position == position
        assert f"position {position}" in error.value.message


class TestFieldNames:
    @pytest.mark.parametrize("field", FIELDS)
    def test_documented_spelling(self, field: str) -> None:
        assert parse_query(f"{field}:1") == T(field, "1", len(field) + 1)

    @pytest.mark.parametrize(
        ("written", "canonical"),
        [
            ("MailboxId", "mailboxid"),
            ("MAILBOXID", "mailboxid"),
            ("customerids", "customerIds"),
            ("CustomerIDs", "customerIds"),
            ("replyuserids", "replyUserIds"),
            ("modifiedat", "modifiedAt"),
            ("CREATEDAT", "createdAt"),
            ("Subject", "subject"),
            ("TAG", "tag"),
        ],
    )
    def test_any_case_is_accepted_and_normalised(self, written: str, canonical: str) -> None:
        assert parse_query(f"{written}:1") == T(canonical, "1", len(written) + 1)

    def test_unknown_field_is_named_with_the_known_ones(self) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query('tag:x OR emailDomain:"gmail.com"')
        assert error.value.position == 9
        assert "unknown field 'emailDomain'" in error.value.message
        assert all(field in error.value.message for field in FIELDS)


class TestLimits:
    def test_longest_query_is_accepted(self) -> None:
        query = "a " * (MAX_LENGTH // 2)
        assert len(query) == MAX_LENGTH == 2000
        node = parse_query(query)
        assert isinstance(node, And)
        assert len(node.children) == 1000

    def test_one_character_more_is_rejected(self) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query("a " * 1000 + "b")
        assert "2001 characters" in error.value.message
        assert "2000" in error.value.message

    def test_length_is_checked_before_parsing(self) -> None:
        # luqum would fail on this with a parse error; the limit must speak first
        with pytest.raises(QuerySyntaxError, match="limit is 2000"):
            parse_query("(" * 2001)

    def test_deepest_nesting_is_accepted(self) -> None:
        assert MAX_DEPTH == 32
        assert parse_query("(" * 32 + "tag:x" + ")" * 32) == T("tag", "x", 36)

    def test_one_level_more_is_rejected(self) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query("(" * 33 + "tag:x" + ")" * 33)
        assert error.value.position == 32
        assert "nested deeper than 32" in error.value.message

    def test_nul_character_is_rejected(self) -> None:
        with pytest.raises(QuerySyntaxError) as error:
            parse_query("tag:a\x00b")
        assert error.value.position == 5
        assert "NUL" in error.value.message

    def test_parentheses_inside_quotes_do_not_count(self) -> None:
        query = 'subject:"' + "(" * 40 + '"'
        assert parse_query(query) == Q("subject", "(" * 40, 8)

    def test_sibling_groups_do_not_add_up(self) -> None:
        group = "(" * 20 + "tag:x" + ")" * 20
        node = parse_query(f"{group} OR {group}")
        assert node == Or((T("tag", "x", 24), T("tag", "x", 73)))

    def test_long_chains_of_negations_collapse(self) -> None:
        assert parse_query("-" * 1500 + "tag:x") == T("tag", "x", 1504)
        assert parse_query("NOT " * 401 + "tag:x") == Not(T("tag", "x", 1608))

    def test_long_or_chain(self) -> None:
        node = parse_query(" OR ".join(["tag:x"] * 222))
        assert isinstance(node, Or)
        assert len(node.children) == 222


QUERYISH_PIECES = st.sampled_from(
    [
        "subject:",
        "body:",
        "tag:",
        "email:",
        "modifiedAt:",
        "createdAt:",
        "number:",
        "nosuchfield:",
        "(",
        ")",
        '"',
        "“",
        "’",
        "[",
        "]",
        "{",
        "}",
        "TO",
        "to",
        "*",
        "~",
        "^",
        "\\",
        "/",
        "AND",
        "OR",
        "NOT",
        "and",
        "or",
        "not",
        "&&",
        "||",
        "!",
        "-",
        "+",
        ":",
        "?",
        ".",
        "1",
        "2.5",
        " ",
        " ",
        "coffee",
        "2014-02",
        "2014-02-27T00:00:00Z",
        "NOW-1HOUR",
        "/YEAR",
        "+02:00",
        "a@b.com",
    ]
)
queryish = st.lists(QUERYISH_PIECES | st.text(max_size=3), max_size=40).map("".join)


def _parses_or_fails_cleanly(text: str) -> None:
    try:
        node = parse_query(text)
    except QueryError as error:
        assert error.message
        assert 0 <= error.position <= len(text)
    else:
        assert node is None or isinstance(node, And | Or | Not | Term | Range)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=200))
def test_any_text_parses_or_raises_query_error(text: str) -> None:
    _parses_or_fails_cleanly(text)


@settings(max_examples=1000, deadline=None)
@given(text=queryish)
def test_any_queryish_text_parses_or_raises_query_error(text: str) -> None:
    _parses_or_fails_cleanly(text)
