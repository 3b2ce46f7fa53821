"""Deep pages of a list in creation order begin at their first row's day (conversations/day_pages):
every page is the page an OFFSET gives, in either order, for any statuses, across days of many,
one or no conversations and ties on the creation instant, and past the last row; the days read
for one page serve the next while no commit lies between."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from tests.support.api import Api
from tests.support.sql import statements
from tidings.conversations import listing
from tidings.kit.anchors import KeptDays, RunningDays

PAGE = listing.PAGE_SIZE
STATUSES = {"active": {"active"}, "all": None, "open": {"active", "pending"}, "closed": {"closed"}}
# Conversations per day (a day in three has none); within a day some share their instant.
PER_DAY = [9, 0, 1, 30, 0, 13, 2, 0, 26, 4, 0, 7]
CYCLE = ("active", "closed", "pending", "active", "closed")
START = datetime(2021, 3, 1, tzinfo=UTC)

_emails = itertools.count()


def _created(api: Api, mailbox: int, at: datetime, status: str) -> int:
    """A conversation imported as created at `at`."""
    email = f"day{next(_emails)}@example.com"
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    thread = {"type": "customer", "text": "Imported", "createdAt": stamp, "customer": {"email": email}}
    return api.conversation(
        mailbox, imported=True, createdAt=stamp, status=status, customer={"email": email}, threads=[thread]
    )


@pytest.fixture
def created(api: Api) -> list[tuple[datetime, int, str]]:
    """(creation instant, id, status) of every conversation, in creation order."""
    mailbox = api.mailbox()
    made = []
    statuses = itertools.cycle(CYCLE)
    for day, count in enumerate(PER_DAY):
        for n in range(count):
            at = START + timedelta(days=day, seconds=3600 * (n // 3))  # threes share an instant
            status = next(statuses)
            made.append((at, _created(api, mailbox, at, status), status))
    return made


def _expected(made: list[tuple[datetime, int, str]], allowed: set[str] | None, order: str) -> list[int]:
    kept = [(at, cid) for at, cid, status in made if allowed is None or status in allowed]
    return [cid for _, cid in sorted(kept, reverse=order == "desc")]


@pytest.mark.parametrize("kept", [True, False])
@pytest.mark.parametrize("order", ["desc", "asc"])
def test_every_page_begun_at_its_day_is_the_offsets_page(  # type: ignore[no-untyped-def]
    api: Api, app, created: list, order: str, kept: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the days kept (the default), the first deep page of each list reads them and the
    pages after it find their day among them; without (no anchors), each page reads them."""
    monkeypatch.setattr(listing, "DAY_PAGES_FROM", {"sqlite": 1, "postgresql": 1})
    if not kept:
        monkeypatch.setattr(app.state, "anchors", None)
    with statements(app) as seen:
        for status, allowed in STATUSES.items():
            expected = _expected(created, allowed, order)
            pages = (len(expected) + PAGE - 1) // PAGE
            read_days = []
            for page in range(1, pages + 2):
                seen.clear()
                params = {"status": status, "sortOrder": order, "page": page}
                body = api.get("/v2/conversations", params=params).json()
                ids = [c["id"] for c in body["_embedded"]["conversations"]]
                assert ids == expected[(page - 1) * PAGE : page * PAGE], params
                assert body["page"]["totalElements"] == len(expected), params
                if 1 < page <= pages:
                    read_days.append(any("conversation_day_counts" in s for s in seen))
            assert read_days == [True] + [not kept] * (pages - 2), (status, read_days)


