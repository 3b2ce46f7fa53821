"""The per-process cache of costly figures: expiry, and one computation for callers that arrive together."""

from __future__ import annotations

import threading
import time

import pytest

from tidings.kit.cache import TtlCache


def test_callers_arriving_together_share_one_computation() -> None:
    cache = TtlCache[str, int](max_entries=4, seconds=60)
    calls: list[int] = []
    started = threading.Event()

    def slow_count() -> int:
        calls.append(1)
        started.set()
        time.sleep(0.2)
        return 42

    results: list[int] = []

    def ask() -> None:
        results.append(cache.get_or_compute("the", slow_count))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    threads[0].start()
    assert started.wait(5)
    for thread in threads[1:]:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert results == [42] * 8
    assert len(calls) == 1


def test_different_keys_do_not_wait_for_each_other() -> None:
    cache = TtlCache[str, int](max_entries=4, seconds=60)
    release = threading.Event()

    def blocked() -> int:
        release.wait(5)
        return 1

    holder = threading.Thread(target=cache.get_or_compute, args=("slow", blocked))
    holder.start()
    try:
        began = time.monotonic()
        assert cache.get_or_compute("other", lambda: 2) == 2
        assert time.monotonic() - began < 1
    finally:
        release.set()
        holder.join(5)
    assert cache.get("slow") == 1


def test_a_failed_computation_is_not_kept_and_the_next_caller_retries() -> None:
    cache = TtlCache[str, int](max_entries=4, seconds=60)

    def fails() -> int:
        raise RuntimeError("database went away")

    with pytest.raises(RuntimeError):
        cache.get_or_compute("k", fails)
    assert cache.get_or_compute("k", lambda: 7) == 7


def test_entries_expire_and_are_computed_again() -> None:
    cache = TtlCache[str, int](max_entries=4, seconds=0.05)
    assert cache.get_or_compute("k", lambda: 1) == 1
    assert cache.get_or_compute("k", lambda: 2) == 1
    time.sleep(0.1)
    assert cache.get_or_compute("k", lambda: 3) == 3


def test_the_least_recently_used_entry_is_dropped_beyond_the_limit() -> None:
    cache = TtlCache[str, int](max_entries=2, seconds=60)
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.get("a") == 1
    cache.put("c", 3)
    assert cache.get("b") is None
    assert (cache.get("a"), cache.get("c")) == (1, 3)
