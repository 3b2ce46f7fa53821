"""Identical reports asked for at once share one computation, never one older than the request.

The first report's computation is held (after it has read the database) while a conversation is
written and more requests arrive: they must not take the held answer, which misses the write,
but share the next computation, which sees it. A caller who sees other mailboxes asks for
another report, even with the same URL.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.reports.history import JAN, REPORTS, conversation, january_history, report
from tests.support.api import Api
from tests.support.waiting import waited_for


class FirstHeld:
    """In place of `db.read_report`: the first computation, once it has read the database,
    waits for `release` before it answers."""

    def __init__(self, compute: Any) -> None:
        self.compute = compute
        self.computed, self.release = asyncio.Event(), asyncio.Event()
        self.held = 0

    async def __call__(self, fn: Any, *args: Any) -> Any:
        answer = await self.compute(fn, *args)
        self.held += 1
        if self.held == 1:
            self.computed.set()
            await self.release.wait()
        return answer


@pytest.mark.usefixtures("patient_loop_reads", "answers_computed")
def test_reports_asked_during_a_computation_share_the_next_one_and_see_earlier_writes(
    api: Api, app: FastAPI
) -> None:
    h = january_history(api)
    other_mailbox = api.mailbox()
    outsider = api.as_user(api.user("user", [other_mailbox]))
    assert report(api, **JAN)["current"]["totalConversations"] == 5
    db, flights = app.state.db, app.state.report_flights
    compute = db.read_report

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
        db.read_report = first_held = FirstHeld(compute)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def get(who: Api) -> dict[str, Any]:
                response = await client.get(REPORTS, params=JAN, headers=who.headers)
                assert response.status_code == 200, response.text
                return dict(response.json())

            first = asyncio.create_task(get(api))
            assert await waited_for(first_held.computed.is_set, 30), "the first report was never computed"
            calls = flights.calls
            late = "2015-01-20T10:00:00Z"
            await asyncio.to_thread(conversation, api, h.mailbox, late, email="late@example.com")
            later = [asyncio.create_task(get(api)) for _ in range(4)]
            others = asyncio.create_task(get(outsider))
            # Up to 5 s for the five to arrive; then the asserts below say why they did not.
            await waited_for(lambda: flights.calls == calls + 5, 5, interval=0.005)
            first_held.release.set()
            return await first, [await task for task in later], await others

    try:
        first, later, others = asyncio.run(scenario())
    finally:
        db.read_report = compute
    assert first["current"]["totalConversations"] == 5
    assert [body["current"]["totalConversations"] for body in later] == [6, 6, 6, 6]
    assert all(body == later[0] for body in later)
    assert later[0] == report(api, **JAN), "the shared answer is the report itself"
    assert others["current"]["totalConversations"] == 0
    # The report before, the held one, the four together, the outsider's, the check just above.
    assert flights.computations == 5


@pytest.mark.usefixtures("patient_loop_reads", "answers_computed")
def test_reports_asked_during_a_computation_with_nothing_written_since_share_it(
    api: Api, app: FastAPI
) -> None:
    """Without a commit since the held computation began, the data stamp read for each later
    request is the one read before it: they take its answer, and no other computation starts."""
    january_history(api)
    db, flights = app.state.db, app.state.report_flights
    compute = db.read_report

    async def scenario() -> tuple[dict[str, Any], list[dict[str, Any]], int, int]:
        db.read_report = first_held = FirstHeld(compute)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:

            async def get() -> dict[str, Any]:
                response = await client.get(REPORTS, params=JAN, headers=api.headers)
                assert response.status_code == 200, response.text
                return dict(response.json())

            computations, joined = flights.computations, flights.joined
            first = asyncio.create_task(get())
            assert await waited_for(first_held.computed.is_set, 30), "the first report was never computed"
            later = [asyncio.create_task(get()) for _ in range(4)]
            # Up to 5 s for the four to arrive; then the asserts below say why they did not.
            await waited_for(lambda: flights.joined == joined + 4, 5, interval=0.005)
            first_held.release.set()
            return (
                await first,
                [await task for task in later],
                flights.computations - computations,
                first_held.held,
            )

    try:
        first, later, started, held = asyncio.run(scenario())
    finally:
        db.read_report = compute
    assert first["current"]["totalConversations"] == 5
    assert all(body == first for body in later)
    assert (started, held) == (1, 1), "one computation answered all five"
    assert first == report(api, **JAN)
