"""The `query=` language of `GET /v2/conversations`: text → AST → SQL condition and score.

Knows SQL, knows no HTTP: callers turn `QueryError` (`.message`, `.position`) into a 400 on
`query`. Typical use: `node = parse_query(text)`; if it is not None, `compiled =
compile_query(node, dialect=db.dialect, now=timefmt.now(), tag_ids=tag_ids_by_name(conn,
tag_names(node)))` and filter with `compiled.condition`, ordering by `compiled.score` for
`sortField=score` when `compiled.has_text`.
"""

from tidings.search.compile import (
    CompiledQuery,
    IdList,
    QueryValueError,
    Sampled,
    TextDriver,
    bare_term_customers,
    compile_query,
    names_a_customer,
    probes_statuses,
    status_indexes_exist,
    status_probe,
    tag_ids_by_name,
    tag_names,
)
from tidings.search.datemath import DateMathError, Period, resolve
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

__all__ = [
    "FIELDS",
    "MAX_DEPTH",
    "MAX_LENGTH",
    "And",
    "CompiledQuery",
    "DateMathError",
    "IdList",
    "Node",
    "Not",
    "Or",
    "Period",
    "QueryError",
    "QuerySyntaxError",
    "QueryValueError",
    "Range",
    "Sampled",
    "Term",
    "TextDriver",
    "bare_term_customers",
    "compile_query",
    "names_a_customer",
    "parse_query",
    "probes_statuses",
    "resolve",
    "status_indexes_exist",
    "status_probe",
    "tag_ids_by_name",
    "tag_names",
]
