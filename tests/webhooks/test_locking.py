"""Writers of webhook deliveries lock them in one order (PostgreSQL): deleting a webhook while a
sender records its posts waits for the sender instead of deadlocking (the deletion had answered
500 with `deadlock detected` in two CI runs: first for the deliveries' order, then for the
webhook's row, which the route locked before the deliveries)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import Connection, event, func, insert, select

from tidings.db.tables import webhook_deliveries, webhooks
from tidings.kit import timefmt
from tidings.kit.db import create_db_engine
from tidings.webhooks import repository
from tidings.webhooks.repository import Claimed
from tidings.webhooks.sender import Outcome, record


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
def test_deleting_a_webhook_while_its_posts_are_recorded_waits_for_them(db_url: str) -> None:
    engine = create_db_engine(db_url)
    now = timefmt.now()
    with engine.begin() as conn:
        hook = conn.execute(
            insert(webhooks)
            .values(
                url="http://receiver.example/hook",
                secret="s" * 10,
                events='["convo.created"]',
                notification=False,
                payload_version="V2",
                state="enabled",
                dropped_in_a_row=0,
                api_base_url="http://api.example",
                web_base_url="http://web.example",
                created_at=now,
                updated_at=now,
            )
            .returning(webhooks.c.id)
        ).scalar_one()
        delivery = {"webhook_id": hook, "event": "convo.created", "body": "{}", "state": "pending"}
        ids = [
            conn.execute(
                insert(webhook_deliveries)
                .values(**delivery, attempts=0, next_attempt_at=now, created_at=now)
                .returning(webhook_deliveries.c.id)
            ).scalar_one()
            for _ in range(2)
        ]
    posted = [Claimed(i, hook, "convo.created", "{}", 0, "http://receiver.example/hook", "s") for i in ids]
    # Recorded newest first: a deletion without the common order takes the oldest first.
    outcomes = [Outcome(delivery, 200, None) for delivery in reversed(posted)]
    first_change = threading.Event()
    failures: list[BaseException] = []

    def paused(conn: Connection, cursor: object, statement: str, *_: object) -> None:
        if statement.startswith("UPDATE webhook_deliveries") and not first_change.is_set():
            first_change.set()
            time.sleep(0.5)  # the deletion starts meanwhile and waits on a row the sender holds

    def recording() -> None:
        try:
            with engine.connect() as conn:
                event.listen(conn, "after_cursor_execute", paused)
                with conn.begin():
                    record(conn, outcomes, now)
        except BaseException as exc:
            failures.append(exc)

    def deleting() -> None:
        first_change.wait(10)
        try:
            with engine.begin() as conn:
                assert repository.delete_webhook(conn, hook)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=recording), threading.Thread(target=deleting)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert first_change.is_set()
    assert failures == []
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(webhooks)).scalar_one() == 0
        assert conn.execute(select(func.count()).select_from(webhook_deliveries)).scalar_one() == 0
    engine.dispose()
