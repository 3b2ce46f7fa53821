"""Text search through the API: the per-conversation search document, its upkeep on every write,
the index walk in list order, and totals of large matches."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import pytest
from fastapi import FastAPI

from tests.support.api import Api
from tests.support.sql import TEXT_PROBE, counting, statements, statements_with_parameters
from tidings.conversations import listing
from tidings.kit.db import create_db_engine
from tidings.search import compile as search_compile


def _search(api: Api, query: str, **params: object) -> dict:
    response = api.get("/v2/conversations", params={"query": query, "status": "all", **params})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: dict) -> list[int]:
    return [c["id"] for c in body["_embedded"]["conversations"]]


def _plums_of_each_status(api: Api) -> None:
    """Six plums, changed after writing to 2 pending, 1 closed, 3 active (one back from spam),
    and six active figs, in one mailbox."""
    mailbox = api.mailbox()
    plums = [api.conversation(mailbox, subject=f"Plum {n}") for n in range(6)]
    for n in range(6):
        api.conversation(mailbox, subject=f"Fig {n}")
    for plum, now in [(0, "pending"), (1, "pending"), (2, "closed"), (3, "spam"), (3, "active")]:
        changed = api.patch(
            f"/v2/conversations/{plums[plum]}", {"op": "replace", "path": "/status", "value": now}
        )
        assert changed.status_code == 204, changed.text


def _samples(statement: str) -> bool:
    """Whether the statement is an estimate's sample of the text index (`TextDriver.sample`)."""
    return "WITH ORDINALITY" in statement or "ORDER BY rowid LIMIT" in statement


def _kept_statements() -> set[int]:
    """The statements kept for searches (`listing._kept_statement`), by identity."""
    return {id(prepared) for _, (_, prepared) in listing._search_statements._entries.values()}


class Quinces(NamedTuple):
    """`TestRelevancePage`'s conversations: the matches in creation order, and the two mailboxes."""

    found: list[int]
    first: int
    second: int


def _imported(api: Api, mailbox: int, created: str, text: str, **overrides: object) -> int:
    return api.conversation(
        mailbox,
        imported=True,
        createdAt=created,
        threads=[
            {"type": "customer", "text": text, "createdAt": created, "customer": {"email": "x@example.com"}}
        ],
        **overrides,
    )


