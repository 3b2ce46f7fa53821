"""Concurrent transactions creating the same new customer or tag: both succeed, one row."""

from __future__ import annotations

import threading

from sqlalchemy import func, select

from tests.support.api import Api
from tidings.db.tables import customer_emails, tags


def test_same_new_customer_and_tag_from_parallel_creates(api: Api, app) -> None:  # type: ignore[no-untyped-def]
    mailbox = api.mailbox()
    barrier = threading.Barrier(6)
    results: list[int] = []

    def create() -> None:
        barrier.wait()
        response = api.post(
            "/v2/conversations",
            {
                "subject": "race",
                "type": "email",
                "mailboxId": mailbox,
                "status": "active",
                "customer": {"email": "racer@example.com"},
                "tags": ["photo-finish"],
                "threads": [{"type": "customer", "text": "go", "customer": {"email": "racer@example.com"}}],
            },
        )
        results.append(response.status_code)

    workers = [threading.Thread(target=create) for _ in range(6)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert results == [201] * 6
    with app.state.db.engine.connect() as conn:
        assert (
            conn.execute(
                select(func.count()).where(customer_emails.c.value == "racer@example.com")
            ).scalar_one()
            == 1
        )
        assert conn.execute(select(func.count()).where(tags.c.name == "photo-finish")).scalar_one() == 1
    listed = api.get("/v2/conversations", params={"tag": "photo-finish"}).json()
    assert listed["page"]["totalElements"] == 6
    assert len({c["primaryCustomer"]["id"] for c in listed["_embedded"]["conversations"]}) == 1
