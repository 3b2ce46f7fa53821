"""`GET /v2/customers?query=`: the conversation query language over customer fields, on both
databases. A query is never ignored: an unknown field or a bad value is a 400 on `query`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.support.api import Api
from tests.support.asserts import errors_by_path
from tidings.customers.query import FIELDS, customer_condition
from tidings.db.tables import customers
from tidings.search import parse_query

NOW = datetime(2026, 12, 2, tzinfo=UTC)


def _customer(api: Api, first: str, last: str, *emails: str) -> int:
    body = {"firstName": first, "lastName": last, "emails": [{"type": "work", "value": e} for e in emails]}
    return api.created_id(api.post("/v2/customers", body))


@pytest.fixture
def cast(api: Api) -> dict[str, int]:
    return {
        "john": _customer(api, "John", "Appleseed", "john@appleseed.com", "jappleseed@gmail.com"),
        "johnny": _customer(api, "Johnny", "Cash", "johnny@cash.example"),
        "vera": _customer(api, "Vera", "Appleseed", "vera@acme.com"),
        "rob": _customer(api, "Rob", "Smith", "rob_smith@gmail.com"),
    }


def _ids(api: Api, query: str, **params: Any) -> set[int]:
    response = api.get("/v2/customers", params={"query": query, **params})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["_embedded"]["customers"]}


class TestFields:
    def test_names_whole_and_case_insensitive(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, 'firstName:"John"') == {cast["john"]}
        assert _ids(api, "firstname:JOHN") == {cast["john"]}
        assert _ids(api, 'lastName:"Appleseed"') == {cast["john"], cast["vera"]}
        assert _ids(api, "firstName:Jo") == set()

    def test_name_prefix(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, "firstName:jo*") == {cast["john"], cast["johnny"]}
        assert _ids(api, "lastName:apple*") == {cast["john"], cast["vera"]}

    def test_email_is_a_whole_address_or_its_beginning(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, 'email:"john@appleseed.com"') == {cast["john"]}
        assert _ids(api, 'email:"JAppleseed@Gmail.com"') == {cast["john"]}
        assert _ids(api, 'email:("vera@acme.com" OR "johnny@cash.example")') == {cast["vera"], cast["johnny"]}
        assert _ids(api, "email:john*") == {cast["john"], cast["johnny"]}
        assert _ids(api, 'email:"appleseed.com"') == set()

    def test_email_domain(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, 'emailDomain:("gmail.com")') == {cast["john"], cast["rob"]}
        assert _ids(api, "emailDomain:acme.com OR emailDomain:cash.example") == {cast["vera"], cast["johnny"]}
        assert _ids(api, "emailDomain:gmail") == set()
        assert _ids(api, "emailDomain:gm*") == {cast["john"], cast["rob"]}

    def test_like_wildcards_in_values_are_literal(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, 'email:"rob_smith@gmail.com"') == {cast["rob"]}
        assert _ids(api, 'email:"rob%"') == set()
        assert _ids(api, "email:rob_*") == {cast["rob"]}
        assert _ids(api, "email:ro_*") == set()

    def test_bare_value_is_a_name_or_an_address(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, "appleseed") == {cast["john"], cast["vera"]}
        assert _ids(api, '"Vera Appleseed"') == {cast["vera"]}
        assert _ids(api, '"rob_smith@gmail.com"') == {cast["rob"]}

    def test_modified_at(self, api: Api, app: Any, cast: dict[str, int]) -> None:
        stamps = {"john": 1_500_000_000, "johnny": 1_600_000_000, "vera": 1_700_000_000, "rob": 1_700_000_100}
        with app.state.db.engine.begin() as conn:
            for name, stamp in stamps.items():
                conn.execute(update(customers).where(customers.c.id == cast[name]).values(updated_at=stamp))
        since_2020 = {cast["johnny"], cast["vera"], cast["rob"]}
        assert _ids(api, "modifiedAt:[2020-01-01T00:00:00Z TO *]") == since_2020
        assert _ids(api, 'modifiedAt:["2018-01-01" TO "2021-01-01"}') == {cast["johnny"]}
        assert _ids(api, "modifiedAt:2023-11-14") == {cast["vera"], cast["rob"]}
        assert _ids(api, "modifiedAt:[NOW-1DAY TO NOW]") == set()


class TestLogic:
    def test_and_or_not(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, "lastName:appleseed AND emailDomain:gmail.com") == {cast["john"]}
        assert _ids(api, "lastName:appleseed NOT firstName:john") == {cast["vera"]}
        assert _ids(api, "-lastName:appleseed") == {cast["johnny"], cast["rob"]}
        assert _ids(api, "(firstName:rob OR firstName:vera) AND NOT emailDomain:acme.com") == {cast["rob"]}

    def test_with_the_other_filters_sorting_and_totals(self, api: Api, cast: dict[str, int]) -> None:
        response = api.get(
            "/v2/customers",
            params={"query": "lastName:appleseed", "firstName": "vera", "sortField": "firstName"},
        )
        body = response.json()
        assert [c["id"] for c in body["_embedded"]["customers"]] == [cast["vera"]]
        assert body["page"]["totalElements"] == 1
        ordered = api.get(
            "/v2/customers", params={"query": "firstName:jo*", "sortField": "firstName", "sortOrder": "asc"}
        ).json()
        assert [c["id"] for c in ordered["_embedded"]["customers"]] == [cast["john"], cast["johnny"]]
        assert "query=firstName" in ordered["_links"]["self"]["href"]

    def test_empty_or_star_is_no_filter(self, api: Api, cast: dict[str, int]) -> None:
        assert _ids(api, "") == set(cast.values())
        assert _ids(api, "*") == set(cast.values())


class TestInvalid:
    @pytest.mark.parametrize(
        ("query", "fragment"),
        [
            ("subject:refund", "unknown field 'subject'"),
            ("email:", "ends too early"),
            ('email:""', "email needs a value"),
            ("firstName:[a TO b]", "does not accept a range"),
            ("modifiedAt:yesterday", "invalid date for modifiedAt"),
            ("modifiedAt:2020*", "does not support wildcards"),
            ('firstName:"unclosed', "position"),
        ],
    )
    def test_a_bad_query_is_a_400_on_query(self, api: Api, query: str, fragment: str) -> None:
        error = errors_by_path(api.get("/v2/customers", params={"query": query}))["query"]
        assert error["source"] == "query"
        assert error["rejectedValue"] == query
        assert fragment in error["message"]


def test_email_domain_reads_the_index_of_domains(app: Any, dialect: str) -> None:
    """`emailDomain:` compiles to the expression migration 0009 indexes, on either database."""
    node = parse_query("emailDomain:acme.com", FIELDS)
    assert node is not None
    condition = customer_condition(node, NOW)
    statement = select(customers.c.id).where(condition)
    with app.state.db.engine.begin() as conn:
        sql = str(statement.compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True}))
        if dialect == "sqlite":
            plan = " ".join(str(row) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
        else:
            conn.exec_driver_sql("SET LOCAL enable_seqscan = off")
            plan = " ".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + sql))
    assert "ix_customer_emails_domain" in plan, plan
