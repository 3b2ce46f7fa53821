"""Identical costly reads asked for at once share one computation, never a stale one.

A report reads tens of thousands of rows (~150-250 ms at a million conversations). When many
clients ask for the same one together (a wallboard on every agent's screen, a dashboard polled
by several integrations), each request used to pay for the whole computation while the others
waited for the cores: sixteen at once took 2.6-3.8 s at the 99th percentile.

Sharing a computation that is already running would answer from a snapshot taken before the
request arrived, and a client that has just written (and had its answer) could read a report
without its change. So a request joins the next computation, which starts when the running one
ends and takes its snapshot after every request waiting for it arrived; a request that finds
nothing running starts at once. The one exception proves that nothing changed: the data stamp
(`kit.reuse.DataStamp`, which every commit moves and nothing moves back) read after the request
arrived is the one read before the running computation began, so no commit came between and
that computation's snapshot is one the request could have read itself. Each answer therefore
reflects the database at some moment between its request's arrival and its response, exactly
as an unshared read does. Requests for different things never wait for each other.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

T = TypeVar("T")


@dataclass
class _Flight(Generic[T]):
    """One computation and the requests that will share its answer."""

    compute: Callable[[], Awaitable[T]]
    done: asyncio.Future[T]
    # The data stamp read before the computation began (None: not known, nobody joins it).
    stamp: Hashable | None = None
    task: asyncio.Task[None] | None = field(default=None, repr=False)


class Coalescer:
    """Per key, at most one computation running and one waiting to start, in one event loop.

    Callers with the same key must ask for the same thing: the key holds everything the answer
    depends on (who asks, what they may see, every parameter)."""

    def __init__(self) -> None:
        self._running: dict[Hashable, _Flight[Any]] = {}
        self._waiting: dict[Hashable, _Flight[Any]] = {}
        # How many calls were made, how many computations they started and how many joined
        # one under way: for tests and diagnostics.
        self.calls = 0
        self.computations = 0
        self.joined = 0

    async def run(
        self, key: Hashable, compute: Callable[[], Awaitable[T]], stamp: Hashable | None = None
    ) -> T:
        """`compute()`'s answer from a computation started after this call, shared with the
        identical calls waiting for the same one; or from the one under way, when `stamp` (the
        data stamp, read after this call's request arrived) is the one read before it began."""
        self.calls += 1
        running: _Flight[T] | None = self._running.get(key)
        if running is not None and stamp is not None and running.stamp == stamp:
            self.joined += 1
            return await asyncio.shield(running.done)
        flight: _Flight[T] | None = self._waiting.get(key)
        if flight is None:
            flight = _Flight(compute, asyncio.get_running_loop().create_future(), stamp)
            if key in self._running:
                self._waiting[key] = flight
            else:
                self._start(key, flight)
        # A caller that goes away (a closed connection) does not cancel the others' answer.
        return await asyncio.shield(flight.done)

    def _start(self, key: Hashable, flight: _Flight[T]) -> None:
        self._running[key] = flight
        self.computations += 1
        flight.task = asyncio.get_running_loop().create_task(self._fly(key, flight))

    async def _fly(self, key: Hashable, flight: _Flight[T]) -> None:
        try:
            flight.done.set_result(await flight.compute())
        except asyncio.CancelledError:
            flight.done.cancel()
            raise
        except Exception as exc:  # every waiting caller gets the same error
            flight.done.set_exception(exc)
            flight.done.exception()  # retrieved: no warning when every caller has gone
        finally:
            del self._running[key]
            following = self._waiting.pop(key, None)
            if following is not None:
                self._start(key, following)
