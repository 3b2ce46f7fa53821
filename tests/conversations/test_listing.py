"""GET /v2/conversations: every parameter of the source page, paging, sorting, embedding."""

from __future__ import annotations

import base64
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import event, update

from tests.support.api import Api
from tests.support.asserts import vnd_error
from tests.support.sql import (
    TEXT_PROBE,
    counting,
    row_probes,
    statements,
    statements_with_parameters,
    text_probe,
)
from tidings.conversations import listing
from tidings.conversations.listing import SORT_FIELDS
from tidings.db.tables import conversations
from tidings.kit import timefmt
from tidings.kit.db import explained, rows_in_plan
from tidings.search import CompiledQuery, compile_query, parse_query


def _ids(response) -> list[int]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["_embedded"]["conversations"]]


def _imported(api: Api, mailbox: int, created: str, **overrides: object) -> int:
    email = overrides.pop("email", None) or f"c{created.replace(':', '').replace('-', '')}@example.com"
    body: dict = {
        "imported": True,
        "createdAt": created,
        "customer": {
            "email": email,
            "firstName": overrides.pop("first", "Pat"),
            "lastName": overrides.pop("last", "Doe"),
        },
        "threads": [
            {"type": "customer", "text": "Imported", "createdAt": created, "customer": {"email": email}}
        ],
    }
    body.update(overrides)
    return api.conversation(mailbox, **body)


@pytest.fixture
def desk(api: Api) -> dict:
    """Two mailboxes with conversations of every status, tags, assignees and known times."""
    orders, billing = api.mailbox("Orders"), api.mailbox("Billing")
    agent = api.user("admin", first="Spock", last="Vulcan", email="spock@example.com")
    ids = {
        "a": _imported(
            api,
            orders,
            "2020-01-01T10:00:00Z",
            subject="beta",
            tags=["Red"],
            first="zed",
            last="Alpha",
            email="Zed@Example.com",
        ),
        "b": _imported(
            api,
            orders,
            "2020-01-02T10:00:00Z",
            subject="Alpha",
            status="pending",
            tags=["blue"],
            first="amy",
            last="Brown",
            email="amy@example.com",
        ),
        "c": _imported(
            api,
            billing,
            "2020-01-03T10:00:00Z",
            subject="gamma",
            assignTo=agent,
            tags=["red", "green"],
            first="Bob",
            last="Cole",
            email="bob@example.com",
        ),
        "d": _imported(
            api,
            billing,
            "2020-01-04T10:00:00Z",
            subject="delta",
            status="closed",
            first="Cy",
            last="Dunn",
            email="cy@example.com",
        ),
        "e": _imported(
            api,
            orders,
            "2020-01-05T10:00:00Z",
            subject="Epsilon",
            first="Al",
            last="Evans",
            email="al@example.com",
        ),
    }
    spam = api.conversation(orders, subject="buy now")
    api.patch(f"/v2/conversations/{spam}", {"op": "replace", "path": "/status", "value": "spam"})
    ids["spam"] = spam
    # `e` got a user reply: it no longer waits, and is modified later than the others.
    api.post(f"/v2/conversations/{ids['e']}/reply", {"text": "answered"})
    return {"orders": orders, "billing": billing, "agent": agent, **ids}


class TestFilters:
    def test_default_is_active_newest_first(self, api: Api, desk: dict) -> None:
        assert _ids(api.get("/v2/conversations")) == [desk["e"], desk["c"], desk["a"]]

    def test_status_values(self, api: Api, desk: dict) -> None:
        assert set(_ids(api.get("/v2/conversations", params={"status": "open"}))) == {desk[k] for k in "abce"}
        assert _ids(api.get("/v2/conversations", params={"status": "pending"})) == [desk["b"]]
        assert _ids(api.get("/v2/conversations", params={"status": "closed"})) == [desk["d"]]
        assert _ids(api.get("/v2/conversations", params={"status": "spam"})) == [desk["spam"]]
        assert len(_ids(api.get("/v2/conversations", params={"status": "all"}))) == 6

    def test_bad_values_are_all_reported(self, api: Api, desk: dict) -> None:
        response = api.get(
            "/v2/conversations",
            params={
                "status": "uh",
                "mailbox": "1,x",
                "sortField": "colour",
                "sortOrder": "up",
                "page": "0",
                "modifiedSince": "yesterday",
                "embed": "customers",
                "number": "-3",
            },
        )
        body = vnd_error(
            response,
            400,
            "status",
            "mailbox",
            "sortField",
            "sortOrder",
            "page",
            "modifiedSince",
            "embed",
            "number",
            source="query",
        )
        status = next(e for e in body["_embedded"]["errors"] if e["path"] == "status")
        assert "'open'" in status["message"] and status["rejectedValue"] == "uh"

    def test_mailbox_list_and_folder(self, api: Api, desk: dict) -> None:
        assert set(
            _ids(api.get("/v2/conversations", params={"mailbox": desk["billing"], "status": "all"}))
        ) == {desk["c"], desk["d"]}
        both = f"{desk['orders']},{desk['billing']}"
        assert len(_ids(api.get("/v2/conversations", params={"mailbox": both, "status": "all"}))) == 6
        folders = api.get(f"/v2/mailboxes/{desk['billing']}/folders").json()["_embedded"]["folders"]
        closed = next(f["id"] for f in folders if f["type"] == "closed")
        assert _ids(api.get("/v2/conversations", params={"folder": closed})) == [desk["d"]]

    @pytest.mark.parametrize("page", [1, 2])
    def test_tag_with_quotes_and_percent_signs(self, api: Api, page: int) -> None:
        """A plain list's page 1 has its values written into the SQL on PostgreSQL: a tag that
        looks like SQL or like a driver placeholder must still be only a value."""
        mailbox = api.mailbox()
        odd = "50%off 'x' %(offset)s"
        ids = [api.conversation(mailbox, tags=[odd]) for _ in range(26)]
        api.conversation(mailbox, tags=["plain"])
        body = api.get("/v2/conversations", params={"tag": odd, "page": page}).json()
        assert body["page"]["totalElements"] == 26
        expected = list(reversed(ids))[25 * (page - 1) : 25 * page]
        assert [c["id"] for c in body["_embedded"]["conversations"]] == expected
        assert body["_embedded"]["conversations"][0]["tags"][0]["tag"] == odd

    def test_tag_any_of_case_insensitive(self, api: Api, desk: dict) -> None:
        assert set(_ids(api.get("/v2/conversations", params={"tag": "RED", "status": "all"}))) == {
            desk["a"],
            desk["c"],
        }
        assert set(_ids(api.get("/v2/conversations", params={"tag": "green,Blue", "status": "all"}))) == {
            desk["b"],
            desk["c"],
        }

    def test_several_tags_unknown_ones_and_a_tag_with_an_assignee(
        self, api: Api, desk: dict, app: FastAPI
    ) -> None:
        """Filters a kept count cannot total find their tags' ids first: PostgreSQL plans with
        each tag's own frequency (a lookup by name inside the statement made it assume an
        average tag and take 2 s for two common tags at 1M)."""
        with statements(app) as seen:
            body = api.get("/v2/conversations", params={"tag": "red,nosuchtag", "status": "all"}).json()
        assert {c["id"] for c in body["_embedded"]["conversations"]} == {desk["a"], desk["c"]}
        assert body["page"]["totalElements"] == 2
        counted = [s for s in seen if "count(*)" in s.lower()]
        assert counted and not any("tags.name" in s for s in counted), counted
        nothing = api.get("/v2/conversations", params={"tag": "nosuchtag,other", "status": "all"}).json()
        assert nothing["page"]["totalElements"] == 0 and nothing["_embedded"]["conversations"] == []
        params = {"tag": "red", "assigned_to": desk["agent"], "status": "all"}
        assert _ids(api.get("/v2/conversations", params=params)) == [desk["c"]]

    @pytest.mark.parametrize("tags_drive", [True, False])
    def test_several_tags_counted_either_way(
        self,
        api: Api,
        desk: dict,
        app: FastAPI,
        dialect: str,
        monkeypatch: pytest.MonkeyPatch,
        tags_drive: bool,
    ) -> None:
        """Listing the tagged conversations first or probing each conversation for its tags
        gives the same total and page; SQLite picks one from the kept counts."""
        monkeypatch.setattr(listing, "LISTED_FIRST_SHARE", 1e9 if tags_drive else 0.0)
        with statements(app) as seen:
            body = api.get("/v2/conversations", params={"tag": "red,blue", "status": "all"}).json()
        assert [c["id"] for c in body["_embedded"]["conversations"]] == sorted(
            [desk["a"], desk["b"], desk["c"]], reverse=True
        )
        assert body["page"]["totalElements"] == 3
        (counted,) = [s for s in seen if "count(*)" in s.lower() and "FROM conversations" in s]
        listed_first = "IN (SELECT conversation_tags.conversation_id" in counted
        assert listed_first is (tags_drive and dialect == "sqlite"), counted

    def test_assigned_to_number_modified_since(self, api: Api, desk: dict) -> None:
        assert _ids(api.get("/v2/conversations", params={"assigned_to": desk["agent"]})) == [desk["c"]]
        number = api.get(f"/v2/conversations/{desk['d']}").json()["number"]
        assert _ids(api.get("/v2/conversations", params={"number": number, "status": "all"})) == [desk["d"]]
        since = api.get(f"/v2/conversations/{desk['c']}").json()["createdAt"]
        found = set(_ids(api.get("/v2/conversations", params={"modifiedSince": since, "status": "all"})))
        assert desk["c"] in found and desk["a"] not in found and desk["b"] not in found

    def test_query_is_combined_with_and(self, api: Api, desk: dict) -> None:
        params = {"mailbox": desk["orders"], "query": "tag:red", "status": "all"}
        assert _ids(api.get("/v2/conversations", params=params)) == [desk["a"]]
        assert _ids(api.get("/v2/conversations", params={"query": '(assigned:"spock")'})) == [desk["c"]]

    def test_bad_query_is_400_with_position(self, api: Api, desk: dict) -> None:
        body = vnd_error(
            api.get("/v2/conversations", params={"query": '(subject:"x"'}), 400, "query", source="query"
        )
        assert "position" in body["_embedded"]["errors"][0]["message"]
        vnd_error(api.get("/v2/conversations", params={"query": "colour:red"}), 400, "query")

    def test_empty_result_keeps_embedded(self, api: Api, desk: dict) -> None:
        body = api.get("/v2/conversations", params={"tag": "nothing-has-this"}).json()
        assert body["_embedded"] == {"conversations": []}
        assert body["page"] == {"size": 25, "totalElements": 0, "totalPages": 0, "number": 1}

    def test_user_sees_only_their_mailboxes(self, api: Api, desk: dict) -> None:
        agent = api.as_user(api.user("user", [desk["billing"]]))
        assert set(_ids(agent.get("/v2/conversations", params={"status": "all"}))) == {desk["c"], desk["d"]}
        assert (
            _ids(agent.get("/v2/conversations", params={"query": f"id:{desk['a']}", "status": "all"})) == []
        )
        number = api.get(f"/v2/conversations/{desk['a']}").json()["number"]
        assert (
            _ids(agent.get("/v2/conversations", params={"query": f"number:{number}", "status": "all"})) == []
        )
        assert _ids(agent.get("/v2/conversations", params={"mailbox": desk["orders"], "status": "all"})) == []


