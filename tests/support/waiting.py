"""Waiting in a test for something another task will do, for a bounded time.

An open `while not ...: await asyncio.sleep(...)` holds its xdist worker, and CI, forever when
the awaited thing never comes (a stamp read that gave up, a request that failed first); a wait
with a deadline lets the test's own assertions say what went wrong.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable


async def waited_for(condition: Callable[[], bool], seconds: float, interval: float = 0.001) -> bool:
    """True once `condition()` holds; False when `seconds` passed without it."""
    deadline = asyncio.get_running_loop().time() + seconds
    while not condition():
        if asyncio.get_running_loop().time() >= deadline:
            return False
        await asyncio.sleep(interval)
    return True
