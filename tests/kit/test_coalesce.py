"""The coalescer shares a computation only with calls that arrived before it started."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from tidings.kit.coalesce import Coalescer


class Database:
    """A value that changes, and computations that read it when they start, then wait."""

    def __init__(self) -> None:
        self.value = 0
        self.started: list[int] = []
        self.release = asyncio.Event()

    def reader(self) -> Callable[[], Awaitable[int]]:
        async def compute() -> int:
            snapshot = self.value
            self.started.append(snapshot)
            await self.release.wait()
            return snapshot

        return compute


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_a_lone_call_computes_its_answer() -> None:
    async def scenario() -> tuple[int, int]:
        flights = Coalescer()

        async def compute() -> int:
            return 42

        return await flights.run("k", compute), flights.computations

    assert asyncio.run(scenario()) == (42, 1)


def test_calls_made_during_a_computation_share_the_next_one_and_see_earlier_writes() -> None:
    async def scenario() -> tuple[list[int], list[int], int]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        db.value = 1  # a write committed after the first computation took its snapshot
        later = [asyncio.create_task(flights.run("k", db.reader())) for _ in range(3)]
        await _settle()
        assert db.started == [0], "nobody joins or starts while the first computation runs"
        db.release.set()
        answers = [await first] + [await task for task in later]
        return answers, db.started, flights.computations

    answers, started, computations = asyncio.run(scenario())
    assert answers == [0, 1, 1, 1]
    assert started == [0, 1]
    assert computations == 2


def test_a_call_during_the_second_computation_waits_for_a_third() -> None:
    async def scenario() -> list[int]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        second = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        db.release.set()
        assert await first == 0
        db.release.clear()
        await _settle()
        assert db.started == [0, 0], "the second computation is running"
        db.value = 7
        third = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        db.release.set()
        return [await second, await third, *db.started]

    assert asyncio.run(scenario()) == [0, 7, 0, 0, 7]


def test_different_keys_never_wait_for_each_other() -> None:
    async def scenario() -> list[int]:
        db, flights = Database(), Coalescer()
        tasks = [asyncio.create_task(flights.run(key, db.reader())) for key in ("a", "b", "c")]
        await _settle()
        started = list(db.started)
        db.release.set()
        await asyncio.gather(*tasks)
        return started

    assert asyncio.run(scenario()) == [0, 0, 0]


def test_an_error_reaches_every_caller_of_its_computation_and_is_not_kept() -> None:
    async def scenario() -> tuple[list[Any], int]:
        flights = Coalescer()
        release = asyncio.Event()
        calls = 0

        async def failing() -> int:
            nonlocal calls
            calls += 1
            await release.wait()
            raise ValueError(f"failure {calls}")

        first = asyncio.create_task(flights.run("k", failing))
        await _settle()
        joined = [asyncio.create_task(flights.run("k", failing)) for _ in range(2)]
        await _settle()
        release.set()
        outcomes = await asyncio.gather(first, *joined, return_exceptions=True)

        async def succeeding() -> int:
            return 5

        outcomes.append(await flights.run("k", succeeding))
        return [str(o) for o in outcomes], flights.computations

    outcomes, computations = asyncio.run(scenario())
    assert outcomes == ["failure 1", "failure 2", "failure 2", "5"]
    assert computations == 3


def test_a_caller_that_goes_away_cancels_nobody_elses_answer() -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        db.value = 3
        leaving = asyncio.create_task(flights.run("k", db.reader()))
        staying = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        first.cancel()
        leaving.cancel()
        await _settle()
        db.release.set()
        with pytest.raises(asyncio.CancelledError):
            await first
        return [await staying], db.started

    answers, started = asyncio.run(scenario())
    assert answers == [3]
    assert started == [0, 3], "the cancelled first caller's computation still ran to its end"


def test_a_call_whose_stamp_is_the_running_computations_shares_it() -> None:
    """The stamp read after a call arrived equals the one read before the computation began:
    nothing was committed between, so the computation under way answers it too."""

    async def scenario() -> tuple[list[int], list[int], int, int]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader(), stamp=1))
        await _settle()
        same = [asyncio.create_task(flights.run("k", db.reader(), stamp=1)) for _ in range(3)]
        await _settle()
        assert db.started == [0], "the calls with the same stamp started nothing"
        db.release.set()
        answers = [await first] + [await task for task in same]
        return answers, db.started, flights.computations, flights.joined

    answers, started, computations, joined = asyncio.run(scenario())
    assert answers == [0, 0, 0, 0]
    assert started == [0]
    assert (computations, joined) == (1, 3)


def test_a_call_with_another_stamp_or_none_waits_for_the_next_computation() -> None:
    async def scenario() -> tuple[list[int], list[int], int, int]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader(), stamp=1))
        await _settle()
        db.value = 2  # committed after the first computation took its snapshot: the stamp moved
        moved = asyncio.create_task(flights.run("k", db.reader(), stamp=2))
        unknown = asyncio.create_task(flights.run("k", db.reader(), stamp=None))
        await _settle()
        db.release.set()
        answers = [await first, await moved, await unknown]
        return answers, db.started, flights.computations, flights.joined

    answers, started, computations, joined = asyncio.run(scenario())
    assert answers == [0, 2, 2]
    assert started == [0, 2]
    assert (computations, joined) == (2, 0)


def test_a_computation_without_a_stamp_is_never_joined() -> None:
    async def scenario() -> tuple[list[int], int]:
        db, flights = Database(), Coalescer()
        first = asyncio.create_task(flights.run("k", db.reader()))
        await _settle()
        later = asyncio.create_task(flights.run("k", db.reader(), stamp=None))
        await _settle()
        db.release.set()
        return [await first, await later], flights.computations

    assert asyncio.run(scenario()) == ([0, 0], 2)