def test_a_commit_between_pages_has_the_days_read_again(  # type: ignore[no-untyped-def]
    api: Api, app, created: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Days kept under one data stamp are not used under another: a conversation created after
    them, newest of all, moves every later page by one row."""
    monkeypatch.setattr(listing, "DAY_PAGES_FROM", {"sqlite": 1, "postgresql": 1})
    expected = _expected(created, None, "desc")

    def third_page() -> tuple[list[int], bool]:
        with statements(app) as seen:
            body = api.get("/v2/conversations", params={"status": "all", "page": 3}).json()
        return [c["id"] for c in body["_embedded"]["conversations"]], any(
            "conversation_day_counts" in s for s in seen
        )

    api.get("/v2/conversations", params={"status": "all", "page": 2})
    assert third_page() == (expected[2 * PAGE : 3 * PAGE], False)
    newest = _created(api, api.mailbox(), START + timedelta(days=len(PER_DAY)), "active")
    assert third_page() == ([newest, *expected][2 * PAGE : 3 * PAGE], True)


def test_early_pages_and_other_lists_read_no_days(  # type: ignore[no-untyped-def]
    api: Api, app, created: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Below `DAY_PAGES_FROM`, and for lists the day counts do not describe (another sort, a
    mailbox, a caller who sees some mailboxes only), the page is read by OFFSET."""
    mailbox = api.get("/v2/conversations", params={"status": "all"}).json()
    mailbox_id = mailbox["_embedded"]["conversations"][0]["mailboxId"]
    monkeypatch.setattr(listing, "DAY_PAGES_FROM", {"sqlite": 2 * PAGE, "postgresql": 2 * PAGE})
    everyone = _expected(created, None, "desc")
    with statements(app) as seen:
        for params in (
            {"status": "all", "page": 2},
            {"status": "all", "page": 3, "sortField": "number"},
            {"status": "all", "page": 3, "mailbox": mailbox_id},
        ):
            seen.clear()
            body = api.get("/v2/conversations", params=params).json()
            assert body["_embedded"]["conversations"], params
            assert not any("conversation_day_counts" in s for s in seen), params
        seen.clear()
        third = api.get("/v2/conversations", params={"status": "all", "page": 3}).json()
        assert [c["id"] for c in third["_embedded"]["conversations"]] == everyone[2 * PAGE : 3 * PAGE]
        assert any("conversation_day_counts" in s for s in seen)
        agent = api.as_user(api.user("user", [mailbox_id]))
        seen.clear()
        mine = agent.get("/v2/conversations", params={"status": "all", "page": 3}).json()
        assert [c["id"] for c in mine["_embedded"]["conversations"]] == everyone[2 * PAGE : 3 * PAGE]
        assert not any("conversation_day_counts" in s for s in seen)


@pytest.mark.parametrize("order", ["desc", "asc"])
def test_a_page_that_begins_on_day_0_is_read_by_offset(  # type: ignore[no-untyped-def]
    api: Api, app, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Day 0 spans 31 December 1969 and 1 January 1970 (days divide toward zero): pages whose
    first row falls there or before are read by OFFSET, and every page is still right."""
    mailbox = api.mailbox()
    made = []
    instants = [datetime(1969, 12, 30, 12, tzinfo=UTC), datetime(1969, 12, 31, 23, tzinfo=UTC)]
    instants += [datetime(1970, 1, 1, 1, tzinfo=UTC), datetime(1970, 1, 3, tzinfo=UTC)]
    for n in range(60):
        at = instants[n % 4] + timedelta(seconds=n)
        made.append((at, _created(api, mailbox, at, "active"), "active"))
    monkeypatch.setattr(listing, "DAY_PAGES_FROM", {"sqlite": 1, "postgresql": 1})
    expected = _expected(made, None, order)
    for page in (1, 2, 3):
        body = api.get("/v2/conversations", params={"status": "all", "sortOrder": order, "page": page}).json()
        assert [c["id"] for c in body["_embedded"]["conversations"]] == expected[
            (page - 1) * PAGE : page * PAGE
        ]


class TestRunningDays:
    """The kept days' arithmetic (kit/anchors.RunningDays, KeptDays)."""

    def test_locate_names_the_day_and_the_rows_before_it(self) -> None:
        running = RunningDays(days=(30, 29, 27), through=(3, 3, 8), complete=True)
        found = [running.locate(offset) for offset in (0, 2, 3, 7, 8)]
        assert found == [(30, 0), (30, 0), (27, 3), (27, 3), None]
        assert [running.past_the_end(offset) for offset in (7, 8, 9)] == [False, True, True]

    def test_days_read_part_way_reach_only_as_far(self) -> None:
        running = RunningDays(days=(30, 29), through=(3, 5), complete=False)
        assert [running.reaches(offset) for offset in (4, 5, 50)] == [True, False, False]
        assert RunningDays((), (), complete=True).reaches(0)

    def test_kept_by_list_the_least_recently_used_forgotten(self) -> None:
        kept = KeptDays(max_lists=2)
        days = RunningDays((1,), (1,), complete=True)
        for key in ("a", "b"):
            kept.put(key, 1, days)
        kept.get("a")
        kept.put("c", 2, days)
        assert [kept.get(key) is not None for key in ("a", "b", "c")] == [True, False, True]
        assert kept.get("c") == (2, days)