class TestSorting:
    def _all(self, api: Api, field: str, order: str) -> list[int]:
        return _ids(
            api.get("/v2/conversations", params={"status": "all", "sortField": field, "sortOrder": order})
        )

    @pytest.mark.parametrize("field", SORT_FIELDS)
    @pytest.mark.usefixtures("answers_computed")
    def test_a_few_matches_sort_as_the_index_walk_does(
        self, api: Api, app: FastAPI, desk: dict, field: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """With few matches the page sorts them (keys out of the indexes' reach); with many it
        walks an index in list order. Both give the same page."""
        params = {"status": "all", "modifiedSince": "2000-01-01T00:00:00Z", "sortField": field}
        pages: list[list[int]] = []
        for few in (listing.FEW_MATCHES, 0):
            monkeypatch.setattr(listing, "FEW_MATCHES", few)
            for order in ("asc", "desc"):
                with statements(app) as seen:
                    pages.append(_ids(api.get("/v2/conversations", params={**params, "sortOrder": order})))
                sorted_matches = [s for s in seen if "conversations.id IN (SELECT conversations.id" in s]
                assert len(sorted_matches) == (1 if few else 0), seen
        assert len(pages[0]) == 6
        assert pages[:2] == pages[2:]

    def test_modified_since_with_many_matches_walks_the_sort_index(
        self, api: Api, app: FastAPI, dialect: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A page of many matches reads `modifiedSince` while walking the sort's index (on SQLite
        out of the modification index's reach) and still leaves out what is older."""
        mailbox = api.mailbox()
        old, *recent = [api.conversation(mailbox) for _ in range(3)]
        with app.state.db.engine.begin() as conn:
            conn.execute(
                update(conversations)
                .where(conversations.c.id == old)
                .values(modified_at=datetime(2001, 1, 1, tzinfo=UTC))
            )
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        params = {"mailbox": mailbox, "modifiedSince": "2020-01-01T00:00:00Z"}
        with statements(app) as seen:
            body = api.get("/v2/conversations", params=params).json()
        assert [c["id"] for c in body["_embedded"]["conversations"]] == list(reversed(recent))
        assert body["page"]["totalElements"] == 2
        pages = [s for s in seen if "ORDER BY" in s and "modified_at" in s]
        assert len(pages) == 1 and ("modified_at + " in pages[0]) == (dialect == "sqlite"), pages
        # Sorted by modification time, the range on that index is the walk: it is kept.
        with statements(app) as seen:
            body = api.get("/v2/conversations", params={**params, "sortField": "modifiedAt"}).json()
        assert sorted(c["id"] for c in body["_embedded"]["conversations"]) == recent
        assert not any("modified_at + " in s for s in seen)

    def test_text_sorts_are_case_insensitive(self, api: Api, desk: dict) -> None:
        by_subject = self._all(api, "subject", "asc")
        assert by_subject == [desk[k] for k in ("b", "a", "spam", "d", "e", "c")]
        assert self._all(api, "subject", "desc") == list(reversed(by_subject))
        # "al evans" < "amy brown" < "bob cole" < "cust omer…" (the spam one) < "cy dunn" < "zed alpha"
        assert self._all(api, "customerName", "asc") == [desk[k] for k in ("e", "b", "c", "spam", "d", "a")]
        emails = self._all(api, "customerEmail", "asc")
        assert (
            emails.index(desk["e"])
            < emails.index(desk["b"])
            < emails.index(desk["c"])
            < emails.index(desk["a"])
        )

    def test_number_created_modified_status_mailbox(self, api: Api, desk: dict) -> None:
        in_creation = [desk[k] for k in ("a", "b", "c", "d", "e", "spam")]
        assert self._all(api, "number", "asc") == in_creation
        assert self._all(api, "createdAt", "asc")[:5] == in_creation[:5]
        assert self._all(api, "modifiedAt", "desc")[0] in (desk["e"], desk["spam"])
        statuses = [
            api.get(f"/v2/conversations/{i}").json()["status"] for i in self._all(api, "status", "asc")
        ]
        assert statuses == sorted(statuses)
        mailboxes = [
            api.get(f"/v2/conversations/{i}").json()["mailboxId"] for i in self._all(api, "mailboxid", "desc")
        ]
        assert mailboxes == sorted(mailboxes, reverse=True)

    def test_waiting_since_puts_not_waiting_last(self, api: Api, desk: dict) -> None:
        for order in ("asc", "desc"):
            assert self._all(api, "waitingSince", order)[-1] == desk["e"]

    def test_score_ranks_text_matches(self, api: Api) -> None:
        mailbox = api.mailbox()
        once = api.conversation(mailbox, subject="refund please")
        twice = api.conversation(
            mailbox,
            subject="refund refund",
            threads=[
                {"type": "customer", "text": "refund my refund", "customer": {"email": "r@example.com"}}
            ],
        )
        api.conversation(mailbox, subject="unrelated")
        ranked = _ids(api.get("/v2/conversations", params={"query": "refund", "sortField": "score"}))
        assert ranked == [twice, once]
        fallback = _ids(api.get("/v2/conversations", params={"sortField": "score", "sortOrder": "asc"}))
        assert fallback[0] == once


class TestPaging:
    def test_links_keep_parameters(self, api: Api) -> None:
        mailbox = api.mailbox()
        for _ in range(30):
            api.conversation(mailbox)
        query = "tag:x OR NOT tag:y"
        response = api.get("/v2/conversations", params={"mailbox": mailbox, "query": query, "page": 2})
        body = response.json()
        assert body["page"] == {"size": 25, "totalElements": 30, "totalPages": 2, "number": 2}
        assert len(body["_embedded"]["conversations"]) == 5
        links = body["_links"]
        for rel, page in (("self", "2"), ("first", "1"), ("last", "2"), ("previous", "1")):
            parsed = parse_qs(urlsplit(links[rel]["href"]).query)
            assert parsed == {"mailbox": [str(mailbox)], "query": [query], "page": [page]}, rel
            assert links[rel]["href"].startswith("http://testserver/v2/conversations?")
        assert "next" not in links
        assert links["page"]["templated"] is True and links["page"]["href"].endswith("{&page}")
        first = api.get("/v2/conversations", params={"mailbox": mailbox}).json()["_links"]
        assert parse_qs(urlsplit(first["next"]["href"]).query)["page"] == ["2"] and "previous" not in first

    def test_page_past_the_end(self, api: Api) -> None:
        api.conversation(api.mailbox())
        body = api.get("/v2/conversations", params={"page": 9}).json()
        assert body["_embedded"]["conversations"] == []
        assert body["page"]["totalElements"] == 1 and body["page"]["totalPages"] == 1

    @pytest.mark.parametrize("field", SORT_FIELDS)
    @pytest.mark.parametrize("listed_by", ["query", "mailbox"])  # a search, or a kept-count list
    def test_walking_pages_yields_each_once(self, api: Api, field: str, listed_by: str) -> None:
        mailbox = api.mailbox()
        created = {
            api.conversation(mailbox, subject="same subject", customer={"email": "same@example.com"})
            for _ in range(28)
        }
        for order in ("asc", "desc"):
            seen: list[int] = []
            filtered = "query=same" if listed_by == "query" else f"mailbox={mailbox}"
            url = f"/v2/conversations?sortField={field}&sortOrder={order}&{filtered}"
            while url:
                body = api.get(url.replace("http://testserver", "")).json()
                seen += [c["id"] for c in body["_embedded"]["conversations"]]
                url = body["_links"].get("next", {}).get("href")
            assert sorted(seen) == sorted(created) and len(seen) == len(created)


class TestEmbed:
    def test_threads_embedded_with_a_fixed_number_of_queries(self, api: Api, app) -> None:  # type: ignore[no-untyped-def]
        mailbox = api.mailbox()
        agent = api.user("admin")
        for i in range(3):
            cid = api.conversation(mailbox, assignTo=agent)
            api.post(f"/v2/conversations/{cid}/notes", {"text": f"note {i}"})
        statements: list[str] = []

        def count(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
            statements.append(statement)

        # Each measured list is asked for by a caller known under the data stamp, as after any
        # earlier read: its token is then not looked up again (auth/caller.py).
        def caller_known() -> None:
            assert api.get("/v2/users/me").status_code == 200

        event.listen(app.state.db.engine, "before_cursor_execute", count)
        try:
            caller_known()
            statements.clear()
            plain = api.get("/v2/conversations").json()
            plain_queries = len(statements)
            statements.clear()
            embedded = api.get("/v2/conversations", params={"embed": "threads"}).json()
            embedded_queries = len(statements)
            for _ in range(10):
                api.conversation(mailbox, assignTo=agent)
            caller_known()
            statements.clear()
            api.get("/v2/conversations", params={"embed": "threads"})
            bigger_page_queries = len(statements)
        finally:
            event.remove(app.state.db.engine, "before_cursor_execute", count)
        assert "_embedded" not in plain["_embedded"]["conversations"][0]
        threads = embedded["_embedded"]["conversations"][0]["_embedded"]["threads"]
        assert [t["type"] for t in threads] == ["note", "customer"]
        assert embedded_queries == plain_queries + 1  # the threads of the whole page, in one query
        assert bigger_page_queries == embedded_queries

    def test_the_same_people_keep_each_place_s_own_form(self, api: Api) -> None:
        """A page builds each person's short form once and shows it wherever that person is
        named (presenter.Related): a thread's `customer` has no `type`, the same customer as
        `createdBy` and `primaryCustomer` does; a user is the same everywhere."""
        mailbox = api.mailbox()
        agent = api.user("admin")
        cid = api.conversation(mailbox, assignTo=agent)
        api.post(f"/v2/conversations/{cid}/notes", {"text": "note", "user": agent})
        api.patch(f"/v2/conversations/{cid}", {"op": "replace", "path": "/status", "value": "closed"})
        listed = api.get("/v2/conversations", params={"embed": "threads", "status": "all"}).json()
        conversation = listed["_embedded"]["conversations"][0]
        by_type = {t["type"]: t for t in conversation["_embedded"]["threads"]}
        customer_thread, note = by_type["customer"], by_type["note"]
        customer = conversation["primaryCustomer"]
        assert customer["type"] == "customer" and conversation["createdBy"] == customer
        assert customer_thread["createdBy"] == customer
        assert customer_thread["customer"] == {k: v for k, v in customer.items() if k != "type"}
        assert "type" not in customer_thread["customer"]
        assert conversation["assignee"]["id"] == agent and conversation["assignee"]["type"] == "user"
        assert note["createdBy"] == conversation["assignee"] == customer_thread["assignedTo"]
        assert conversation["closedByUser"]["type"] == "user"


class TestCustomFields:
    def _setup(self, api: Api) -> dict:
        mailbox = api.mailbox()
        ids = {}
        for name, kind, options in [
            ("Count", "number", []),
            ("Note", "singleline", []),
            ("Long", "multiline", []),
            ("Plan", "dropdown", [{"label": "Free"}, {"label": "Pro"}]),
        ]:
            ids[name] = api.created_id(
                api.post(f"/v2/mailboxes/{mailbox}/fields", {"name": name, "type": kind, "options": options})
            )
        fields = api.get(f"/v2/mailboxes/{mailbox}/fields").json()["_embedded"]["fields"]
        pro = next(o["id"] for f in fields for o in f["options"] if o["label"] == "Pro")
        one = api.conversation(
            mailbox,
            fields=[
                {"id": ids["Count"], "value": "1000"},
                {"id": ids["Note"], "value": "Green apple pie"},
                {"id": ids["Plan"], "value": str(pro)},
            ],
        )
        two = api.conversation(
            mailbox, fields=[{"id": ids["Count"], "value": "10000"}, {"id": ids["Note"], "value": "apple"}]
        )
        return {"mailbox": mailbox, "ids": ids, "pro": pro, "one": one, "two": two}

    def test_exact_words_and_dropdown(self, api: Api) -> None:
        s = self._setup(api)

        def get(value: str) -> list[int]:
            params = {"mailbox": s["mailbox"], "customFieldsByIds": value}
            return _ids(api.get("/v2/conversations", params=params))

        assert get(f"{s['ids']['Count']}:1000") == [s["one"]]
        assert get(f"{s['ids']['Note']}:apple") == [s["two"], s["one"]]
        assert get(f"{s['ids']['Note']}:pie APPLE") == [s["one"]]
        assert get(f"{s['ids']['Note']}:app") == []
        assert get(f"{s['ids']['Plan']}:{s['pro']}") == [s["one"]]
        assert get(f"{s['ids']['Count']}:1000,{s['ids']['Note']}:apple") == [s["one"]]
        repeated = api.get(
            "/v2/conversations",
            params=[
                ("mailbox", s["mailbox"]),
                ("customFieldsByIds", f"{s['ids']['Count']}:10000"),
                ("customFieldsByIds", f"{s['ids']['Note']}:apple"),
            ],
        )
        assert _ids(repeated) == [s["two"]]

    @pytest.mark.parametrize("listed_first", [True, False])
    def test_exact_values_counted_either_way(
        self, api: Api, app: FastAPI, dialect: str, monkeypatch: pytest.MonkeyPatch, listed_first: bool
    ) -> None:
        """Listing the conversations holding an exact value first (through its index) or probing
        each conversation gives the same total; SQLite picks one from the counts. Words of a
        single-line text are always probed."""
        monkeypatch.setattr(listing, "LISTED_FIRST_SHARE", 1e9 if listed_first else 0.0)
        s = self._setup(api)
        ids = s["ids"]
        cases = [
            (f"{ids['Count']}:1000", [s["one"]], True),
            (f"{ids['Plan']}:{s['pro']}", [s["one"]], True),
            (f"{ids['Count']}:10000,{ids['Note']}:apple", [s["two"]], True),
            (f"{ids['Note']}:apple", [s["two"], s["one"]], False),
            (f"{ids['Count']}:7", [], True),
        ]
        for value, expected, exact in cases:
            params = {"mailbox": s["mailbox"], "customFieldsByIds": value, "status": "all"}
            with statements(app) as seen:
                body = api.get("/v2/conversations", params=params).json()
            assert [c["id"] for c in body["_embedded"]["conversations"]] == expected, value
            assert body["page"]["totalElements"] == len(expected), value
            (counted,) = [q for q in seen if "count(*)" in q.lower() and "FROM conversations" in q]
            listed = "IN (SELECT conversation_fields.conversation_id" in counted
            assert listed is (listed_first and exact and dialect == "sqlite"), (value, counted)

    def test_rules_give_400(self, api: Api) -> None:
        s = self._setup(api)
        vnd_error(
            api.get("/v2/conversations", params={"customFieldsByIds": f"{s['ids']['Count']}:1"}),
            400,
            "customFieldsByIds",
        )
        vnd_error(
            api.get(
                "/v2/conversations",
                params={"mailbox": s["mailbox"], "customFieldsByIds": f"{s['ids']['Long']}:x"},
            ),
            400,
            "customFieldsByIds",
        )
        vnd_error(
            api.get("/v2/conversations", params={"mailbox": s["mailbox"], "customFieldsByIds": "blue"}),
            400,
            "customFieldsByIds",
        )
        vnd_error(
            api.get("/v2/conversations", params={"mailbox": s["mailbox"], "customFieldsByIds": "999:x"}),
            400,
            "customFieldsByIds",
        )


QUERYISH = st.lists(
    st.sampled_from(
        [
            "subject:",
            "body:",
            "tag:",
            "email:",
            "createdAt:",
            "number:",
            '"',
            "(",
            ")",
            "[",
            "]",
            "{",
            "}",
            " TO ",
            " AND ",
            " OR ",
            "NOT ",
            "-",
            "*",
            "~",
            "^",
            "\\",
            ":",
            "NOW-1HOUR",
            "2014-02",
            "x",
            " ",
            "coffee",
            "“",
            "”",
            "/",
            "and",
            "&&",
            "!",
        ]
    ),
    max_size=12,
).map("".join)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.one_of(st.text(max_size=60), QUERYISH))
def test_any_query_is_answered_200_or_400(api: Api, text: str) -> None:
    response = api.get("/v2/conversations", params={"query": text})
    assert response.status_code in (200, 400), (text, response.text)
    if response.status_code == 400:
        assert response.json()["_embedded"]["errors"][0]["path"] == "query"


class TestRangeWalk:
    """A `query=` range that keeps many conversations is paged by walking the list's order
    through at most a few times the conversations its share of them says a page needs
    (`listing._range_walk`), and from the range's index when the page is not among those (on
    PostgreSQL, every match sorted with the sort's keys out of the indexes' reach). Either way
    the pages are those of every match sorted (the general path)."""

    @pytest.fixture
    def dated(self, api: Api, app: FastAPI) -> dict[str, object]:
        """Sixty conversations an hour apart. Five in six were modified in 2021: a range spread
        through the list. The oldest fifty's numbers: a range at the far end of it, newest first."""
        mailbox = api.mailbox()
        ids = [
            _imported(api, mailbox, f"2020-03-{1 + n // 24:02d}T{n % 24:02d}:00:00Z", subject=f"s{n % 7}")
            for n in range(60)
        ]
        with app.state.db.engine.begin() as conn:
            for n, conversation_id in enumerate(ids):
                conn.execute(
                    update(conversations)
                    .where(conversations.c.id == conversation_id)
                    .values(modified_at=datetime(2021 if n % 6 else 2019, 1, 1, tzinfo=UTC))
                )
        numbers = [api.get(f"/v2/conversations/{ids[n]}").json()["number"] for n in (0, 49)]
        return {"mailbox": mailbox, "oldest_fifty": f"number:[{numbers[0]} TO {numbers[1]}]"}

    def _pages(self, api: Api, app: FastAPI, params: dict) -> tuple[list[list[int]], list[str]]:
        """Pages 1-3, and the statements page 1 ran."""
        pages: list[list[int]] = []
        first: list[str] = []
        for page in (1, 2, 3):
            with statements(app) as seen:
                pages.append(_ids(api.get("/v2/conversations", params={**params, "page": page})))
            first = first or seen
        return pages, first

    def _walked_as_generally(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, params: dict
    ) -> list[str]:
        """Pages 1-3 with walks of a page's share and no slack, checked against the general
        path's (no walk); the statements page 1 ran."""
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        monkeypatch.setattr(listing, "RANGE_WALK_READS", 1)
        monkeypatch.setattr(listing, "RANGE_WALK_SLACK", 0)
        pages, first = self._pages(api, app, params)
        with monkeypatch.context() as general:
            general.setattr(listing, "_range_walk_cap", lambda *_: None)
            expected, _ = self._pages(api, app, params)
        assert pages == expected
        assert [len(page) for page in pages] == [25, 25, 0], first
        return first

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("spread", [True, False])
    @pytest.mark.parametrize(
        ("sort", "order"), [("createdAt", "desc"), ("createdAt", "asc"), ("subject", "asc")]
    )
    def test_pages_equal_every_match_sorted(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        dated: dict,
        monkeypatch: pytest.MonkeyPatch,
        spread: bool,
        sort: str,
        order: str,
    ) -> None:
        query = "modifiedAt:[2020-06-01 TO *]" if spread else dated["oldest_fifty"]
        params = {
            "mailbox": dated["mailbox"],
            "status": "all",
            "query": query,
            "sortField": sort,
            "sortOrder": order,
        }
        first = self._walked_as_generally(api, app, monkeypatch, params)
        listed = [s for s in first if "walked_first" in s or s.startswith("SELECT conversations.id \nFROM")]
        walks = [s for s in listed if "walked_first" in s]
        # The spread range's page 1 is among the newest 30. The far end's is not, newest first:
        # the ten conversations before its band are counted, and a second walk reads past them.
        banded = (sort, order) == ("createdAt", "desc") and not spread
        assert len(walks) == (2 if banded else 1), listed
        assert any(" ahead" in s for s in first) == banded, first
        if sort == "createdAt":
            assert len(listed) == len(walks), listed

    @pytest.mark.usefixtures("answers_computed")
    def test_a_band_beyond_the_walks_reach_is_sorted(
        self, api: Api, app: FastAPI, dialect: str, dated: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Where more conversations lie before the band than a walk may read, the count stops
        there and every match is sorted (the general path; PostgreSQL's with the sort's keys out
        of the indexes' reach)."""
        monkeypatch.setattr(listing, "RANGE_WALK_CAP", 35)
        params = {"mailbox": dated["mailbox"], "status": "all", "query": dated["oldest_fifty"]}
        first = self._walked_as_generally(api, app, monkeypatch, params)
        listed = [s for s in first if "walked_first" in s or s.startswith("SELECT conversations.id \nFROM")]
        assert ["walked_first" in s for s in listed] == [True, False], listed
        assert any(" ahead" in s for s in first), first
        if dialect == "postgresql":
            assert "ORDER BY conversations.created_at + " in listed[1], listed[1]

    @pytest.mark.usefixtures("answers_computed")
    def test_postgresql_walks_a_range_only_beside_its_rows_own_columns(
        self, api: Api, app: FastAPI, dialect: str, dated: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PostgreSQL tests the query on the walk's rows as a subquery of them, which a condition
        reading other tables (tags, texts) would not see rightly: such a query is paged as any."""
        query = f"{dated['oldest_fifty']} AND NOT tag:vip"
        params = {"mailbox": dated["mailbox"], "status": "all", "query": query}
        first = self._walked_as_generally(api, app, monkeypatch, params)
        assert any("walked_first" in s for s in first) == (dialect == "sqlite"), first

    @pytest.mark.usefixtures("answers_computed")
    def test_a_page_by_relevance_is_not_walked(
        self, api: Api, app: FastAPI, dated: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Sorted by relevance, the walk would rank every conversation the other filters allow
        before it could keep the first ones; such a page reads the matches as before."""
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        query = "modifiedAt:[2020-06-01 TO *] AND (imported OR tag:vip)"
        params = {"mailbox": dated["mailbox"], "status": "all", "query": query, "sortField": "score"}
        pages, first = self._pages(api, app, params)
        assert not any("walked_first" in s for s in first), first
        assert sum(len(page) for page in pages) > 0


class TestTagUnions:
    """`query=` an OR of `tag:` terms is counted from the tags' kept counts and the walk of all
    but the largest tag's conversations (`listing._tag_union_total`) where that reads fewer rows
    than the filters allow; the totals and pages are those counted as any query."""

    @pytest.fixture
    def tagged(self, api: Api) -> dict[str, object]:
        """Two mailboxes; in the first, conversations tagged red, blue, both or green, of
        several statuses, and two untagged; in the second, red ones."""
        first, second = api.mailbox(), api.mailbox()
        tags_and_statuses = [
            (["red"], "active"),
            (["red"], "closed"),
            (["red", "blue"], "active"),
            (["red", "blue"], "pending"),
            (["blue"], "active"),
            (["blue"], "closed"),
            (["green"], "active"),
            (["green", "red"], "spam"),
            ([], "active"),
            ([], "closed"),
        ]
        ids: dict[str, list[int]] = {"first": [], "second": []}
        for n, (tags, status) in enumerate(tags_and_statuses):
            made = _imported(api, first, f"2021-04-{n + 1:02d}T10:00:00Z", subject=f"s{n}", tags=tags)
            if status != "active":
                api.patch(
                    f"/v2/conversations/{made}", json={"op": "replace", "path": "/status", "value": status}
                )
            ids["first"].append(made)
        for n in range(3):
            ids["second"].append(_imported(api, second, f"2021-05-{n + 1:02d}T10:00:00Z", tags=["red"]))
        return {"first": first, "second": second, "ids": ids}

    def _read(self, api: Api, app: FastAPI, params: dict) -> tuple[list[int], int, list[str]]:
        with statements(app) as seen:
            response = api.get("/v2/conversations", params=params)
        body = response.json()
        return _ids(response), body["page"]["totalElements"], [" ".join(s.split()) for s in seen]

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "tags"),
        [
            ("tag:red OR tag:blue", {"red", "blue"}),
            ("tag:(blue OR green OR red)", {"red", "blue", "green"}),
            ("tag:RED OR tag:nothing", {"red"}),
            ("tag:nothing OR tag:gone", set()),
        ],
    )
    @pytest.mark.parametrize(
        ("status", "in_first"), [("active", False), ("all", False), ("closed", True), ("spam", False)]
    )
    def test_totals_and_pages_equal_those_counted_as_any(
        self,
        api: Api,
        app: FastAPI,
        tagged: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        tags: set[str],
        status: str,
        in_first: bool,
    ) -> None:
        params: dict[str, object] = {"query": query, "status": status}
        if in_first:
            params["mailbox"] = tagged["first"]
        page, total, seen = self._read(api, app, params)
        with monkeypatch.context() as as_any:
            as_any.setattr(listing, "_tag_union_total", lambda *_: None)
            any_page, any_total, any_seen = self._read(api, app, params)
        assert (page, total) == (any_page, any_total)
        assert len(page) == total
        walks = [s for s in seen if s.startswith("SELECT count(*) AS count_1 FROM conversation_tags")]
        assert not any(s.startswith("SELECT count(*) AS count_1 FROM conversation_tags") for s in any_seen)
        counted_as_any = [s for s in seen if s.startswith("SELECT count(*) AS count_1 FROM conversations")]
        # All but the largest tag walked, one statement each, unless that reads more rows than
        # the filters allow (the 3 closed conversations of the first mailbox, the 1 spam one:
        # red's 7 or blue's 4 of every status); then counted as any.
        union = len(tags) <= 1 or status in ("active", "all")
        assert len(walks) == (len(tags) - 1 if union and tags else 0), seen
        assert len(counted_as_any) == (0 if union else 1), seen

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "status", "in_first", "expected"),
        [
            ("tag:red OR tag:blue", "active", False, {"first": [0, 2, 4], "second": [0, 1, 2]}),
            ("tag:red OR tag:blue", "closed", True, {"first": [1, 5]}),
            ("tag:(green OR red)", "spam", False, {"first": [7]}),
            ("tag:blue OR tag:green", "active", True, {"first": [2, 4, 6]}),
        ],
    )
    def test_each_conversation_counts_once(
        self,
        api: Api,
        app: FastAPI,
        tagged: dict,
        query: str,
        status: str,
        in_first: bool,
        expected: dict[str, list[int]],
    ) -> None:
        params: dict[str, object] = {"query": query, "status": status}
        if in_first:
            params["mailbox"] = tagged["first"]
        page, total, _ = self._read(api, app, params)
        wanted = {tagged["ids"][box][n] for box, numbers in expected.items() for n in numbers}
        assert set(page) == wanted and total == len(wanted)


class TestIdLists:
    """A bare term (its text's matches and its customers' conversations), an `email:` or a
    `customerIds:` ANDed at the top of `query=` is a list of ids, read first when it is short
    beside the conversations the other filters allow (`listing._leading_list`), else probed.
    Either way the pages are the same."""

    @pytest.fixture
    def named(self, api: Api) -> dict[str, object]:
        """Ada Quill's three conversations (one closed), two others that name her (one closed),
        and sixteen active ones that do not."""
        mailbox = api.mailbox()
        ada = {"first": "Ada", "last": "Quill", "email": "ada@quill.example"}
        hers = [
            _imported(api, mailbox, f"2021-01-0{n + 1}T10:00:00Z", subject=f"order {n}", tags=["vip"], **ada)
            for n in range(3)
        ]
        naming = [
            _imported(
                api, mailbox, f"2021-02-0{n + 1}T10:00:00Z", subject=f"a note for ada {n}", tags=["gold"] * n
            )
            for n in range(2)
        ]
        for n in range(16):
            _imported(api, mailbox, f"2021-03-{n + 1:02d}T10:00:00Z", subject=f"refund {n}")
        api.patch(
            f"/v2/conversations/{hers[0]}", json={"op": "replace", "path": "/status", "value": "closed"}
        )
        api.patch(
            f"/v2/conversations/{naming[0]}", json={"op": "replace", "path": "/status", "value": "closed"}
        )
        return {"mailbox": mailbox, "hers": hers, "naming": naming}

    @staticmethod
    def _matches(named: dict, expected: tuple[str, ...], status: str) -> set[int]:
        """The conversations of the `named` groups a status keeps (the first of each is closed)."""
        matches = {i for name in expected for i in named[name]}
        if status == "active":
            matches -= {named["hers"][0], named["naming"][0]}
        return matches

    def _page(self, api: Api, app: FastAPI, params: dict) -> tuple[list[int], int, list[str]]:
        """Page 1, its total, and the statements it ran (each on one line)."""
        with statements(app) as seen:
            response = api.get("/v2/conversations", params=params)
        return _ids(response), response.json()["page"]["totalElements"], [" ".join(s.split()) for s in seen]

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "status", "expected"),
        [
            ("ada", "all", ("hers", "naming")),
            ("ada", "active", ("hers", "naming")),
            ("email:ada@quill.example", "all", ("hers",)),
            ("order AND ada", "all", ("hers",)),
            ("tag:vip AND NOT refund", "all", ("hers",)),
        ],
    )
    @pytest.mark.parametrize(("sort", "order"), [("createdAt", "desc"), ("subject", "asc")])
    def test_pages_equal_those_probed(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        named: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        status: str,
        expected: tuple[str, ...],
        sort: str,
        order: str,
    ) -> None:
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        # Every other list listed whole (see the next test for texts tested beside the lead).
        monkeypatch.setattr(listing, "PROBED_BESIDE_THE_LEAD", 0)
        params = {
            "mailbox": named["mailbox"],
            "status": status,
            "query": query,
            "sortField": sort,
            "sortOrder": order,
        }
        page, total, seen = self._page(api, app, params)
        with monkeypatch.context() as probing:
            probing.setattr(listing, "_leading_list", lambda *_: listing.Lead(None))
            probed, probed_total, probed_seen = self._page(api, app, params)
        assert (page, total) == (probed, probed_total)
        matches = self._matches(named, expected, status)
        assert set(page) == matches
        assert total == len(matches)
        key = {"sqlite": "rowid", "postgresql": "conversation_id"}[dialect]
        read_first = {
            "email": "conversations.id IN (SELECT conversation_emails.conversation_id",
            "tag": "conversations.id IN (SELECT conversation_tags.conversation_id",
        }.get(query.split(":")[0], f"conversations.id IN (SELECT conversation_search.{key}")
        assert any(read_first in s for s in seen), seen
        # A list is counted to see whether it is short; an address's is short, and PostgreSQL
        # plans a tag's IN itself: nothing to decide.
        lengths = [s for s in seen if s.startswith("SELECT count(*) AS count_1 FROM (SELECT")]
        decided = not query.startswith("email:") and (dialect == "sqlite" or not query.startswith("tag:"))
        assert len(lengths) == int(decided), seen
        if dialect == "sqlite":
            # The count: one list read first, each other probed; else all of them probed.
            lists = sum(not part.startswith("NOT ") for part in query.split(" AND "))
            probes = "conversations.id + ? IN (SELECT"
            assert [s.count(probes) for s in self._totals(seen)] == [lists - 1], seen
            assert [s.count(probes) for s in self._totals(probed_seen)] == [lists], probed_seen
            # Every status: the state out of the indexes' reach, or SQLite walked it.
            assert any("(conversations.state || ?) = ?" in s for s in seen) == (status == "all"), seen

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "expected"),
        [
            ("order AND ada", ("hers",)),
            ("ada note", ("naming",)),
            ("ada AND NOT refund", ("hers", "naming")),
            ("ada AND subject:order", ("hers",)),
        ],
    )
    @pytest.mark.parametrize("status", ["all", "active"])
    def test_texts_beside_a_short_list_are_tested_per_conversation_on_sqlite(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        named: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        expected: tuple[str, ...],
        status: str,
    ) -> None:
        """SQLite: beside a list read first, the other conjuncts' texts are tested on each
        conversation's own document when few conversations are expected to be tested
        (`listing.PROBED_BESIDE_THE_LEAD`), rather than their matches listed whole. The pages
        are the same."""
        params = {"mailbox": named["mailbox"], "status": status, "query": query}
        (page, total, seen), (listed, listed_total, listed_seen) = self._probed_and_listed(
            api, app, monkeypatch, params
        )
        assert (page, total) == (listed, listed_total)
        matches = self._matches(named, expected, status)
        assert set(page) == matches
        assert any(TEXT_PROBE in s for s in seen) == (dialect == "sqlite"), seen
        assert not any(TEXT_PROBE in s for s in listed_seen), listed_seen

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "expected", "listed_on"),
        [
            ("ada AND (tag:vip OR tag:gold)", ("hers", "gold"), {"sqlite"}),
            ("ada AND tag:vip", ("hers",), {"sqlite", "postgresql"}),
            ("ada AND NOT (tag:vip OR tag:gold)", ("plain",), set()),
        ],
    )
    @pytest.mark.parametrize("status", ["all", "active"])
    def test_tags_beside_a_short_list_are_tested_per_conversation(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        named: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        expected: tuple[str, ...],
        listed_on: set[str],
        status: str,
    ) -> None:
        """Beside a list read first, the other conjuncts' tags are tested on each conversation's
        (conversation, tag) keys when few conversations are expected to be tested, rather than
        every conversation of each tag listed (`compile._probed_beside`). The pages are the
        same."""
        params = {"mailbox": named["mailbox"], "status": status, "query": query}
        (page, total, seen), (listed, listed_total, listed_seen) = self._probed_and_listed(
            api, app, monkeypatch, params
        )
        assert (page, total) == (listed, listed_total)
        groups = {"hers": named["hers"], "gold": named["naming"][1:], "plain": named["naming"][:1]}
        matches = {i for name in expected for i in groups[name]}
        if status == "active":
            matches -= {named["hers"][0], named["naming"][0]}
        assert set(page) == matches and total == len(matches)
        tag_list = "IN (SELECT conversation_tags.conversation_id"
        tag_probe = "FROM conversation_tags WHERE conversation_tags.conversation_id = conversations.id"
        counted, listed_counted = self._totals(seen), self._totals(listed_seen)
        assert len(counted) == len(listed_counted) == 1, (seen, listed_seen)
        # Where else the tags are listed: SQLite's OR of tags, either database's `tag:` list.
        assert (tag_list in listed_counted[0]) == (dialect in listed_on), listed_counted
        assert tag_list not in counted[0] and tag_probe in counted[0], counted

    def _probed_and_listed(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, params: dict
    ) -> tuple[tuple[list[int], int, list[str]], tuple[list[int], int, list[str]]]:
        """Page 1 read with the other conjuncts beside the list read first tested per
        conversation whenever they can be (`listing.PROBED_BESIDE_THE_LEAD`), then never; the
        total and page read apart each time (`FEW_MATCHES` off)."""
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        monkeypatch.setattr(listing, "PROBED_BESIDE_THE_LEAD", 10**9)
        probed = self._page(api, app, params)
        monkeypatch.setattr(listing, "PROBED_BESIDE_THE_LEAD", 0)
        return probed, self._page(api, app, params)

    @staticmethod
    def _totals(seen: list[str]) -> list[str]:
        """The statements counting the page's matches (not a list's length)."""
        return [
            s for s in counting(seen) if s.startswith("SELECT count(*) AS count_1 FROM conversations WHERE")
        ]

    @pytest.mark.usefixtures("answers_computed")
    def test_a_long_list_is_probed(
        self, api: Api, app: FastAPI, dialect: str, named: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A list no shorter than its share of the conversations allowed is not read first."""
        params = {"mailbox": named["mailbox"], "status": "all", "query": "ada"}
        page, total, _ = self._page(api, app, params)
        monkeypatch.setattr(listing, "LISTED_IDS_CAP", 5)  # Ada's list: 3 + 2 ids
        long_page, long_total, seen = self._page(api, app, params)
        assert (long_page, long_total) == (page, total) and total == 5
        if dialect == "sqlite":
            assert any("conversations.id + ? IN (SELECT" in s for s in seen), seen
        else:
            assert not any("conversations.id IN (SELECT conversation_search" in s for s in seen), seen
            assert any("EXISTS (SELECT" in s for s in seen), seen

    @pytest.mark.usefixtures("answers_computed")
    def test_a_prefix_is_read_first_by_the_planners_estimate(
        self, api: Api, app: FastAPI, dialect: str, named: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """FTS5 reads a prefix's text matches whole before the first, and GIN builds its bitmap
        whole before a LIMIT: they are not counted. On PostgreSQL the planner's estimate of them
        decides, with the conversations of the customers the prefix names counted; on SQLite
        the list is probed."""
        params = {"mailbox": named["mailbox"], "status": "all", "query": "ad*"}
        page, total, seen = self._page(api, app, params)
        with monkeypatch.context() as probing:
            probing.setattr(listing, "_leading_list", lambda *_: listing.Lead(None))
            probed, probed_total, _ = self._page(api, app, params)
        assert (page, total) == (probed, probed_total)
        assert set(page) == set(named["hers"]) | set(named["naming"])
        lengths = [s for s in seen if s.startswith("SELECT count(*) AS count_1 FROM (SELECT")]
        if dialect == "postgresql":
            assert any(s.startswith("EXPLAIN (FORMAT JSON) SELECT conversation_search") for s in seen), seen
            owned = "SELECT count(*) AS count_1 FROM (SELECT owned.id"
            assert [s.startswith(owned) for s in lengths] == [True], seen
            assert any("conversations.id IN (SELECT conversation_search.conversation_id" in s for s in seen)
        else:
            assert lengths == [], seen
            assert any("conversations.id + ? IN (SELECT conversation_search.rowid" in s for s in seen), seen

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "status"),
        [
            ("ada", "all"),
            ("ada", "active"),
            ("order AND ada", "all"),
            ("ada AND NOT refund", "active"),
            ("ad*", "all"),
        ],
    )
    @pytest.mark.parametrize(
        ("sort", "order"),
        [("createdAt", "desc"), ("createdAt", "asc"), ("subject", "asc"), ("number", "desc")],
    )
    def test_few_matches_of_a_list_read_first_are_counted_and_paged_at_once(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        named: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        status: str,
        sort: str,
        order: str,
    ) -> None:
        """A query whose list read first is expected to keep at most `FEW_MATCHES`
        conversations reads its total and its page from its matches read once
        (`listing._few_led_matches`): each page and total are those of counting the matches and
        reading the page apart. A prefix's list is not counted on SQLite, so it is read apart."""
        monkeypatch.setattr(listing, "PAGE_SIZE", 2)
        params = {
            "mailbox": named["mailbox"],
            "status": status,
            "query": query,
            "sortField": sort,
            "sortOrder": order,
        }
        read_once = not (query == "ad*" and dialect == "sqlite")
        pages = []
        for number in (1, 2, 3, 4):
            paged = {**params, "page": number}
            page, total, seen = self._page(api, app, paged)
            with monkeypatch.context() as apart:
                apart.setattr(listing, "_reads_few_led_matches", lambda *_: False)
                apart_page, apart_total, apart_seen = self._page(api, app, paged)
            assert (page, total) == (apart_page, apart_total)
            assert any("WITH led_matches AS" in s for s in seen) == read_once, seen
            assert len(self._totals(seen)) == (0 if read_once else 1), seen
            assert not any("led_matches" in s for s in apart_seen) and len(self._totals(apart_seen)) == 1
            pages.append(page)
        expected = ("hers",) if query == "order AND ada" else ("hers", "naming")
        matches = self._matches(named, expected, status)
        assert total == len(matches) and [i for page in pages for i in page] != []
        assert sorted(i for page in pages for i in page) == sorted(matches) and pages[3] == []

    @pytest.mark.usefixtures("answers_computed")
    def test_more_matches_than_expected_are_counted_apart(
        self, api: Api, app: FastAPI, named: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """A list's expected share is an estimate: when its matches read once are more than
        `FEW_MATCHES` after all, they are dropped, and the total and page are read apart."""
        params = {"mailbox": named["mailbox"], "status": "all", "query": "ada"}
        page, total, seen = self._page(api, app, params)
        assert any("WITH led_matches AS" in s for s in seen) and not self._totals(seen), seen
        monkeypatch.setattr(listing, "FEW_MATCHES", 4)  # Ada's 5
        monkeypatch.setattr(listing, "_expected_beside", lambda *_: 0)
        again, again_total, again_seen = self._page(api, app, params)
        assert (again, again_total) == (page, total) and total == 5
        assert any("WITH led_matches AS" in s for s in again_seen), again_seen
        assert len(self._totals(again_seen)) == 1, again_seen

    @pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
    def test_a_prefix_s_customers_are_counted_beside_its_planned_text(
        self, app: FastAPI, named: dict
    ) -> None:
        """PostgreSQL's planner knows nothing of how many customers a name prefix picks (`gibs*`
        at 1M conversations: 30k of their conversations expected, 3.3k found), so a prefix's
        length is the planner's estimate of its text's matches plus its customers'
        conversations counted, up to what the cap leaves (`listing._planned_length`)."""
        id_list = compile_query(parse_query("qui*"), dialect="postgresql", now=timefmt.now()).lists[0]
        assert id_list.parts is not None
        text_ids, _ = id_list.parts
        with app.state.db.engine.connect() as conn:
            planned = rows_in_plan(conn.execute(explained(text_ids)).scalar_one())
            assert listing._planned_length(conn, id_list, cap=planned + 100) == planned + 3  # Ada Quill's
            assert listing._planned_length(conn, id_list, cap=planned + 2) == planned + 2

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("sort", ["createdAt", "subject"])
    def test_a_dense_page_walks_the_sort(
        self, api: Api, app: FastAPI, dialect: str, named: dict, monkeypatch: pytest.MonkeyPatch, sort: str
    ) -> None:
        """With a list read first, a page whose matches are dense among the conversations
        allowed walks the sort's index probing each (`walks_to_the_page`); the count still
        reads the list first."""
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        query = "tag:vip AND NOT refund"  # alone, `tag:vip` would be the `tag=` filter
        params = {"mailbox": named["mailbox"], "status": "all", "query": query, "sortField": sort}
        page, total, seen = self._page(api, app, params)
        monkeypatch.setattr(listing, "walks_to_the_page", lambda *_: True)
        walked, walked_total, walked_seen = self._page(api, app, params)
        assert (walked, walked_total) == (page, total) and total == 3
        if dialect == "sqlite":
            pages = [
                s for s in walked_seen if s.startswith("SELECT conversations.id FROM conversations WHERE")
            ]
            assert len(pages) == 1 and "conversations.id + ? IN (SELECT" in pages[0], walked_seen
            assert "(conversations.state || ?)" not in pages[0], pages
            assert [s.count("conversations.id + ? IN") for s in self._totals(walked_seen)] == [0], walked_seen
            assert not any("conversations.id + ? IN" in s for s in seen), seen

    @pytest.mark.parametrize(
        ("total", "allowed", "through", "walks"),
        [
            (33_000, 988_000, 25, True),
            (3_359, 988_000, 25, False),
            (33_000, 988_000, 2_000, False),
            (10, 10, 25, False),
        ],
    )
    def test_when_a_page_walks(self, total: int, allowed: int, through: int, walks: bool) -> None:
        """A tag on 33k of 988k conversations: page 1 is ~750 rows into the walk, against 33k
        ids read and sorted; a name's 3,359: ~7,400 rows, against 3,359."""
        assert listing.walks_to_the_page(total, allowed, through) is walks

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("query", ["tag:vip", "tag:VIP", 'tag:"vip,x"', "tag:vip AND order"])
    @pytest.mark.parametrize("status", ["all", "active", "closed"])
    def test_a_tag_alone_is_counted_as_the_tag_filter(
        self, api: Api, app: FastAPI, named: dict, monkeypatch: pytest.MonkeyPatch, query: str, status: str
    ) -> None:
        """`query=tag:vip` alone is `tag=vip`, its total from the kept counts; where the two
        differ (a comma, other terms) it stays a query. Either way the same answers."""
        params = {"mailbox": named["mailbox"], "status": status, "query": query}
        page, total, seen = self._page(api, app, params)
        with monkeypatch.context() as as_query:
            as_query.setattr(listing, "_query_as_tag", lambda params: params)
            expected, expected_total, _ = self._page(api, app, params)
        assert (page, total) == (expected, expected_total)
        hers = (
            named["hers"][1:]
            if status == "active"
            else named["hers"][:1]
            if status == "closed"
            else named["hers"]
        )
        assert set(page) == (set(hers) if "," not in query else set())
        kept = any("FROM conversation_tag_counts" in s for s in seen)
        assert kept == (query.lower() == "tag:vip"), seen
        if kept:
            assert not any(s.startswith("SELECT count(*) AS count_1 FROM conversations") for s in seen), seen


class TestComplement:
    """`query=NOT term`, the term a list of ids (a bare term, `email:`, `customerIds:`, `tag:`),
    is counted as the kept counts' total less the term's conversations among the other
    filters (`listing._complement_total`): counted directly, every conversation the filters
    allow was probed for the term. The totals and pages are those counted directly."""

    @pytest.fixture
    def cast(self, api: Api) -> dict[str, object]:
        """Ada's three conversations, tagged vip (one closed, one in a second mailbox); two that
        name her (one closed); five others, two tagged vip, two assigned, one closed, two
        tagged `billing`."""
        first, second = api.mailbox("First"), api.mailbox("Second")
        agent = api.user("user", first="Kit", last="Agent", email="kit@example.com")
        ada = {"first": "Ada", "last": "Quill", "email": "ada@quill.example"}
        hers = [
            _imported(api, first, "2021-01-01T10:00:00Z", subject="order 0", tags=["vip"], **ada),
            _imported(api, first, "2021-01-02T10:00:00Z", subject="order 1", tags=["vip", "billing"], **ada),
            _imported(api, second, "2021-01-03T10:00:00Z", subject="order 2", tags=["vip"], **ada),
        ]
        naming = [
            _imported(api, first, f"2021-02-0{n + 1}T10:00:00Z", subject=f"a note for ada {n}")
            for n in range(2)
        ]
        others = [
            _imported(api, first, "2021-03-01T10:00:00Z", subject="refund 0", tags=["vip"]),
            _imported(api, second, "2021-03-02T10:00:00Z", subject="refund 1", tags=["vip", "billing"]),
            _imported(api, first, "2021-03-03T10:00:00Z", subject="refund 2", assignTo=agent),
            _imported(api, first, "2021-03-04T10:00:00Z", subject="refund 3", assignTo=agent),
            _imported(api, second, "2021-03-05T10:00:00Z", subject="refund 4", tags=["billing"]),
        ]
        data = base64.b64encode(b"receipt").decode()
        receipt = {"fileName": "r.txt", "mimeType": "text/plain", "data": data}
        attached = _imported(
            api,
            first,
            "2021-03-06T10:00:00Z",
            subject="receipt",
            email="files@example.com",
            threads=[
                {
                    "type": "customer",
                    "text": "attached",
                    "createdAt": "2021-03-06T10:00:00Z",
                    "customer": {"email": "files@example.com"},
                    "attachments": [receipt],
                }
            ],
        )
        for closed in (hers[0], naming[0], others[3]):
            closing = {"op": "replace", "path": "/status", "value": "closed"}
            api.patch(f"/v2/conversations/{closed}", json=closing)
        return {"first": first, "agent": agent, "hers": hers, "naming": naming, "others": others} | {
            "attached": attached
        }

    def _asked(self, api: Api, app: FastAPI, params: dict) -> tuple[list[int], int, list[str]]:
        with statements(app) as seen:
            response = api.get("/v2/conversations", params=params)
        return _ids(response), response.json()["page"]["totalElements"], counting(seen)

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        "query",
        [
            "NOT ada",
            "NOT tag:vip",
            "NOT tag:VIP",
            "NOT email:ada@quill.example",
            "NOT nobody",
            "attachments:false",
            "NOT attachments:true",
            "NOT (order OR receipt)",  # text that is no list: counted through its matches
            "NOT subject:note",
        ],
    )
    @pytest.mark.parametrize(
        "filters",
        [
            {"status": "all"},
            {"status": "active"},
            {"status": "closed"},
            {"status": "all", "mailbox": "first"},
            {"status": "all", "tag": "billing"},
            {"status": "all", "assigned_to": "agent"},
        ],
    )
    def test_totals_equal_those_counted(
        self,
        api: Api,
        app: FastAPI,
        cast: dict,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        filters: dict[str, str],
    ) -> None:
        params = {"query": query, **{k: cast.get(v, v) for k, v in filters.items()}}
        page, total, counted = self._asked(api, app, params)
        with monkeypatch.context() as directly:
            directly.setattr(listing, "_complement_total", lambda *_: None)
            direct_page, direct_total, direct_counted = self._asked(api, app, params)
        assert (page, total) == (direct_page, direct_total)
        assert total == len(page) > 0
        # Counted directly, the query's own condition is in the COUNT; through the complement never.
        own = "NOT" if "NOT" in query else "has_attachments IS"
        assert any(own in s for s in direct_counted), direct_counted
        assert not any(negated in s for s in counted for negated in ("NOT", "IS 0", "IS false")), counted
        if "tag:" in query and "tag" not in filters and "assigned_to" not in filters:
            # The tag's own kept counts: no conversation is counted one by one.
            assert not any("FROM conversations" in s for s in counted), counted

    @pytest.mark.usefixtures("answers_computed")
    def test_known_totals(self, api: Api, app: FastAPI, cast: dict) -> None:
        everyone = {*cast["hers"], *cast["naming"], *cast["others"], cast["attached"]}
        tagged = {*cast["hers"], *cast["others"][:2]}
        closed = {cast["hers"][0], cast["naming"][0], cast["others"][3]}
        for query, matched in (
            ("NOT ada", {*cast["hers"], *cast["naming"]}),
            ("NOT tag:vip", tagged),
            ("attachments:false", {cast["attached"]}),
        ):
            for status, kept in (("all", everyone), ("active", everyone - closed), ("closed", closed)):
                page, total, _ = self._asked(api, app, {"query": query, "status": status})
                assert set(page) == kept - matched
                assert total == len(kept - matched)

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("query", "params", "why"),
        [
            ("NOT ada", {"modifiedSince": "2000-01-01T00:00:00Z"}, "no kept count for modifiedSince"),
            ("NOT ada", {"tag": "billing,vip"}, "no kept count for two tags"),
            ("NOT ord*", {}, "a prefix's matches are not counted"),
            ("NOT (ada OR tag:vip)", {}, "not one term"),
            ("NOT ada AND refund", {}, "not NOT alone"),
        ],
    )
    def test_counted_directly_where_it_cannot(
        self, api: Api, app: FastAPI, cast: dict, query: str, params: dict, why: str
    ) -> None:
        page, total, counted = self._asked(api, app, {"query": query, "status": "all", **params})
        assert total == len(page)
        assert any("NOT" in s for s in counted), (why, counted)

    @pytest.mark.usefixtures("answers_computed")
    def test_a_long_list_is_counted_directly(
        self, api: Api, app: FastAPI, cast: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        params = {"query": "NOT ada", "status": "all"}
        short_page, short_total, short_counted = self._asked(api, app, params)
        monkeypatch.setattr(listing, "LISTED_IDS_CAP", 5)  # ada's list holds 5 ids
        page, total, counted = self._asked(api, app, params)
        assert (page, total) == (short_page, short_total) == ([cast["attached"], *cast["others"][::-1]], 6)
        assert not any("NOT" in s for s in short_counted), short_counted
        assert any("NOT" in s for s in counted), counted

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("query", ["NOT refund", "NOT (refund OR receipt)"])
    def test_a_long_text_is_counted_as_a_large_text_s_matches(
        self, api: Api, app: FastAPI, cast: dict, monkeypatch: pytest.MonkeyPatch, query: str
    ) -> None:
        """A text whose matches make a long list (6 here) is not counted directly either: its
        matches among the other filters are counted, or estimated, as a large text's total is
        (`_text_total`; estimates here off), and kept like one."""
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        params = {"query": query, "status": "all"}
        with monkeypatch.context() as directly:
            directly.setattr(listing, "_complement_total", lambda *_: None)
            direct_page, direct_total, _ = self._asked(api, app, params)
        monkeypatch.setattr(listing, "LISTED_IDS_CAP", 3)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)  # PostgreSQL keeps a count past it
        listing._large_totals.clear()
        page, total, counted = self._asked(api, app, params)
        assert (page, total) == (direct_page, direct_total)
        assert total == len(page) == (6 if query == "NOT refund" else 5)
        assert not any("NOT" in s for s in counted), counted
        assert any(key[0] == "complement" for key in listing._large_totals._entries), "kept"
        # While it is kept, the next request neither counts the text nor its list to the cap.
        assert self._asked(api, app, params) == (page, total, [])

    @pytest.mark.usefixtures("answers_computed")
    def test_a_long_text_naming_a_customer_is_counted_directly(
        self, api: Api, app: FastAPI, cast: dict, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`ada` also names Ada: her conversations are not the text's matches alone."""
        monkeypatch.setattr(listing, "LISTED_IDS_CAP", 2)
        page, total, counted = self._asked(api, app, {"query": "NOT ada", "status": "all"})
        assert total == len(page) == 6
        assert any("NOT" in s for s in counted), counted


class TestSlowTotals:
    """A total that took `SLOW_TOTAL_SECONDS` or longer to count, among `SMALL_TEXT_MATCH` or
    more conversations, is kept for the next pages, as a large text's is (`listing._slow_total`);
    any other is counted on each request."""

    QUERY = "refund OR tag:vip"  # neither a text alone nor a list: counted directly

    def _total_after_one_more(self, api: Api) -> tuple[int, int, int, bool]:
        mailbox = api.mailbox()
        for n in range(3):
            api.conversation(mailbox, subject=f"Refund {n}")
        params = {"query": self.QUERY, "status": "all"}
        before = api.get("/v2/conversations", params=params).json()["page"]["totalElements"]
        newest = api.conversation(mailbox, subject="Refund late")
        after = api.get("/v2/conversations", params=params)
        listing._large_totals.clear()
        fresh = api.get("/v2/conversations", params=params).json()["page"]["totalElements"]
        return before, after.json()["page"]["totalElements"], fresh, _ids(after)[0] == newest

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize(
        ("slow_seconds", "large_from", "expected"),
        [
            (0.0, 3, (3, 3, 4, True)),  # slow among enough conversations: kept, the page fresh
            (0.0, 10, (3, 4, 4, True)),  # among fewer than `SMALL_TEXT_MATCH`: slow only for a stall
            (60.0, 3, (3, 4, 4, True)),  # quick: counted on each request
        ],
    )
    def test_which_totals_are_kept(
        self,
        api: Api,
        monkeypatch: pytest.MonkeyPatch,
        slow_seconds: float,
        large_from: int,
        expected: tuple[int, int, int, bool],
    ) -> None:
        monkeypatch.setattr(listing, "SLOW_TOTAL_SECONDS", slow_seconds)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", large_from)
        listing._large_totals.clear()
        assert self._total_after_one_more(api) == expected


class TestProbingPage:
    """A page of a query with text or tags under NOT or in an OR whose walk of the sort's index
    reads few conversations tests each one's document and tags (`CompiledQuery.probing`,
    `listing._probing_page`) rather than list every match of each text and tag first
    (PostgreSQL: rather than hash them all). The pages are those of the listed form. SQLite does
    not probe a prefix (FTS5 would read its every word for each conversation), nor beside a list
    of ids."""

    @pytest.fixture
    def mailbox(self, api: Api, monkeypatch: pytest.MonkeyPatch, answers_computed: None) -> int:
        monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        mailbox = api.mailbox()
        ada = {"first": "Ada", "last": "Quill", "email": "ada@quill.example"}
        for n in range(36):
            words = ["refund", "order", "espresso", "parcel"][n % 4]
            extra: dict[str, object] = {"tags": ["vip"]} if n % 5 == 0 else {}
            if n % 7 == 0:
                extra |= ada
            status = "closed" if n % 6 == 0 else "active"
            subject = f"{'qzmab'[n % 5]} {words} {n}"
            _imported(
                api,
                mailbox,
                f"2021-{n % 12 + 1:02d}-{n % 28 + 1:02d}T10:00:00Z",
                subject=subject,
                status=status,
                **extra,
            )
        return mailbox

    def _pages(self, api: Api, app: FastAPI, params: dict[str, object]) -> tuple[list[list[int]], list[str]]:
        with statements(app) as seen:
            pages = [_ids(api.get("/v2/conversations", params={**params, "page": page})) for page in (1, 2)]
        return pages, [" ".join(s.split()) for s in seen if "ORDER BY" in s and "FROM conversations" in s]

    @pytest.mark.parametrize(
        ("query", "probed_on_sqlite"),
        [
            ("NOT refund", True),
            ("refund OR tag:vip", True),
            ("NOT (espresso OR refund)", True),
            ("subject:order OR status:closed", True),
            ("NOT ada", True),
            ("qui*", False),
            ("refund OR qui*", False),
            ("tag:vip OR status:closed", True),
            ("NOT tag:vip", True),
        ],
    )
    @pytest.mark.parametrize(("sort", "order"), [("createdAt", "desc"), ("subject", "asc")])
    @pytest.mark.parametrize("status", ["all", "active"])
    def test_pages_equal_the_listed_ones(
        self,
        api: Api,
        app: FastAPI,
        mailbox: int,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        probed_on_sqlite: bool,
        sort: str,
        order: str,
        status: str,
    ) -> None:
        params = {"mailbox": mailbox, "query": query, "sortField": sort, "sortOrder": order, "status": status}
        dialect = app.state.db.dialect
        monkeypatch.setitem(listing.PROBED_WALK, dialect, 10**9)  # whenever it can be
        probed, probed_sql = self._pages(api, app, params)
        monkeypatch.setitem(listing.PROBED_WALK, dialect, 0)  # never
        listed, listed_sql = self._pages(api, app, params)
        assert probed == listed
        assert probed[0]
        probes = row_probes(dialect)
        # Under NOT a tag is tested on each conversation's (conversation, tag) key in either form
        # (`compile._Compiler._tags`); every other term is listed whole by the listing form.
        listed_here = any(probe in s for probe in probes for s in listed_sql)
        assert listed_here == (query == "NOT tag:vip"), listed_sql
        probed_here = any(probe in s for probe in probes for s in probed_sql)
        assert probed_here == (dialect == "postgresql" or probed_on_sqlite), probed_sql

    @pytest.mark.parametrize(
        ("query", "sort", "probed_on_postgres"),
        [
            ("NOT refund", "score", False),
            ("NOT refu*", "createdAt", True),
            # A text that leads the query is read first and probes nothing (`_text_page`).
            ("order AND NOT refund", "createdAt", False),
        ],
    )
    def test_not_by_relevance_nor_led_by_text_and_on_sqlite_not_for_a_prefix(
        self,
        api: Api,
        app: FastAPI,
        mailbox: int,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        sort: str,
        probed_on_postgres: bool,
    ) -> None:
        dialect = app.state.db.dialect
        monkeypatch.setitem(listing.PROBED_WALK, dialect, 10**9)
        pages, seen = self._pages(
            api, app, {"mailbox": mailbox, "query": query, "sortField": sort, "status": "all"}
        )
        assert pages[0]
        probes = dialect == "postgresql" and probed_on_postgres
        assert any(text_probe(dialect) in s for s in seen) == probes, seen

    def test_a_long_walk_lists(
        self, api: Api, app: FastAPI, mailbox: int, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """`NOT refund` keeps 27 of the 36 conversations: page 1's walk reads about 25 × 36 / 27
        ≈ 33 of them, page 2's about 50 × 36 / 27 ≈ 67."""
        dialect = app.state.db.dialect
        monkeypatch.setitem(listing.PROBED_WALK, dialect, 40)
        _, seen = self._pages(api, app, {"mailbox": mailbox, "query": "NOT refund", "status": "all"})
        assert [text_probe(dialect) in s for s in seen] == [True, False], seen


class TestRelevanceJoined:
    """A page by relevance whose text does not drive it (OR-ed with a tag here) ranks through the
    scores joined to the conversations (`CompiledQuery.score_joined`, SQLite): looked up per row,
    SQLite read all the scores again for each row (22 s at 1M conversations)."""

    QUERY = "espresso OR tag:vip"

    @pytest.fixture
    def ranked(self, api: Api) -> int:
        mailbox = api.mailbox()
        for n in range(6):
            subject = " ".join(["espresso"] * (n % 3 + 1) + ["beans"] * n)
            _imported(api, mailbox, f"2021-01-0{n + 1}T10:00:00Z", subject=subject)
        for n in range(3):
            _imported(api, mailbox, f"2021-02-0{n + 1}T10:00:00Z", subject=f"tea {n}", tags=["vip"])
        _imported(api, mailbox, "2021-03-01T10:00:00Z", subject="neither")
        return mailbox

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("few", [True, False])
    @pytest.mark.parametrize("order", ["desc", "asc"])
    def test_pages_equal_those_looked_up(
        self, api: Api, ranked: int, monkeypatch: pytest.MonkeyPatch, few: bool, order: str
    ) -> None:
        if not few:
            monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        params = {"mailbox": ranked, "query": self.QUERY, "sortField": "score", "sortOrder": order}
        joined = _ids(api.get("/v2/conversations", params=params))
        with monkeypatch.context() as looked_up:
            looked_up.setattr(CompiledQuery, "score_joined", lambda _: None)
            expected = _ids(api.get("/v2/conversations", params=params))
        assert joined == expected
        assert len(joined) == 9
        tagged_last = joined[-3:] if order == "desc" else joined[:3]
        assert tagged_last == sorted(tagged_last, reverse=order == "desc")  # score 0: by id

    @pytest.mark.usefixtures("answers_computed")
    @pytest.mark.parametrize("few", [True, False])
    def test_sqlite_indexes_the_joined_scores(
        self, api: Api, app: FastAPI, dialect: str, ranked: int, monkeypatch: pytest.MonkeyPatch, few: bool
    ) -> None:
        if not few:
            monkeypatch.setattr(listing, "FEW_MATCHES", 0)
        with statements_with_parameters(app) as ran:
            query = f"modifiedAt:[2000-01-01 TO 2100-01-01] AND ({self.QUERY})"
            params = {"query": query, "sortField": "score", "status": "all"}
            assert len(_ids(api.get("/v2/conversations", params=params))) == 9
        joined = [(s, p) for s, p in ran if "JOIN text_scores" in s]
        if dialect == "postgresql":  # ts_rank reads each row's own document: nothing to join
            assert joined == [] and any("ts_rank" in s for s, _ in ran)
            return
        assert len(joined) == 1, ran
        sql, parameters = joined[0]
        with app.state.db.engine.connect() as conn:
            plan = [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters)]
        # Without the limit written into the SQL, SQLite scanned the scores for each row.
        assert any("text_scores USING AUTOMATIC COVERING INDEX" in step for step in plan), plan
        assert not any(step.startswith("SCAN text_scores") for step in plan), plan
