"""Process-level settings for a serving worker."""

from __future__ import annotations

import gc

# Young collections after 10,000 net new container objects instead of 700.
GC_THRESHOLDS = (10_000, 10, 10)


def settle_heap() -> None:
    """Take what start-up loaded out of the garbage collector's way, and collect less often.

    A worker holds about 110,000 long-lived objects after start (FastAPI, Pydantic,
    SQLAlchemy's metadata), and every full collection walked them all: serving list pages at
    1M conversations under 16 connections, the two workers ran 20-27 full collections in 10 s.
    `gc.freeze` moves the objects alive now into a generation the collector never scans (what
    is left is a few thousand), and the higher first threshold makes the collections that a
    request's short-lived rows and dicts trigger rarer. With `TIDINGS_DB_THREADS` at 2 as well,
    measured back to back: p99 121-170 ms -> 29-43 ms (bench/README.md). Only `tidings serve`
    calls it: a test process that builds many apps would freeze each one's leftovers.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
