"""The trigger-kept conversation_counts always equal a COUNT over the conversations, whatever
writes happened, and list totals read from them equal the real number of matches."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from sqlalchemy import Table, func, select, update

from tests.support.api import Api
from tests.support.sql import counting, statements
from tidings.db.tables import (
    conversation_assignee_counts,
    conversation_counts,
    conversation_day_counts,
    conversation_folder_counts,
    conversation_tag_counts,
    conversation_tags,
    conversations,
)


def _real_and_kept(app) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    with app.state.db.engine.connect() as conn:
        real = {
            (r.mailbox_id, r.state, r.status): r.n
            for r in conn.execute(
                select(
                    conversations.c.mailbox_id,
                    conversations.c.state,
                    conversations.c.status,
                    func.count().label("n"),
                ).group_by(conversations.c.mailbox_id, conversations.c.state, conversations.c.status)
            )
        }
        kept = {
            (r.mailbox_id, r.state, r.status): r.n for r in conn.execute(select(conversation_counts)) if r.n
        }
    return real, kept


def test_counts_follow_every_kind_of_write(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    one, two = api.mailbox(), api.mailbox()
    ids = [api.conversation(one) for _ in range(4)] + [api.conversation(two, status="pending")]
    draft = api.conversation(one, threads=[{"type": "reply", "draft": True, "text": "d"}])
    api.patch(f"/v2/conversations/{ids[0]}", {"op": "replace", "path": "/status", "value": "closed"})
    api.patch(f"/v2/conversations/{ids[1]}", {"op": "move", "path": "/mailboxId", "value": two})
    api.patch(f"/v2/conversations/{ids[2]}", {"op": "replace", "path": "/status", "value": "spam"})
    api.delete(f"/v2/conversations/{ids[3]}")
    api.patch(f"/v2/conversations/{draft}", {"op": "replace", "path": "/draft", "value": False})
    closed = ids[0]
    api.post(
        f"/v2/conversations/{closed}/customer", {"text": "reopen", "customer": {"email": "x@example.com"}}
    )
    real, kept = _real_and_kept(app)
    assert kept == real
    assert real[(one, "published", "active")] == 2  # the published draft and the re-opened one

    for params, expected in (
        ({}, 3),  # the re-opened one, the published draft, and the one moved to `two`
        ({"status": "all"}, 5),
        ({"status": "open"}, 4),
        ({"mailbox": two, "status": "all"}, 2),
        ({"mailbox": f"{one},{two}", "status": "spam"}, 1),
    ):
        body = api.get("/v2/conversations", params=params).json()
        assert body["page"]["totalElements"] == expected, params
        assert len(body["_embedded"]["conversations"]) == expected, params
    agent = api.as_user(api.user("user", [two]))
    assert agent.get("/v2/conversations", params={"status": "all"}).json()["page"]["totalElements"] == 2


def test_simple_lists_read_totals_without_counting(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    mailbox = api.mailbox()
    for _ in range(3):
        api.conversation(mailbox)
    with statements(app) as seen:
        for params in ({}, {"status": "all", "sortField": "subject"}, {"mailbox": mailbox, "status": "open"}):
            seen.clear()
            assert api.get("/v2/conversations", params=params).json()["page"]["totalElements"] == 3
            assert any("conversation_counts" in s for s in seen), params
            assert not any("count(*)" in s.lower() for s in counting(seen)), params
        seen.clear()
        assert (
            api.get("/v2/conversations", params={"query": "subject:subject"}).json()["page"]["totalElements"]
            == 3
        )
        assert any("count(*)" in s.lower() for s in counting(seen))


def _real_and_kept_per_tag(app) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    c = conversations.c
    with app.state.db.engine.connect() as conn:
        real = {
            (r.tag_id, r.mailbox_id, r.state, r.status): r.n
            for r in conn.execute(
                select(conversation_tags.c.tag_id, c.mailbox_id, c.state, c.status, func.count().label("n"))
                .join(conversations, c.id == conversation_tags.c.conversation_id)
                .group_by(conversation_tags.c.tag_id, c.mailbox_id, c.state, c.status)
            )
        }
        kept = {
            (r.tag_id, r.mailbox_id, r.state, r.status): r.n
            for r in conn.execute(select(conversation_tag_counts))
            if r.n
        }
    return real, kept


def test_tag_counts_follow_every_kind_of_write(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    one, two = api.mailbox(), api.mailbox()
    ids = [api.conversation(one, tags=["red", "blue"]) for _ in range(3)] + [
        api.conversation(two, tags=["red"])
    ]
    api.put(f"/v2/conversations/{ids[0]}/tags", {"tags": ["green"]})
    api.patch(f"/v2/conversations/{ids[1]}", {"op": "replace", "path": "/status", "value": "closed"})
    api.patch(f"/v2/conversations/{ids[2]}", {"op": "move", "path": "/mailboxId", "value": two})
    api.delete(f"/v2/conversations/{ids[3]}")
    plain = api.conversation(one)
    api.put(f"/v2/conversations/{plain}/tags", {"tags": ["Red"]})
    real, kept = _real_and_kept_per_tag(app)
    assert kept == real
    assert len(real) >= 5

    with statements(app) as seen:
        for params, expected in (
            ({"tag": "red"}, 2),  # ids[2] (moved, still active) and `plain`
            ({"tag": "red", "mailbox": one}, 1),
            ({"tag": "blue", "status": "closed"}, 1),
            ({"tag": "green", "status": "all"}, 1),
            ({"tag": "nothing", "status": "all"}, 0),
        ):
            seen.clear()
            body = api.get("/v2/conversations", params=params).json()
            assert body["page"]["totalElements"] == expected, params
            assert len(body["_embedded"]["conversations"]) == expected, params
            assert any("conversation_tag_counts" in s for s in seen), params
            assert not any("count(*)" in s.lower() for s in counting(seen)), params


def _real_and_kept_by(app, by: str, kept_table: Table) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """COUNT per (`by`, mailbox, state, status) over the conversations, and the kept counts."""
    c = conversations.c
    key = (c[by], c.mailbox_id, c.state, c.status)
    counted = select(*key, func.count().label("n")).where(c[by].is_not(None)).group_by(*key)
    with app.state.db.engine.connect() as conn:
        real = {tuple(r[:4]): r.n for r in conn.execute(counted)}
        kept = {tuple(r[:4]): r.n for r in conn.execute(select(kept_table)) if r.n}
    return real, kept


def test_assignee_counts_follow_every_kind_of_write(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    one, two = api.mailbox(), api.mailbox()
    ann, bob = api.user("user", [one, two]), api.user("user", [one, two])
    ids = [api.conversation(one, assignTo=ann) for _ in range(4)] + [api.conversation(two, assignTo=bob)]
    unassigned = api.conversation(one)
    api.patch(f"/v2/conversations/{ids[0]}", {"op": "replace", "path": "/assignTo", "value": bob})
    api.patch(f"/v2/conversations/{ids[1]}", {"op": "remove", "path": "/assignTo"})
    api.patch(f"/v2/conversations/{ids[2]}", {"op": "replace", "path": "/status", "value": "pending"})
    api.patch(f"/v2/conversations/{ids[3]}", {"op": "move", "path": "/mailboxId", "value": two})
    api.delete(f"/v2/conversations/{ids[4]}")
    api.patch(f"/v2/conversations/{unassigned}", {"op": "replace", "path": "/assignTo", "value": ann})
    real, kept = _real_and_kept_by(app, "assignee_id", conversation_assignee_counts)
    assert kept == real
    assert real == {
        (bob, one, "published", "active"): 1,
        (ann, one, "published", "pending"): 1,
        (ann, two, "published", "active"): 1,
        (ann, one, "published", "active"): 1,
        (bob, two, "deleted", "active"): 1,  # deleting keeps the row, in another state
    }

    with statements(app) as seen:
        for params, expected in (
            ({"assigned_to": ann}, [unassigned, ids[3]]),
            ({"assigned_to": ann, "status": "all"}, [unassigned, ids[3], ids[2]]),
            ({"assigned_to": ann, "status": "open", "mailbox": one}, [unassigned, ids[2]]),
            ({"assigned_to": bob, "sortField": "number", "sortOrder": "asc"}, [ids[0]]),
            ({"assigned_to": bob, "status": "closed"}, []),
        ):
            seen.clear()
            body = api.get("/v2/conversations", params=params).json()
            assert body["page"]["totalElements"] == len(expected), params
            assert [c["id"] for c in body["_embedded"]["conversations"]] == expected, params
            assert any("conversation_assignee_counts" in s for s in seen), params
            assert not any("count(*)" in s.lower() for s in counting(seen)), params


def _folder(api: Api, mailbox: int, kind: str) -> int:
    found = api.get(f"/v2/mailboxes/{mailbox}/folders").json()["_embedded"]["folders"]
    return int(next(f["id"] for f in found if f["type"] == kind))


def test_folder_counts_follow_every_kind_of_write(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    one, two = api.mailbox(), api.mailbox()
    agent = api.user("user", [one, two])
    ids = [api.conversation(one) for _ in range(5)]
    draft = api.conversation(one, threads=[{"type": "reply", "draft": True, "text": "d"}])
    api.patch(f"/v2/conversations/{ids[0]}", {"op": "replace", "path": "/status", "value": "closed"})
    api.patch(f"/v2/conversations/{ids[1]}", {"op": "replace", "path": "/assignTo", "value": agent})
    api.patch(f"/v2/conversations/{ids[2]}", {"op": "move", "path": "/mailboxId", "value": two})
    api.patch(f"/v2/conversations/{ids[3]}", {"op": "replace", "path": "/status", "value": "pending"})
    api.delete(f"/v2/conversations/{ids[4]}")
    real, kept = _real_and_kept_by(app, "folder_id", conversation_folder_counts)
    assert kept == real
    assert len(real) >= 6

    with statements(app) as seen:
        for (mailbox, kind), params, expected, total in (
            ((one, "closed"), {}, [ids[0]], 1),
            ((one, "assigned"), {}, [ids[1]], 1),
            ((one, "unassigned"), {}, [ids[3]], 1),  # ids[4] was deleted
            ((one, "unassigned"), {"status": "pending"}, [ids[3]], 1),
            ((one, "unassigned"), {"status": "active"}, [], 0),
            ((one, "unassigned"), {"page": 2}, [], 1),  # past the last page: no rows, the total
            ((two, "unassigned"), {"sortField": "subject"}, [ids[2]], 1),
            ((one, "drafts"), {}, [draft], 1),
        ):
            folder = _folder(api, mailbox, kind)
            seen.clear()
            body = api.get("/v2/conversations", params={"folder": folder, **params}).json()
            assert body["page"]["totalElements"] == total, (kind, params)
            assert [c["id"] for c in body["_embedded"]["conversations"]] == expected, (kind, params)
            assert any("conversation_folder_counts" in s for s in seen), (kind, params)
            assert not any("count(*)" in s.lower() for s in counting(seen)), (kind, params)


def _real_and_kept_per_day(app) -> tuple[dict, dict]:  # type: ignore[no-untyped-def]
    """COUNT per (state, status, UTC day of creation) over the conversations, and the kept counts."""
    c = conversations.c
    day = c.created_at / 86400
    counted = select(c.state, c.status, day.label("day"), func.count().label("n")).group_by(
        c.state, c.status, day
    )
    with app.state.db.engine.connect() as conn:
        real = {(r.state, r.status, int(r.day)): r.n for r in conn.execute(counted)}
        kept = {(r.state, r.status, r.day): r.n for r in conn.execute(select(conversation_day_counts)) if r.n}
    return real, kept


def _created(api: Api, mailbox: int, at: str, **overrides: object) -> int:
    """A conversation imported as created at `at`."""
    email = f"c{next(_created_seq)}@example.com"
    thread = {"type": "customer", "text": "Imported", "createdAt": at, "customer": {"email": email}}
    return api.conversation(
        mailbox, imported=True, createdAt=at, customer={"email": email}, threads=[thread], **overrides
    )


_created_seq = itertools.count()


def test_day_counts_follow_every_kind_of_write(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    one, two = api.mailbox(), api.mailbox()
    ids = [_created(api, one, f"2020-01-0{day}T23:59:59Z") for day in (1, 1, 2, 3)]
    ids.append(_created(api, two, "2020-01-02T00:00:00Z", status="pending"))
    draft = api.conversation(one, threads=[{"type": "reply", "draft": True, "text": "d"}])
    api.patch(f"/v2/conversations/{ids[0]}", {"op": "replace", "path": "/status", "value": "closed"})
    api.patch(f"/v2/conversations/{ids[1]}", {"op": "move", "path": "/mailboxId", "value": two})
    api.delete(f"/v2/conversations/{ids[2]}")
    api.patch(f"/v2/conversations/{draft}", {"op": "replace", "path": "/draft", "value": False})
    with app.state.db.engine.begin() as conn:  # no endpoint moves a creation time: the trigger must
        conn.execute(update(conversations).where(conversations.c.id == ids[3]).values(created_at=86_400 * 3))
    real, kept = _real_and_kept_per_day(app)
    assert kept == real
    day = datetime(2020, 1, 1, tzinfo=UTC).timestamp() // 86400
    assert real[("published", "closed", day)] == 1
    assert real[("published", "active", day)] == 1  # the moved one: mailboxes are not counted
    assert real[("published", "active", 3)] == 1
    assert ("published", "active", day + 2) not in real


# (creation time, status) of the conversations the range tests list.
CREATED = [
    ("2020-01-01T00:00:00Z", "active"),
    ("2020-01-01T23:59:59Z", "closed"),
    ("2020-01-02T12:00:00Z", "active"),
    ("2020-01-03T00:00:00Z", "pending"),
    ("2020-01-03T00:00:01Z", "active"),
    ("2020-01-05T06:00:00Z", "active"),
    ("2020-01-09T18:30:00Z", "closed"),
    ("2020-01-09T18:30:01Z", "active"),
    ("2020-02-01T00:00:00Z", "active"),
]


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


# query, the creation times it keeps (low, high, whether each bound is included; None: open),
# and whether its whole days come from the kept counts.
RANGES = [
    (
        "createdAt:[2020-01-01T00:00:00Z TO 2020-01-09T18:30:00Z]",
        ("2020-01-01T00:00:00Z", "2020-01-09T18:30:00Z", True, True),
        True,
    ),
    (
        "createdAt:{2020-01-01T00:00:00Z TO 2020-01-09T18:30:00Z}",
        ("2020-01-01T00:00:00Z", "2020-01-09T18:30:00Z", False, False),
        True,
    ),
    ("createdAt:[2020-01-01T12:00:00Z TO *]", ("2020-01-01T12:00:00Z", None, True, True), True),
    ("(createdAt:[* TO 2020-01-05T06:00:00Z})", (None, "2020-01-05T06:00:00Z", True, False), True),
    (
        "createdAt:[2020-01-02T00:00:01Z TO 2020-01-09T00:00:00Z}",
        ("2020-01-02T00:00:01Z", "2020-01-09T00:00:00Z", True, False),
        True,
    ),
    ("createdAt:2020-01", ("2020-01-01T00:00:00Z", "2020-02-01T00:00:00Z", True, False), True),
    (
        "createdAt:[2020-01-02T00:00:00Z TO 2020-01-03T00:00:00Z]",
        ("2020-01-02T00:00:00Z", "2020-01-03T00:00:00Z", True, True),
        False,
    ),
    ("createdAt:2020-01-03", ("2020-01-03T00:00:00Z", "2020-01-04T00:00:00Z", True, False), False),
]


def _kept_by(bounds: tuple[str | None, str | None, bool, bool], created: str) -> bool:
    low, high, include_low, include_high = bounds
    at = _at(created)
    above = low is None or (at >= _at(low) if include_low else at > _at(low))
    below = high is None or (at <= _at(high) if include_high else at < _at(high))
    return above and below


@pytest.mark.parametrize(("query", "bounds", "by_days"), RANGES, ids=[r[0] for r in RANGES])
def test_created_ranges_are_totalled_from_the_day_counts(  # type: ignore[no-untyped-def]
    api: Api, app, query: str, bounds: tuple, by_days: bool
) -> None:
    one, two = api.mailbox(), api.mailbox()
    for n, (at, status) in enumerate(CREATED):
        _created(api, one if n % 2 else two, at, status=status)
    statuses = {"active": {"active"}, "all": None, "closed": {"closed"}, "open": {"active", "pending"}}
    with statements(app) as seen:
        for status, allowed in statuses.items():
            expected = sorted(
                at for at, kind in CREATED if _kept_by(bounds, at) and (allowed is None or kind in allowed)
            )
            seen.clear()
            body = api.get("/v2/conversations", params={"query": query, "status": status}).json()
            assert body["page"]["totalElements"] == len(expected), (query, status)
            listed = sorted(c["createdAt"] for c in body["_embedded"]["conversations"])
            assert listed == expected, (query, status)
            assert any("conversation_day_counts" in s for s in seen) is by_days, (query, status)
        seen.clear()
        mailbox = api.get("/v2/conversations", params={"query": query, "status": "all", "mailbox": one})
        in_one = [at for n, (at, _) in enumerate(CREATED) if n % 2 and _kept_by(bounds, at)]
        assert mailbox.json()["page"]["totalElements"] == len(in_one), query
        assert not any("conversation_day_counts" in s for s in seen), query


def test_created_ranges_near_1970_leave_out_the_day_before(api: Api) -> None:
    """The databases divide toward zero, so the last day of 1969 shares day 0 with 1 January
    1970: a range bounded at day 0 is not summed from the day counts."""
    mailbox = api.mailbox()
    for at in ("1969-12-31T23:00:00Z", "1970-01-01T01:00:00Z", "1970-01-04T00:00:00Z"):
        _created(api, mailbox, at)
    for query, expected in (
        ("createdAt:[1970-01-01T00:00:00Z TO 1970-01-05T00:00:00Z}", 2),
        ("createdAt:[* TO 1970-01-01T00:00:00Z}", 1),
        ("createdAt:[* TO 1970-01-05T00:00:00Z}", 3),
        ("createdAt:[1969-12-01T00:00:00Z TO 1970-01-02T00:00:00Z}", 2),
    ):
        body = api.get("/v2/conversations", params={"query": query}).json()
        assert body["page"]["totalElements"] == expected, query