class TestDocumentUpkeep:
    def test_new_threads_edits_and_subject_changes_are_searchable_at_once(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox, subject="Kettle broken")
        assert _ids(_search(api, "subject:kettle")) == [cid]
        reply = api.post(
            f"/v2/conversations/{cid}/reply",
            {"text": "Try the zanzibar reset"},
        )
        assert reply.status_code == 201, reply.text
        assert _ids(_search(api, 'body:"zanzibar reset"')) == [cid]
        patched = api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/subject", "value": "Toaster"}
        )
        assert patched.status_code == 204, patched.text
        assert _ids(_search(api, "subject:kettle")) == []
        assert _ids(_search(api, "subject:toaster")) == [cid]

    def test_new_words_are_found_by_their_prefixes_at_once(
        self, api: Api, app: FastAPI, dialect: str, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """SQLite walks a prefix through the words its index holds (`search_words`), which every
        write of a document adds to: a word the index did not hold before is found at once
        (read as its words whatever their documents: these are in one each)."""
        monkeypatch.setattr(search_compile, "PREFIX_DOCUMENTS_PER_WORD", 0)
        mailbox = api.mailbox()
        cid = api.conversation(mailbox, subject="Zythum tasting")
        with statements(app) as seen:
            assert _ids(_search(api, "zyth*")) == [cid]
        assert any("search_words" in statement for statement in seen) == (dialect == "sqlite")
        reply = api.post(f"/v2/conversations/{cid}/reply", {"text": "A quixotry of hops"})
        assert reply.status_code == 201, reply.text
        assert _ids(_search(api, "quixot*")) == [cid]
        assert _ids(_search(api, "body:quixot*")) == [cid]
        patched = api.patch(
            f"/v2/conversations/{cid}", {"op": "replace", "path": "/subject", "value": "Xerarch"}
        )
        assert patched.status_code == 204, patched.text
        assert _ids(_search(api, "xera*")) == [cid]
        assert _ids(_search(api, "subject:zyth*")) == []

    def test_edited_thread_text_replaces_the_old_text(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox)
        threads = api.get(f"/v2/conversations/{cid}/threads").json()["_embedded"]["threads"]
        edited = api.patch(
            f"/v2/conversations/{cid}/threads/{threads[0]['id']}",
            {"op": "replace", "path": "/text", "value": "Marmalade everywhere"},
        )
        assert edited.status_code == 204, edited.text
        assert _ids(_search(api, "marmalade")) == [cid]
        assert _ids(_search(api, 'body:"hello"')) == []


class TestPhrasesStayInOneThread:
    def test_a_phrase_does_not_join_the_end_of_one_thread_to_the_next(self, api: Api) -> None:
        mailbox = api.mailbox()
        split = api.conversation(
            mailbox,
            threads=[
                {
                    "type": "customer",
                    "text": "first line ends with apple",
                    "customer": {"email": "a@example.com"},
                },
                {
                    "type": "customer",
                    "text": "banana starts this one",
                    "customer": {"email": "a@example.com"},
                },
            ],
        )
        together = api.conversation(
            mailbox,
            threads=[
                {
                    "type": "customer",
                    "text": "an apple banana smoothie",
                    "customer": {"email": "b@example.com"},
                }
            ],
        )
        assert _ids(_search(api, 'body:"apple banana"')) == [together]
        assert set(_ids(_search(api, "body:apple AND body:banana"))) == {split, together}

    def test_the_subject_is_not_a_body(self, api: Api) -> None:
        mailbox = api.mailbox()
        cid = api.conversation(mailbox, subject="Quince jelly")
        assert _ids(_search(api, "body:quince")) == []
        assert _ids(_search(api, "subject:quince")) == [cid]
        assert _ids(_search(api, "quince")) == [cid]

    def test_a_body_is_not_the_subject(self, api: Api) -> None:
        """PostgreSQL finds subject words through the subject's own index; SQLite in its column."""
        mailbox = api.mailbox()
        in_body = api.conversation(
            mailbox,
            subject="Medlar tart",
            threads=[
                {"type": "customer", "customer": {"email": "m@example.com"}, "text": "Sloe gin and medlar"}
            ],
        )
        in_subject = api.conversation(mailbox, subject="Sloe berries")
        assert _ids(_search(api, "subject:sloe")) == [in_subject]
        assert _ids(_search(api, "subject:slo*")) == [in_subject]
        assert _ids(_search(api, "subject:medlar")) == [in_body]
        assert _ids(_search(api, 'subject:sloe AND body:"sloe gin"')) == []
        assert _ids(_search(api, 'subject:medlar AND body:"sloe gin"')) == [in_body]
        assert sorted(_ids(_search(api, "sloe"))) == sorted([in_body, in_subject])


class TestIndexWalk:
    """On SQLite a createdAt-sorted text search walks the index; both databases must agree."""

    @pytest.fixture
    def spread(self, api: Api) -> list[int]:
        mailbox = api.mailbox()
        # Ids in one order, creation times in another: the walk must follow createdAt, then id.
        times = [
            "2021-03-01T00:00:00Z",
            "2020-01-01T00:00:00Z",
            "2022-06-01T00:00:00Z",
            "2021-03-01T00:00:00Z",
        ]
        ids = [_imported(api, mailbox, when, f"walnut number {n}") for n, when in enumerate(times)]
        _imported(api, mailbox, "2023-01-01T00:00:00Z", "no nuts here")
        return ids

    def test_order_by_created_then_id_both_ways(self, api: Api, spread: list[int]) -> None:
        a, b, c, d = spread
        assert _ids(_search(api, "walnut")) == [c, d, a, b]
        assert _ids(_search(api, "walnut", sortOrder="asc")) == [b, a, d, c]

    def test_other_filters_apply_during_the_walk(self, api: Api, spread: list[int]) -> None:
        a, b, c, d = spread
        api.patch(f"/v2/conversations/{c}", {"op": "replace", "path": "/status", "value": "closed"})
        assert _ids(_search(api, "walnut AND status:active")) == [d, a, b]
        assert _ids(_search(api, "walnut", status="closed")) == [c]
        assert _search(api, "walnut", status="closed")["page"]["totalElements"] == 1

    def test_a_bare_term_naming_a_customer_still_finds_their_conversations(self, api: Api) -> None:
        mailbox = api.mailbox()
        texted = api.conversation(mailbox, subject="About Figaro")
        named = api.conversation(
            mailbox, customer={"email": "opera@example.com", "firstName": "Figaro", "lastName": "Barber"}
        )
        assert set(_ids(_search(api, "figaro"))) == {texted, named}

    @pytest.mark.parametrize("query", ["rosina", "ROSI*", '"Rosina Bartolo"', '"Rosina@Example.com"'])
    def test_a_bare_term_finds_a_customer_by_first_name_prefix_full_name_or_address(
        self, api: Api, query: str
    ) -> None:
        """Each shape of the customer check (exact name, prefix, full name, address), none of which
        the conversation's own text matches."""
        mailbox = api.mailbox()
        named = api.conversation(
            mailbox,
            subject="Tickets",
            customer={"email": "rosina@example.com", "firstName": "Rosina", "lastName": "Bartolo"},
        )
        unnamed = api.conversation(mailbox, subject="Tickets")
        found = _ids(_search(api, query))
        assert named in found
        assert unnamed not in found


class TestLargeTotals:
    """With `estimate_large_totals` off: large matches counted exactly (estimates: below)."""

    @pytest.fixture(autouse=True)
    def _exact(self, app: FastAPI, monkeypatch: pytest.MonkeyPatch, answers_computed: None) -> None:
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)

    def test_large_matches_are_counted_exactly_then_reused_for_a_while(
        self, api: Api, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        listing._large_totals.clear()
        mailbox = api.mailbox()
        ids = [api.conversation(mailbox, subject=f"Pumpkin {n}") for n in range(4)]
        first = _search(api, "pumpkin")
        assert first["page"]["totalElements"] == 4
        assert _ids(first) == sorted(ids, reverse=True)
        newest = api.conversation(mailbox, subject="Pumpkin late")
        again = _search(api, "pumpkin")
        # The page is read fresh; the large total is the one counted a moment ago.
        assert _ids(again)[0] == newest
        assert again["page"]["totalElements"] == 4
        listing._large_totals.clear()
        assert _search(api, "pumpkin")["page"]["totalElements"] == 5

    def test_a_kept_total_is_not_counted_again(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Neither the exact count nor the check that the match is large runs while it is kept."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        listing._large_totals.clear()
        mailbox = api.mailbox()
        for n in range(4):
            api.conversation(mailbox, subject=f"Gourd {n}")
        with statements(app) as seen:
            _search(api, "gourd")
            first = [s for s in seen if "count(" in s.lower()]
            seen.clear()
            assert _search(api, "gourd", page=2)["page"]["totalElements"] == 4
            again = [s for s in seen if "count(" in s.lower()]
        if app.state.db.dialect == "postgresql":
            assert len(first) == 1, first  # the match counted in one capped statement
        else:
            assert len(first) >= 2, first  # whether the match is large, then its count
        assert again == []

    def test_a_small_count_runs_with_the_connection_settings(self, api: Api, app: FastAPI) -> None:
        """Only a large count changes PostgreSQL settings (three more round trips): a small one
        is one statement on the connection's own settings."""
        listing._large_totals.clear()
        mailbox = api.mailbox()
        for n in range(3):
            api.conversation(mailbox, subject=f"Parsnip {n}")
        with statements(app) as seen:
            assert _search(api, "parsnip")["page"]["totalElements"] == 3
        assert [s for s in seen if "set_config" in s or "current_setting" in s] == []

    @pytest.mark.parametrize(
        ("query", "status", "expected", "filters_listed"),
        [
            ("turnip", "all", 6, False),  # 13 conversations kept by the filters, 6 matches
            ("turnip", "closed", 2, True),
            ("turnip AND NOT tag:root", "all", 5, False),
            ("turnip AND NOT tag:root", "closed", 2, True),
            ("turnip OR swede", "closed", 2, True),
            ("swede", "active", 3, False),
        ],
    )
    def test_a_large_count_is_the_same_whichever_side_is_listed(
        self,
        api: Api,
        app: FastAPI,
        monkeypatch: pytest.MonkeyPatch,
        query: str,
        status: str,
        expected: int,
        filters_listed: bool,
    ) -> None:
        """SQLite lists the filtered conversations instead of the matches when they are fewer."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", 0.0)
        mailbox = api.mailbox()
        turnips = [api.conversation(mailbox, subject=f"Turnip {n}") for n in range(6)]
        for n in range(3):
            api.conversation(mailbox, subject=f"Swede {n}")
        for n in range(4):
            api.conversation(mailbox, subject=f"Carrot {n}")
        for closed in turnips[:2]:
            api.patch(f"/v2/conversations/{closed}", {"op": "replace", "path": "/status", "value": "closed"})
        api.put(f"/v2/conversations/{turnips[-1]}/tags", {"tags": ["root"]})
        with statements(app) as seen:
            totals = []
            for cap in (0, 1_000):
                monkeypatch.setattr(listing, "FILTER_SIDE_CAP", cap)
                listing._large_totals.clear()
                totals.append(_search(api, query, status=status)["page"]["totalElements"])
        assert totals == [expected, expected]
        if app.state.db.dialect == "sqlite":
            flat = [" ".join(s.split()) for s in seen]
            listed_filters = [s for s in flat if "IN (SELECT conversations.id FROM conversations" in s]
            assert bool(listed_filters) == filters_listed, seen

    @pytest.mark.parametrize(
        ("status", "expected"), [("active", 3), ("pending", 2), ("open", 5), ("closed", 1), ("all", 6)]
    )
    def test_a_count_among_statuses_alone_is_looked_up_in_their_indexes(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, status: str, expected: int
    ) -> None:
        """SQLite counts a text's matches among the active or pending conversations by looking
        each up in its status's index of ids (0027) while they are few against those
        conversations: the same total as checking them against the listed ids, statuses changed
        since the conversations were written included. Closed ones, and every status, have no
        such index."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        _plums_of_each_status(api)
        totals, looked_up = [], []
        for probed_per_allowed in (0.0, 1_000.0):
            monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", probed_per_allowed)
            listing._large_totals.clear()
            with statements(app) as seen:
                totals.append(_search(api, "plum", status=status)["page"]["totalElements"])
            counts = [s for s in seen if "count(*) AS count_1" in s and "text_matches AS" not in s]
            looked_up.append(any("INDEXED BY ix_conversations_" in s for s in counts))
        assert totals == [expected, expected]
        indexed = app.state.db.dialect == "sqlite" and status in ("active", "pending", "open")
        assert looked_up == [False, indexed]

    @pytest.mark.parametrize(
        ("status", "plums", "figs"),
        [("active", 3, 6), ("pending", 2, 0), ("open", 5, 6), ("closed", 1, 0), ("all", 6, 6)],
    )
    @pytest.mark.parametrize("query", ["plum", "subject:plum", "NOT plum", "NOT subject:plum"])
    def test_postgresql_counts_the_statuses_matches_in_the_text_index_alone(
        self,
        api: Api,
        app: FastAPI,
        monkeypatch: pytest.MonkeyPatch,
        status: str,
        plums: int,
        figs: int,
        query: str,
    ) -> None:
        """PostgreSQL counts a text that its statuses alone filter, and `NOT` it, from the text
        index, which finds those statuses' matches by their lexemes (`TextDriver.narrowed_to`):
        no conversation is read, and the totals are the general count's, statuses changed
        since the conversations were written included. Subject words alone are found through
        the subject's own index, without lexemes; every status names none."""
        _plums_of_each_status(api)
        totals, counts = [], []
        for narrowed in (False, True):
            with monkeypatch.context() as general:
                if not narrowed:
                    general.setattr(listing, "_only_statuses", lambda *_: [])
                listing._large_totals.clear()
                listing._search_statements.clear()
                with statements(app) as seen:
                    totals.append(_search(api, query, status=status)["page"]["totalElements"])
            counts.append([" ".join(s.split()) for s in seen if "count(*)" in s])
        assert totals == [figs if query.startswith("NOT") else plums] * 2
        by_lexemes = [s for s in counts[1] if "AS TSQUERY" in s]
        expected = app.state.db.dialect == "postgresql" and status != "all" and "subject:" not in query
        assert bool(by_lexemes) is expected, counts[1]
        assert not [s for s in by_lexemes if "FROM conversations" in s], by_lexemes
        assert not [s for s in counts[0] if "AS TSQUERY" in s], counts[0]

    @pytest.mark.parametrize(("small", "kept"), [(2, True), (100, False)])
    def test_postgresql_keeps_a_count_by_lexemes_of_a_text_that_matches_many_in_all(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, small: int, kept: bool
    ) -> None:
        """A total counted among the statuses alone is kept as a large text's is
        (`LARGE_TOTAL_SECONDS`) when the text, by those statuses' share of every conversation,
        matches over `SMALL_TEXT_MATCH` in all (`listing._matches_many`): 3 active plums among
        9 active conversations of 12 stand for 4 plums in all. Else it is counted again."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", small)
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        listing._large_totals.clear()
        mailbox = api.mailbox()
        made = [api.conversation(mailbox, subject=f"Plum {n}") for n in range(6)]
        for n in range(6):
            api.conversation(mailbox, subject=f"Fig {n}")
        for plum in range(3):
            closed = api.patch(
                f"/v2/conversations/{made[plum]}", {"op": "replace", "path": "/status", "value": "closed"}
            )
            assert closed.status_code == 204, closed.text
        assert _search(api, "plum", status="active")["page"]["totalElements"] == 3
        api.conversation(mailbox, subject="Plum again")
        with statements(app) as seen:
            again = _search(api, "plum", status="active")["page"]["totalElements"]
        by_lexemes = [s for s in seen if "count(*)" in s and "AS TSQUERY" in s]
        assert again == (3 if kept else 4)  # SQLite keeps its large texts' totals alike
        assert bool(by_lexemes) is (app.state.db.dialect == "postgresql" and not kept)

    @pytest.mark.parametrize("query", ["plum AND createdAt:[2000-01-01T00:00:00Z TO *]", "plum"])
    def test_other_filters_keep_the_count_that_lists_them(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, query: str
    ) -> None:
        """With anything beside the statuses (a mailbox, a condition in `query=` besides the
        text), the matches are checked against the filters as before."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", 1_000.0)
        listing._large_totals.clear()
        mailbox, other = api.mailbox(), api.mailbox()
        for n in range(4):
            api.conversation(mailbox, subject=f"Plum {n}")
            api.conversation(other, subject=f"Plum {n}")
        params = {"status": "active"} if " AND " in query else {"status": "active", "mailbox": mailbox}
        with statements(app) as seen:
            total = _search(api, query, **params)["page"]["totalElements"]
        assert total == (8 if " AND " in query else 4)
        assert not [s for s in seen if "INDEXED BY" in s]

    def test_small_matches_are_always_exact(self, api: Api) -> None:
        listing._large_totals.clear()
        mailbox = api.mailbox()
        api.conversation(mailbox, subject="Parsnip")
        assert _search(api, "parsnip")["page"]["totalElements"] == 1
        api.conversation(mailbox, subject="Parsnip again")
        assert _search(api, "parsnip")["page"]["totalElements"] == 2


class TestEstimatedTotals:
    """A text matching more than `SMALL_TEXT_MATCH` conversations reports an estimated total,
    sampled slice by slice from the text index; the pages themselves stay exact."""

    MATCHES = 120

    @pytest.fixture
    def quinces(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> list[int]:
        """120 matches an hour apart, every third closed (oldest first); 3 slices of 8 sampled."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 10)
        monkeypatch.setattr(listing, "ESTIMATE_STRATA", 3)
        monkeypatch.setattr(listing, "ESTIMATE_SAMPLE", 8)
        monkeypatch.setattr(listing, "COUNTED_CAP", 50)  # PostgreSQL counts up to 50 matches, then estimates
        listing._large_totals.clear()
        mailbox = api.mailbox()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        return [
            _imported(
                api,
                mailbox,
                (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                f"A quince, number {n}",
                status="closed" if n % 3 == 0 else "active",
            )
            for n in range(self.MATCHES)
        ]

    def test_the_estimate_is_near_the_count_and_applies_the_filters(
        self, api: Api, app: FastAPI, quinces: list[int]
    ) -> None:
        with statements(app) as seen:
            every = _search(api, "quince")["page"]["totalElements"]
            listing._large_totals.clear()
            active = _search(api, "quince", status="active")["page"]["totalElements"]
        assert abs(every - 120) <= 12, every
        assert abs(active - 80) <= 12, active
        # Nothing counted every match: only the capped check that the match is large (PostgreSQL:
        # the count capped at `COUNTED_CAP`), and the sample.
        counts = counting(seen)
        assert counts and all("LIMIT" in s for s in counts), counts
        assert sum(map(_samples, seen)) == 2, seen

    def test_an_estimate_from_the_documents_checked_is_near_the_count(
        self, api: Api, quinces: list[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PostgreSQL stops checking a slice's documents after `ESTIMATE_CHECKED`; the matches
        among those checked stand for the slice (SQLite's index reads every match it needs)."""
        monkeypatch.setattr(listing, "ESTIMATE_SAMPLE", 50)
        monkeypatch.setattr(listing, "ESTIMATE_CHECKED", 8)
        every = _search(api, "quince")["page"]["totalElements"]
        listing._large_totals.clear()
        active = _search(api, "quince", status="active")["page"]["totalElements"]
        assert abs(every - 120) <= 12, every
        assert abs(active - 80) <= 12, active

    @pytest.mark.parametrize("sort", ["createdAt", "number"])
    def test_pages_are_exact_and_reach_past_an_estimate_that_falls_short(
        self, api: Api, quinces: list[int], monkeypatch: pytest.MonkeyPatch, sort: str
    ) -> None:
        monkeypatch.setattr(listing, "_estimated_text_count", lambda *args: 30)
        newest_first = quinces[::-1]  # numbers rise with creation too
        first = _search(api, "quince", sortField=sort)
        assert first["page"]["totalElements"] == 30
        assert _ids(first) == newest_first[:25]
        last_page = -(-self.MATCHES // 25)
        assert (
            _ids(_search(api, "quince", sortField=sort, page=last_page))
            == newest_first[(last_page - 1) * 25 :]
        )
        assert _ids(_search(api, "quince", sortField=sort, page=last_page + 1)) == []

    def test_a_large_text_that_the_filters_make_small_is_counted(self, api: Api, quinces: list[int]) -> None:
        elsewhere = api.mailbox()
        for n in range(3):
            api.conversation(elsewhere, subject=f"Quince {n}")
        assert _search(api, "quince", mailbox=elsewhere)["page"]["totalElements"] == 3

    def test_postgresql_counts_matches_up_to_the_cap_exactly_and_keeps_the_count(
        self, api: Api, app: FastAPI, quinces: list[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """Below the cap, in one statement; SQLite estimates any match past `SMALL_TEXT_MATCH`."""
        monkeypatch.setattr(listing, "COUNTED_CAP", 1_000)
        with statements(app) as seen:
            every = _search(api, "quince")["page"]["totalElements"]
        active = _search(api, "quince", status="active")["page"]["totalElements"]
        _imported(api, api.mailbox(), "2024-01-03T00:30:00Z", "One more quince")
        kept = _search(api, "quince")["page"]["totalElements"]
        if app.state.db.dialect == "postgresql":
            assert (every, active, kept) == (120, 80, 120)
            assert not any(map(_samples, seen)), seen
        else:
            assert abs(every - 120) <= 12 and abs(active - 80) <= 12, (every, active)
            assert kept == every

    def test_a_text_planned_to_match_many_is_estimated_without_the_check(
        self, api: Api, app: FastAPI, quinces: list[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """PostgreSQL's planner expecting `PLANNED_MANY` matches or more sends the text straight
        to the estimate; one that then turns out to match few is still counted exactly."""
        monkeypatch.setattr(listing, "PLANNED_MANY", 0)
        mailbox = api.mailbox()
        for n in range(3):
            _imported(api, mailbox, f"2024-01-02T0{n}:30:00Z", f"A medlar, number {n}")
        with statements(app) as seen:
            every = _search(api, "quince")["page"]["totalElements"]
            few = _search(api, "medlar")["page"]["totalElements"]
        assert abs(every - 120) <= 12, every
        assert few == 3
        counts = counting(seen)
        if app.state.db.dialect == "postgresql":
            assert sum(map(_samples, seen)) == 2, seen
            assert not any(
                s.startswith("SELECT count(*) AS count_1, count(conversations.id)") for s in counts
            )

    @pytest.mark.parametrize(
        ("words_cap", "documents_per_word"),
        [(search_compile.PREFIX_WORDS_CAP, 0), (0, 0), (search_compile.PREFIX_WORDS_CAP, 10**6)],
    )
    def test_a_prefix_is_estimated_unless_sqlite_merges_its_words(
        self,
        api: Api,
        app: FastAPI,
        quinces: list[int],
        monkeypatch: pytest.MonkeyPatch,
        words_cap: int,
        documents_per_word: int,
    ) -> None:
        """SQLite reads a prefix of at most `PREFIX_WORDS_CAP` words, holding more than
        `PREFIX_DOCUMENTS_PER_WORD` documents each, as those words, whose matches stream in key
        order for each slice of the sample; any other prefix FTS5 would merge for each slice,
        so its matches are counted instead. PostgreSQL's sample checks documents, whatever the
        text."""
        monkeypatch.setattr(search_compile, "PREFIX_WORDS_CAP", words_cap)
        monkeypatch.setattr(search_compile, "PREFIX_DOCUMENTS_PER_WORD", documents_per_word)
        with statements(app) as seen:
            every = _search(api, "quin*")["page"]["totalElements"]
        sampled = sum(map(_samples, seen))
        if app.state.db.dialect == "sqlite" and (words_cap == 0 or documents_per_word > 0):
            assert (every, sampled) == (120, 0), seen
        else:
            assert abs(every - 120) <= 12 and sampled == 1, (every, seen)

    def test_off_the_total_is_counted_exactly(
        self, api: Api, app: FastAPI, quinces: list[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        assert _search(api, "quince")["page"]["totalElements"] == 120
        listing._large_totals.clear()
        assert _search(api, "quince", status="active")["page"]["totalElements"] == 80


class TestNamedTerms:
    """One bare term whose text matches many conversations and that also names a customer
    (`quin*`, `quince`: Quincy Quince): its pages hold the text's matches and her
    conversations once each, in createdAt order, on both databases. SQLite merges the text's
    walk with her conversations, each read up to the page's end (`listing._named_text_page`),
    and estimates the total; PostgreSQL counts it."""

    TEXTS = 30

    @pytest.fixture
    def created(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> dict[int, tuple[datetime, str]]:
        """Every conversation's createdAt and status: 30 matches of the text an hour apart
        (every third closed), five of Quincy's without it between them (the first closed), one
        of hers with it, and in a second mailbox two matches and one of hers."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 10)
        monkeypatch.setattr(listing, "ESTIMATE_STRATA", 3)
        monkeypatch.setattr(listing, "ESTIMATE_SAMPLE", 8)
        monkeypatch.setattr(search_compile, "PREFIX_DOCUMENTS_PER_WORD", 0)
        listing._large_totals.clear()
        listing._named_few.clear()
        quincy = {"email": "quincy@example.com", "firstName": "Quincy", "lastName": "Quince"}
        mailbox, other = api.mailbox(), api.mailbox()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        created: dict[int, tuple[datetime, str]] = {}

        def add(box: int, hours: float, text: str, status: str, **overrides: object) -> None:
            when = start + timedelta(hours=hours)
            made = _imported(api, box, when.strftime("%Y-%m-%dT%H:%M:%SZ"), text, status=status, **overrides)
            created[made] = (when, status)

        for n in range(self.TEXTS):
            add(mailbox, n, f"A quince, number {n}", "closed" if n % 3 == 0 else "active")
        for k in range(5):
            add(mailbox, 5 * k + 0.5, "Hi there", "closed" if k == 0 else "active", customer=quincy)
        add(mailbox, 40, "A quince for me", "active", customer=quincy)
        add(other, 50, "Another quince", "active")
        add(other, 51, "Quinces again", "active")
        add(other, 52, "Hello", "active", customer=quincy)
        return created

    @staticmethod
    def _expected(
        created: dict[int, tuple[datetime, str]], status: str, descending: bool, box: set[int]
    ) -> list[int]:
        kept = [cid for cid, (_, state) in created.items() if cid in box and status in ("all", state)]
        return sorted(kept, key=lambda cid: (created[cid][0], cid), reverse=descending)

    @pytest.mark.parametrize("query", ["quin*", "quince"])
    @pytest.mark.parametrize("status", ["all", "active"])
    @pytest.mark.parametrize("order", ["desc", "asc"])
    def test_pages_hold_the_text_and_the_customers_conversations_once_in_order(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        created: dict[int, tuple[datetime, str]],
        query: str,
        status: str,
        order: str,
    ) -> None:
        first_box = set(list(created)[:36])
        expected = self._expected(created, status, order == "desc", first_box)
        mailbox = api.get(f"/v2/conversations/{expected[0]}").json()["mailboxId"]
        with statements(app) as seen:
            pages = [
                _search(api, query, status=status, sortOrder=order, mailbox=mailbox, page=page)
                for page in (1, 2)
            ]
        assert _ids(pages[0]) + _ids(pages[1]) == expected
        assert any("owned_side" in statement for statement in seen) == (dialect == "sqlite")

    def test_the_total_is_the_texts_estimate_and_her_conversations_it_leaves_out(
        self,
        api: Api,
        dialect: str,
        created: dict[int, tuple[datetime, str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """SQLite: 31 text matches estimated among 39 conversations leave out 8/39 of them, so
        her 7 conversations count as 7 x 8/39, rounded; PostgreSQL counts all 39 exactly (33
        matches of the text, six of hers without it)."""
        monkeypatch.setattr(listing, "_estimated_text_count", lambda *args: 31)
        total = _search(api, "quin*")["page"]["totalElements"]
        assert total == (31 + round(7 * (1 - 31 / 39)) if dialect == "sqlite" else 39)

    def test_a_text_that_the_filters_make_small_is_read_the_general_way_exactly(
        self, api: Api, app: FastAPI, created: dict[int, tuple[datetime, str]]
    ) -> None:
        other_box = set(list(created)[36:])
        mailbox = api.get(f"/v2/conversations/{min(other_box)}").json()["mailboxId"]
        with statements(app) as seen:
            body = _search(api, "quin*", mailbox=mailbox)
            again = _search(api, "quin*", mailbox=mailbox)
        assert body["page"]["totalElements"] == again["page"]["totalElements"] == 3
        assert _ids(body) == self._expected(created, "all", True, other_box)
        assert not any("owned_side" in statement for statement in seen)

    @pytest.mark.parametrize("few_cap", [listing.NAMED_FEW_MATCHES, 2])
    def test_a_name_whose_text_matches_few_is_counted_and_paged_at_once(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        created: dict[int, tuple[datetime, str]],
        monkeypatch: pytest.MonkeyPatch,
        few_cap: int,
    ) -> None:
        """`quincy` names her and its text matches few of the 39 conversations: SQLite reads the
        list of both once for the total and the page (one statement, no count apart), unless it
        holds more than `NAMED_FEW_MATCHES` (2 here: then counted and paged apart, the same).
        Her list is taken to be longer than `FEW_MATCHES`, which reads a short one that way."""
        monkeypatch.setattr(listing, "NAMED_FEW_MATCHES", few_cap)
        monkeypatch.setattr(listing, "FEW_MATCHES", 3)
        ids = list(created)
        hers = sorted(ids[30:36] + ids[38:], key=lambda cid: (created[cid][0], cid), reverse=True)
        with statements(app) as seen:
            pages = [_search(api, "quincy", status="all", page=page) for page in (1, 2)]
        assert [page["page"]["totalElements"] for page in pages] == [7, 7]
        assert _ids(pages[0]) == hers and _ids(pages[1]) == []
        if dialect == "sqlite":
            apart = [
                s for s in counting(seen) if s.startswith("SELECT count(*) AS count_1 FROM conversations")
            ]
            assert any("led_matches" in statement for statement in seen), seen
            assert bool(apart) == (few_cap < 7), counting(seen)

    def test_a_name_read_at_once_slowly_keeps_its_total_for_the_next_pages(
        self,
        api: Api,
        app: FastAPI,
        dialect: str,
        created: dict[int, tuple[datetime, str]],
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """As a slow count is kept (`SLOW_TOTAL_SECONDS`, 0 here), so is the total read with
        the page: the next request reads its page alone, the same."""
        monkeypatch.setattr(listing, "FEW_MATCHES", 3)
        monkeypatch.setattr(listing, "SLOW_TOTAL_SECONDS", 0)
        with statements(app) as first:
            before = _search(api, "quincy", status="all")
        with statements(app) as second:
            after = _search(api, "quincy", status="all")
        assert before["page"]["totalElements"] == after["page"]["totalElements"] == 7
        assert _ids(before) == _ids(after) and len(_ids(after)) == 7
        if dialect == "sqlite":
            assert any("led_matches" in statement for statement in first), first
            assert not any("led_matches" in statement for statement in second), second
            assert not any(
                s.startswith("SELECT count(*) AS count_1 FROM conversations") for s in counting(second)
            )


class TestEstimatedComplement:
    """`NOT text` of a text matching many conversations: the kept counts less the text's matches
    among them, estimated as a large text's total is (`listing._complement_of_a_large_text`)."""

    @pytest.fixture
    def orchard(self, api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
        """140 conversations an hour apart, every seventh a pear (20), the others quinces (120);
        3 slices of 8 sampled; the quinces' list is long (over 50)."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 10)
        monkeypatch.setattr(listing, "ESTIMATE_STRATA", 3)
        monkeypatch.setattr(listing, "ESTIMATE_SAMPLE", 8)
        monkeypatch.setattr(listing, "COUNTED_CAP", 50)
        monkeypatch.setattr(listing, "LISTED_IDS_CAP", 50)
        listing._large_totals.clear()
        mailbox = api.mailbox()
        start = datetime(2024, 1, 1, tzinfo=UTC)
        for n in range(140):
            fruit = "pear" if n % 7 == 3 else "quince"
            created = (start + timedelta(hours=n)).strftime("%Y-%m-%dT%H:%M:%SZ")
            _imported(api, mailbox, created, f"A {fruit}, number {n}")

    @pytest.mark.usefixtures("orchard")
    def test_what_a_large_text_leaves_out_is_the_rest_of_its_estimate(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The complement of the same sample as `quince`'s own estimate; nothing counts the
        conversations one by one, and the page is exact."""
        monkeypatch.setattr(listing, "ESTIMATED_COMPLEMENT_SHARE", 1.0)
        matched = _search(api, "quince")["page"]["totalElements"]
        with statements(app) as seen:
            left = _search(api, "NOT quince")
        assert abs(matched - 120) <= 12, matched
        assert left["page"]["totalElements"] == 140 - matched
        assert sum(map(_samples, seen)) == 1, seen
        assert not any("NOT" in s for s in counting(seen)), seen
        assert len(_ids(left)) == 20  # read even where the estimate says fewer

    @pytest.mark.usefixtures("orchard")
    def test_what_most_conversations_match_leaves_out_is_counted(self, api: Api, app: FastAPI) -> None:
        """Past `ESTIMATED_COMPLEMENT_SHARE` of the conversations the estimate's error would
        swamp what is left (120 of 140 here): that is counted directly, exactly."""
        with statements(app) as seen:
            left = _search(api, "NOT quince")
        assert left["page"]["totalElements"] == 20
        assert any("NOT" in s for s in counting(seen)), seen


class TestPageStatement:
    """The page of a text search reads the text index and the filters, nothing it does not need."""

    @pytest.fixture(name="statements")
    def run_statements(self, app: FastAPI) -> Iterator[list[str]]:
        with statements(app) as seen:
            yield seen

    @pytest.mark.parametrize("sort_field", ["createdAt", "subject", "score"])
    def test_a_bare_term_naming_no_customer_pages_without_the_customer_branch(
        self, api: Api, statements: list[str], sort_field: str
    ) -> None:
        mailbox = api.mailbox()
        wanted = [api.conversation(mailbox, subject=f"Quince {n}") for n in range(3)]
        api.conversation(mailbox, subject="Medlar")
        statements.clear()
        assert set(_ids(_search(api, "quince", sortField=sort_field))) == set(wanted)
        pages = [s for s in statements if "ORDER BY" in s and "conversations" in s]
        assert pages, statements
        for page in pages:
            assert "customer_emails" not in page, page

    @pytest.mark.parametrize("sort_field", ["createdAt", "number"])
    def test_a_kept_page_statement_serves_only_the_filters_it_was_built_for(
        self, api: Api, sort_field: str
    ) -> None:
        """A text search's statements are kept per query and search shape: asked again (also in
        turn with another query) they are reused, and the same text under another mailbox,
        status, order or caller gets its own."""
        first, second = api.mailbox(), api.mailbox()
        older = api.conversation(first, subject="Loquat one")
        newer = api.conversation(first, subject="Loquat two", status="closed")
        elsewhere = api.conversation(second, subject="Loquat three")
        medlar = api.conversation(first, subject="Medlar")
        listing._search_statements.clear()

        def found(client: Api = api, text: str = "loquat", **params: object) -> list[int]:
            body = client.get("/v2/conversations", params={"query": text, "sortField": sort_field, **params})
            assert body.status_code == 200, body.text
            return _ids(body.json())

        assert found(mailbox=first, status="all") == [newer, older]
        assert found(text="medlar", mailbox=first, status="all") == [medlar]
        built = _kept_statements()
        assert found(mailbox=first, status="all") == [newer, older]
        assert found(text="medlar", mailbox=first, status="all") == [medlar]
        assert _kept_statements() == built
        assert found(mailbox=first, status="all", sortOrder="asc") == [older, newer]
        assert found(mailbox=first, status="active") == [older]
        assert found(mailbox=second, status="all") == [elsewhere]
        limited = api.as_user(api.user(mailbox_ids=[second]))
        assert found(limited, status="all") == [elsewhere]
        assert found(status="all") == [elsewhere, newer, older]

    def test_a_search_without_text_keeps_its_count_and_page_per_shape(self, api: Api) -> None:
        first, second = api.mailbox(), api.mailbox()
        closed = api.conversation(first, status="closed")
        pending = api.conversation(first, status="pending")
        elsewhere = api.conversation(second, status="closed")
        listing._search_statements.clear()

        def found(**params: object) -> dict:
            query = "status:closed OR status:pending"
            response = api.get("/v2/conversations", params={"query": query, "status": "all", **params})
            assert response.status_code == 200, response.text
            return response.json()

        assert _ids(found(mailbox=first)) == [pending, closed]
        built = _kept_statements()
        assert built
        assert _ids(found(mailbox=first)) == [pending, closed]
        assert _kept_statements() == built
        assert _ids(found(mailbox=first, sortOrder="asc")) == [closed, pending]
        assert _ids(found(mailbox=second)) == [elsewhere]
        narrowed = found(mailbox=first, status="closed")
        assert _ids(narrowed) == [closed]
        assert narrowed["page"]["totalElements"] == 1


class TestProbedPage:
    """SQLite: a page of a text with many matches, sorted by a field other than createdAt and
    relevance, walks the sort's index testing each conversation's document (`TextDriver.probe`)
    while that costs less than listing every match first (`listing._probes_the_page`). The pages
    are those of the listed form."""

    @pytest.fixture
    def quinces(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, answers_computed: None
    ) -> set[int]:
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 2)
        listing._large_totals.clear()
        first, second = api.mailbox(), api.mailbox()
        found = set()
        for n in range(32):
            subject = f"{'mzbqa'[n % 5]}{n % 7} quince {n}"
            status = "closed" if n % 4 == 0 else "active"
            mailbox = first if n % 3 else second
            found.add(
                _imported(
                    api,
                    mailbox,
                    f"2021-{n % 12 + 1:02d}-{n % 27 + 1:02d}T10:00:00Z",
                    "x",
                    subject=subject,
                    status=status,
                )
            )
        for n in range(6):
            api.conversation(first, subject=f"medlar {n}")
        return found

    def _pages(self, api: Api, app: FastAPI, params: dict[str, object]) -> tuple[list[list[int]], list[str]]:
        with statements(app) as seen:
            pages = [_ids(_search(api, "quince", page=page, **params)) for page in (1, 2)]
        return pages, [" ".join(s.split()) for s in seen if "ORDER BY" in s]

    @pytest.mark.parametrize(
        ("sort", "order"),
        [("subject", "asc"), ("subject", "desc"), ("number", "desc"), ("customerName", "asc")],
    )
    @pytest.mark.parametrize("status", ["all", "active"])
    def test_pages_equal_the_listed_ones(
        self,
        api: Api,
        app: FastAPI,
        quinces: set[int],
        monkeypatch: pytest.MonkeyPatch,
        sort: str,
        order: str,
        status: str,
    ) -> None:
        params = {"sortField": sort, "sortOrder": order, "status": status}
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 0)  # the walk whenever it can be
        probed, probed_sql = self._pages(api, app, params)
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 10**12)  # never
        listed, listed_sql = self._pages(api, app, params)
        assert probed == listed
        assert len(probed[0]) == 25 if status == "all" else len(probed[0]) == 24
        assert set(probed[0] + probed[1]) <= quinces
        assert not any(TEXT_PROBE in s for s in listed_sql), listed_sql
        assert any(TEXT_PROBE in s for s in probed_sql) == (app.state.db.dialect == "sqlite"), probed_sql

    @pytest.mark.parametrize(
        ("sort", "query"), [("createdAt", "quince"), ("score", "quince"), ("subject", "quin*")]
    )
    def test_not_for_the_list_order_relevance_or_a_prefix(
        self,
        api: Api,
        app: FastAPI,
        quinces: set[int],
        monkeypatch: pytest.MonkeyPatch,
        sort: str,
        query: str,
    ) -> None:
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 0)
        with statements(app) as seen:
            assert set(_ids(_search(api, query, sortField=sort))) <= quinces
        assert not any(TEXT_PROBE in s for s in seen), seen

    def test_sqlite_walks_the_sorts_index(
        self, api: Api, app: FastAPI, quinces: set[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 0)
        with statements_with_parameters(app) as ran:
            _search(api, "quince", sortField="subject", status="active")
        probed = [(sql, parameters) for sql, parameters in ran if TEXT_PROBE in sql]
        if app.state.db.dialect == "postgresql":
            assert probed == []
            return
        assert len(probed) == 1, ran
        with app.state.db.engine.connect() as conn:
            plan = [
                str(row[-1])
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + probed[0][0], probed[0][1])
            ]
        assert any("ix_conversations_state_subject" in step for step in plan), plan
        assert not any("LIST SUBQUERY" in step for step in plan), plan

    def test_a_deeper_page_is_listed(
        self, api: Api, app: FastAPI, quinces: set[int], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        """The walk reads ~through × allowed / total conversations at up to `PROBE_TO_LIST_COST`
        times the cost of listing one of the ~total × everyone / allowed matches: here 32 matches
        of 38 conversations, so with the cost at 0.8 page 1 (through 25) walks and page 2 (50)
        lists."""
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 0.8)
        pages, seen = self._pages(api, app, {"sortField": "subject", "status": "all"})
        walked = [TEXT_PROBE in s for s in seen if "FROM conversations WHERE" in s]
        if app.state.db.dialect == "sqlite":
            assert walked == [True, False], seen
        else:
            assert not any(walked), seen
        monkeypatch.setattr(listing, "PROBE_TO_LIST_COST", 10**12)
        assert self._pages(api, app, {"sortField": "subject", "status": "all"})[0] == pages


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_postgres_connections_do_not_jit_compile(db_url: str) -> None:
    engine = create_db_engine(db_url)
    try:
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar_one() == "off"
    finally:
        engine.dispose()


class TestFewMatches:
    """SQLite reads a text matching at most `SMALL_TEXT_MATCH` conversations once, for its total
    and its page together; the answers are those of the path for large matches."""

    @pytest.fixture
    def sorrels(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, answers_computed: None
    ) -> list[int]:
        """Eight matches (two closed; relevance varies with how often the word appears), two not."""
        monkeypatch.setattr(listing, "PAGE_SIZE", 3)
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        mailbox = api.mailbox()
        found = []
        for n in range(8):
            found.append(
                api.conversation(
                    mailbox,
                    subject=f"{chr(ord('h') - n)} " + "sorrel " * (1 + n % 3),
                    status="closed" if n in (2, 5) else "active",
                    threads=[
                        {
                            "type": "customer",
                            "text": "about the " + "sorrel " * (n % 4),
                            "customer": {"email": f"sorrel{n}@example.com"},
                        }
                    ],
                )
            )
        api.conversation(mailbox, subject="Chard order")
        api.conversation(mailbox, subject="Chard again")
        return found

    def _pages(self, api: Api, **params: object) -> tuple[list[int], list[int], list[list[int]]]:
        totals, pages = [], []
        for page in range(1, 5):
            body = _search(api, "sorrel", page=page, **params)
            totals.append(body["page"]["totalElements"])
            pages.append(_ids(body))
        return totals, [i for ids in pages for i in ids], pages

    @pytest.mark.parametrize("sort_field", ["createdAt", "subject", "score", "number"])
    @pytest.mark.parametrize("status", ["all", "active", "open"])
    def test_pages_and_totals_are_those_of_the_large_path(
        self, api: Api, monkeypatch: pytest.MonkeyPatch, sorrels: list[int], sort_field: str, status: str
    ) -> None:
        few = self._pages(api, sortField=sort_field, status=status)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        listing._large_totals.clear()
        large = self._pages(api, sortField=sort_field, status=status)
        assert few == large
        totals, listed, pages = few
        kept = sorrels if status == "all" else [cid for n, cid in enumerate(sorrels) if n not in (2, 5)]
        assert len(kept) == (8 if status == "all" else 6)
        assert totals == [len(kept)] * 4
        assert sorted(listed) == sorted(kept)  # every match once, across pages
        assert pages[-1] == []  # past the end: no rows, the true total
        if sort_field in ("createdAt", "number"):
            assert listed == sorted(kept, reverse=True)
        if sort_field == "subject":  # "h sorrel", "g sorrel sorrel", …: newest first
            assert listed == kept

    @pytest.mark.parametrize(
        ("params", "looked_up"),
        [
            ({"status": "active"}, True),
            ({"status": "open"}, True),
            ({"status": "pending"}, True),
            ({"status": "closed"}, False),
            ({"status": "all"}, False),
            ({"status": "active", "tag": "none"}, False),
            ({"status": "active", "assigned_to": 1}, False),
        ],
    )
    def test_sqlite_looks_the_matches_up_in_the_statuses_indexes(
        self, api: Api, app: FastAPI, sorrels: list[int], params: dict[str, object], looked_up: bool
    ) -> None:
        """Among statuses with an index of their ids, and nothing else filtering, each match is
        looked up there (`status_probe`) instead of its conversation's row."""
        with statements(app) as seen:
            _search(api, "sorrel", **params)
        read = [s for s in seen if "text_matches AS" in s]
        assert len(read) == (1 if app.state.db.dialect == "sqlite" else 0), seen
        if read:
            assert ("INDEXED BY ix_conversations_active_ids" in read[0]) is (
                looked_up and params["status"] != "pending"
            )
            assert ("INDEXED BY ix_conversations_pending_ids" in read[0]) is (
                looked_up and params["status"] != "active"
            )

    def test_how_often_the_text_index_is_read(self, api: Api, app: FastAPI, sorrels: list[int]) -> None:
        """Once on SQLite (one statement for total and page); PostgreSQL, whose few matches
        are cheap to read again, counts them up to a cap and then reads the page."""
        with statements(app) as seen:
            body = _search(api, "sorrel", sortField="score")
        assert body["page"]["totalElements"] == 8
        if app.state.db.dialect == "sqlite":
            assert len([s for s in seen if "MATCH" in s]) == 1, seen
        else:  # planned (EXPLAIN reads nothing), counted up to a cap, then paged
            read = [s for s in seen if "@@" in s and not s.startswith("EXPLAIN")]
            assert len(read) == 2, seen


class TestRelevancePage:
    """A page by relevance of a text with many matches: on SQLite the matches the filters keep are
    scored in one pass and sorted as they are (`CompiledQuery.ranked_among`); the order is the
    one the general path gives (that of few matches, which scores every match and filters after)."""

    @pytest.fixture
    def quinces(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, answers_computed: None
    ) -> Quinces:
        """Twelve matches in two mailboxes, three closed, relevance varying with how often and where
        the words appear; two conversations without them."""
        monkeypatch.setattr(listing, "PAGE_SIZE", 4)
        monkeypatch.setattr(app.state.settings, "estimate_large_totals", False)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", 0.0)  # looked up only where a test says
        first, second = api.mailbox(), api.mailbox()
        found: list[int] = []
        for n in range(12):
            found.append(
                api.conversation(
                    first if n % 3 else second,
                    subject=f"{chr(ord('a') + n)} " + "quince " * (n % 4) + ("medlar" if n % 5 == 0 else ""),
                    status="closed" if n in (1, 6, 7) else "active",
                    threads=[
                        {
                            "type": "customer",
                            "text": "about the " + "quince " * (1 + n % 3) + "jelly",
                            "customer": {"email": f"quince{n}@example.com"},
                        }
                    ],
                )
            )
        api.conversation(
            first,
            subject="Loquat",
            threads=[{"type": "customer", "text": "medlar only", "customer": {"email": "m@example.com"}}],
        )
        api.conversation(second, subject="Loquat again")
        return Quinces(found, first, second)

    def _listed(self, client: Api, query: str, **params: object) -> list[int]:
        ids: list[int] = []
        for page in range(1, 6):
            ids += _ids(_search(client, query, sortField="score", page=page, **params))
        return ids

    @pytest.mark.parametrize("listed_up_to", [0, 1_000_000])
    @pytest.mark.parametrize(
        "query",
        [
            "quince",
            "quince medlar",  # both words: not every match of either (the general page)
            "quince AND NOT subject:medlar",  # the filters read the text index too
            'body:"quince jelly"',
            "quince OR medlar",
            "quince AND status:active",
            "quince OR subject:medlar",
        ],
    )
    @pytest.mark.parametrize("params", [{}, {"status": "active"}, {"sortOrder": "asc"}, {"mailbox": "first"}])
    def test_pages_are_those_of_the_general_path(
        self,
        api: Api,
        monkeypatch: pytest.MonkeyPatch,
        quinces: Quinces,
        listed_up_to: int,
        query: str,
        params: dict[str, object],
    ) -> None:
        if params.get("mailbox") == "first":
            params = {**params, "mailbox": quinces.first}
        general = self._listed(api, query, **params)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        monkeypatch.setattr(listing, "LISTED_FOR_RANKING", listed_up_to)
        listing._large_totals.clear()
        listing._search_statements.clear()
        assert self._listed(api, query, **params) == general
        assert len(general) == len(set(general)) > 1

    @pytest.mark.parametrize(
        "query",
        ["quince", "quince medlar", 'body:"quince jelly"', "quince OR medlar", "quince OR subject:medlar"],
    )
    @pytest.mark.parametrize("status", ["active", "open"])
    def test_pages_looked_up_in_the_statuses_indexes_are_those_of_the_general_path(
        self,
        api: Api,
        app: FastAPI,
        monkeypatch: pytest.MonkeyPatch,
        quinces: Quinces,
        query: str,
        status: str,
    ) -> None:
        """A list that its statuses alone filter: SQLite ranks the driver's own text looking
        each match up in the indexes of ids of the statuses (0027, `status_probe`)."""
        general = self._listed(api, query, status=status)
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", 1_000.0)
        listing._large_totals.clear()
        listing._search_statements.clear()
        with statements(app) as seen:
            assert self._listed(api, query, status=status) == general
        assert len(general) == len(set(general)) > 1
        ranking = [" ".join(s.split()) for s in seen if "bm25(" in s and "text_matches AS" not in s]
        own_text = [s for s in ranking if "ORDER BY ranked.score DESC" in s]
        looked_up = [s for s in ranking if "INDEXED BY ix_conversations_active_ids" in s]
        assert looked_up == own_text, ranking
        assert bool(own_text) is (app.state.db.dialect == "sqlite" and query != "quince medlar"), ranking
        if status == "open":
            assert all("INDEXED BY ix_conversations_pending_ids" in s for s in looked_up), looked_up

    @pytest.mark.parametrize(
        "query",
        [
            "quince",
            "quince medlar",
            'body:"quince jelly"',
            "quince OR medlar",
            "quince OR subject:medlar",
            "subject:quince",
            "jell*",
        ],
    )
    @pytest.mark.parametrize(
        "params", [{"status": "active"}, {"status": "open"}, {"status": "closed", "sortOrder": "asc"}]
    )
    def test_postgresql_ranks_the_matches_of_its_statuses_from_the_text_index_alone(
        self,
        api: Api,
        app: FastAPI,
        monkeypatch: pytest.MonkeyPatch,
        quinces: Quinces,
        query: str,
        params: dict[str, object],
    ) -> None:
        """A list that its statuses alone filter: PostgreSQL finds the matches of those statuses
        by their lexemes and ranks each as it is read (`_PostgresText.ranked`), reading no
        conversation; the pages are those of the general path (the scores joined to the
        conversations the filters keep). Subject words alone keep the general path (the subject's
        own index finds them, without lexemes)."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        with statements(app) as seen:
            ranked = self._listed(api, query, **params)
        with monkeypatch.context() as general:
            general.setattr(listing, "_only_statuses", lambda *_: [])
            listing._large_totals.clear()
            listing._search_statements.clear()
            assert self._listed(api, query, **params) == ranked
        assert len(ranked) == len(set(ranked))
        # No closed conversation has both words (the fixture's medlars are active).
        assert bool(ranked) is ((query, params["status"]) != ("quince medlar", "closed"))
        if app.state.db.dialect != "postgresql":
            return
        pages = [" ".join(s.split()) for s in seen if "ts_rank(" in s]
        alone = [s for s in pages if "ORDER BY ranked.score" in s]
        assert bool(alone) is (query != "subject:quince" and bool(ranked)), pages  # no page past the total
        assert not [s for s in alone if "FROM conversations" in s or "JOIN conversations" in s], alone
        limited = api.as_user(api.user(mailbox_ids=[quinces.second]))
        with statements(app) as seen_limited:
            theirs = self._listed(limited, query, **params)
        assert not [s for s in seen_limited if "ORDER BY ranked.score" in s]
        assert set(theirs) <= set(ranked)

    def test_without_the_indexes_of_ids_pages_and_counts_check_as_before(
        self, api: Api, app: FastAPI, monkeypatch: pytest.MonkeyPatch, quinces: Quinces
    ) -> None:
        """A bulk load into empty tables drops every secondary index until its end: meanwhile no
        statement names the indexes of the ids of a status, not even a page kept from before."""
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", 1_000.0)
        with statements(app) as seen:
            before = self._listed(api, "quince", status="active")
        assert any("INDEXED BY" in s for s in seen) is (app.state.db.dialect == "sqlite")
        if app.state.db.dialect == "sqlite":
            with app.state.db.engine.begin() as conn:
                for name in search_compile.STATUS_ID_INDEXES.values():
                    conn.exec_driver_sql(f"DROP INDEX {name}")
        listing._large_totals.clear()
        with statements(app) as seen:
            assert self._listed(api, "quince", status="active") == before
        assert not [s for s in seen if "INDEXED BY" in s]

    @pytest.mark.parametrize("listed_up_to", [0, 1_000_000])
    def test_the_most_relevant_first_and_only_what_the_caller_may_see(
        self, api: Api, monkeypatch: pytest.MonkeyPatch, quinces: Quinces, listed_up_to: int
    ) -> None:
        monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        monkeypatch.setattr(listing, "LISTED_FOR_RANKING", listed_up_to)
        found = quinces.found
        ranked = self._listed(api, "quince", status="active")
        active = [cid for n, cid in enumerate(found) if n not in (1, 6, 7)]
        assert sorted(ranked) == sorted(active)
        # n = 11: "quince" three times in the subject (weighed double) and three in the body
        assert ranked[0] == found[11]
        limited = api.as_user(api.user(mailbox_ids=[quinces.second]))
        theirs = self._listed(limited, "quince", status="all")
        assert sorted(theirs) == sorted(found[n] for n in range(0, 12, 3))

    @pytest.mark.parametrize(
        ("small_text_match", "probed_per_allowed"), [(None, 0.0), (0, 0.0), (0, 1_000.0)]
    )
    def test_each_status_lists_the_conversations_it_holds_now(
        self,
        api: Api,
        monkeypatch: pytest.MonkeyPatch,
        quinces: Quinces,
        small_text_match: int | None,
        probed_per_allowed: float,
    ) -> None:
        """Statuses changed after the conversations were written: PostgreSQL's text index finds a
        list's statuses from the documents (`TextDriver.ids(listed=…)`), and SQLite's indexes of
        the ids of a status (`status_probe`) theirs, which must follow."""
        if small_text_match is not None:
            monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", small_text_match)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", probed_per_allowed)
        found = quinces.found
        for n, status in [(1, "active"), (0, "pending"), (2, "spam")]:
            changed = api.patch(
                f"/v2/conversations/{found[n]}", {"op": "replace", "path": "/status", "value": status}
            )
            assert changed.status_code == 204, changed.text
        by_status = {
            "active": {n for n in range(12) if n not in (0, 2, 6, 7)},
            "pending": {0},
            "closed": {6, 7},
        }
        by_status["open"] = by_status["active"] | by_status["pending"]
        by_status["spam"] = {2}
        for status, expected in by_status.items():
            listing._large_totals.clear()
            ranked = self._listed(api, "quince", status=status)
            assert sorted(ranked) == sorted(found[n] for n in expected), status

    @pytest.mark.parametrize(
        ("query", "many", "listed_up_to", "probed_per_allowed", "check"),
        [
            ("quince", True, 1_000_000, 0.0, "IN (SELECT conversations.id"),
            ("quince", True, 0, 0.0, "EXISTS (SELECT * FROM conversations WHERE"),
            ("quince", True, 1_000_000, 1_000.0, "INDEXED BY ix_conversations_active_ids"),
            ("quince medlar", True, 1_000_000, 0.0, "IN (SELECT conversations.id"),
            ("quince medlar", True, 0, 0.0, "EXISTS (SELECT * FROM conversations WHERE"),
            ("quince", False, 0, 0.0, "IN (SELECT kept.id"),
            ("quince medlar", False, 1_000_000, 0.0, "IN (SELECT kept.id"),
        ],
    )
    def test_sqlite_scores_only_the_matches_the_filters_keep(
        self,
        api: Api,
        app: FastAPI,
        monkeypatch: pytest.MonkeyPatch,
        quinces: Quinces,
        query: str,
        many: bool,
        listed_up_to: int,
        probed_per_allowed: float,
        check: str,
    ) -> None:
        """Each match is checked before bm25 ranks it: with many matches against the filters,
        looked up in the indexes of ids of the statuses that alone filter the list while the
        matches are few against them, else through the listed ids of the allowed conversations
        while those are few enough, else by probing the match's row; with few, against the
        matches the filters kept. A page of the driver's own text sorts the scores as they
        are, walking no index of `conversations`."""
        if many:
            monkeypatch.setattr(listing, "SMALL_TEXT_MATCH", 0)
        monkeypatch.setattr(listing, "LISTED_FOR_RANKING", listed_up_to)
        monkeypatch.setattr(listing, "PROBED_PER_ALLOWED", probed_per_allowed)
        listing._large_totals.clear()
        listing._search_statements.clear()
        with statements(app) as seen:
            assert _ids(_search(api, query, sortField="score", status="active"))
        flat = [" ".join(s.split()) for s in seen]
        if app.state.db.dialect != "sqlite":
            assert not [s for s in flat if "bm25(" in s]
            return
        page = [s for s in flat if "bm25(" in s][-1]  # after, with many, the check that they are few
        assert check in _cte_body(page, "text_scores"), page
        assert ("ORDER BY ranked.score DESC, ranked.id DESC" in page) is (many and query == "quince"), page


def _cte_body(statement: str, name: str) -> str:
    """The parenthesised body of the CTE `name` in a flattened statement."""
    start = statement.index(f"{name} AS ")
    start = statement.index("(", start)
    depth = 0
    for at in range(start, len(statement)):
        depth += {"(": 1, ")": -1}.get(statement[at], 0)
        if depth == 0:
            return statement[start + 1 : at]
    raise AssertionError(f"unbalanced {name} in {statement}")
