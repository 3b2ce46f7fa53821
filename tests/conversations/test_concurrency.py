"""Conversation numbers stay unique and increasing under concurrent creates."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from tests.support.api import Api
from tidings.db.tables import conversations


def test_parallel_creates_get_unique_increasing_numbers(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    mailbox = api.mailbox()
    with ThreadPoolExecutor(max_workers=8) as pool:
        ids = list(pool.map(lambda _: api.conversation(mailbox), range(40)))
    assert len(set(ids)) == 40
    with app.state.db.engine.connect() as conn:
        rows = conn.execute(
            select(conversations.c.id, conversations.c.number).order_by(conversations.c.id)
        ).all()
    numbers = [r.number for r in rows]
    assert len(set(numbers)) == 40
    assert sorted(numbers) == list(range(1, 41))
    assert numbers == sorted(numbers), "numbers increase with creation order"
