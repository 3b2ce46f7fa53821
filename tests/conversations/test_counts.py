"""The trigger-kept conversation_counts always equal a COUNT over the conversations, whatever
writes happened, and list totals read from them equal the real number of matches."""

from __future__ import annotations

from sqlalchemy import event, func, select

from tests.support.api import Api
from tidings.db.tables import conversation_counts, conversation_tag_counts, conversation_tags, conversations


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
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        for params in ({}, {"status": "all", "sortField": "subject"}, {"mailbox": mailbox, "status": "open"}):
            statements.clear()
            assert api.get("/v2/conversations", params=params).json()["page"]["totalElements"] == 3
            assert any("conversation_counts" in s for s in statements), params
            assert not any("count(*)" in s.lower() for s in statements), params
        statements.clear()
        assert (
            api.get("/v2/conversations", params={"query": "subject:subject"}).json()["page"]["totalElements"]
            == 3
        )
        assert any("count(*)" in s.lower() for s in statements)
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)


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

    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    event.listen(app.state.db.engine, "before_cursor_execute", record)
    try:
        for params, expected in (
            ({"tag": "red"}, 2),  # ids[2] (moved, still active) and `plain`
            ({"tag": "red", "mailbox": one}, 1),
            ({"tag": "blue", "status": "closed"}, 1),
            ({"tag": "green", "status": "all"}, 1),
            ({"tag": "nothing", "status": "all"}, 0),
        ):
            statements.clear()
            body = api.get("/v2/conversations", params=params).json()
            assert body["page"]["totalElements"] == expected, params
            assert len(body["_embedded"]["conversations"]) == expected, params
            assert any("conversation_tag_counts" in s for s in statements), params
            assert not any("count(*)" in s.lower() for s in statements), params
    finally:
        event.remove(app.state.db.engine, "before_cursor_execute", record)
