"""A plain list whose tag, assignee or folder holds few of the conversations its state, mailboxes
and statuses allow: its page is read from those few, sorted, instead of walking the sort's index.

`SimpleList`'s page walks the index of the sort and tests each conversation for the tag,
assignee or folder until the page is full, which reads about (offset + page) x allowed / total
index entries: nothing for a common tag, but at 1M conversations a tag on 975 of them took
20 ms on SQLite and 45-71 ms on PostgreSQL (by subject too: its planner chose the same walk),
and an agent's 258 conversations by customer name 230 ms on SQLite. Listing the matches through the
filter's own index and sorting them reads `total` rows, whatever the page.

Which of the two is cheaper follows from the trigger-kept counts, read by `census` at most once
a minute per list shape and process: they change slowly, and the choice only decides the cost
of a page, never its rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import Connection

from tidings.kit.prepared import Prepared

# How long a process decides a shape's pages by the counts it read for it.
CENSUS_SECONDS = 60.0


def lists_the_matches(total: int, allowed: int, rows_wanted: int) -> bool:
    """Whether listing the `total` matches costs less than walking the sort's index to the page's
    last row (`rows_wanted`), which passes about rows_wanted x allowed / total conversations."""
    return total > 0 and total * total < rows_wanted * allowed


@dataclass(frozen=True)
class SparseStatements:
    """`page`: the matches listed through their filter's index, sorted, windowed as the list's
    page is; `first_page`: PostgreSQL's page 1 of it with every value written in (see
    `_simple_compiled`); `census`: the list's total and what its state, mailboxes and statuses
    allow, from the kept counts."""

    page: Prepared
    census: Prepared
    first_page: Prepared | None = None


class SparseChoice:
    """Per list shape and process, the last census read and when."""

    def __init__(self) -> None:
        self._census: tuple[int, int, float] | None = None

    def lists_the_matches(self, conn: Connection, census: Prepared, rows_wanted: int) -> bool:
        known = self._census
        now = time.monotonic()
        if known is None or now - known[2] > CENSUS_SECONDS:
            total, allowed = census.rows(conn)[0]
            known = self._census = (int(total), int(allowed), now)
        return lists_the_matches(known[0], known[1], rows_wanted)


__all__ = ["CENSUS_SECONDS", "SparseChoice", "SparseStatements", "lists_the_matches"]
