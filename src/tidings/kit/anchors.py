"""Where a list's deep pages begin: the row before them, remembered while the data is unchanged.

`page=N` is an OFFSET, and an OFFSET is read row by row: at 1M conversations page 20,000 of a
plain list cost 18 ms on SQLite and 40 ms on PostgreSQL (1.2 s sorted by subject), so an
integration that syncs every conversation page by page made the server read ~N²/2 index
entries. A page that starts right after a known row (its sort key and id) is an index seek
instead. This module keeps, per list shape, the last row of pages already served ("anchors"),
together with the data stamp (`kit.reuse.DataStamp`) they were read under: an anchor holds
only while no data commit lies between the statement that found it and the one that uses it,
which the caller proves for each use (`conversations.deep_pages`).
"""

from __future__ import annotations

import bisect
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

# Shapes (a list's filters and sort) remembered, the least recently used forgotten first, and
# anchors kept for each (the least recently stored forgotten first: a sync needs only the last).
MAX_SHAPES = 512
MAX_PER_SHAPE = 256


@dataclass(frozen=True)
class Anchor:
    """The row at position `offset - 1` of a list: the rows from `offset` on are those after it."""

    offset: int
    key: Any
    id: int


@dataclass
class _Shape:
    stamp: Hashable
    offsets: list[int] = field(default_factory=list)
    anchors: OrderedDict[int, Anchor] = field(default_factory=OrderedDict)


@dataclass(frozen=True)
class RunningDays:
    """A list's days in its order, with the rows up to each day's end (`through`), as far as they
    were read (`complete`: to the list's end): where a page at any offset begins."""

    days: tuple[int, ...]
    through: tuple[int, ...]
    complete: bool

    def locate(self, offset: int) -> tuple[int, int] | None:
        """The day holding the row at `offset` and the rows of the days before it; None when the
        days read do not reach it (see `past_the_end`)."""
        at = bisect.bisect_right(self.through, offset)
        if at == len(self.through):
            return None
        return self.days[at], self.through[at - 1] if at else 0

    def past_the_end(self, offset: int) -> bool:
        return self.complete and (not self.through or offset >= self.through[-1])

    def reaches(self, offset: int) -> bool:
        """Whether the days read place the row at `offset` (or say the list ends before it)."""
        return self.locate(offset) is not None or self.past_the_end(offset)


class KeptDays:
    """Running day totals by list (its state, statuses and order), each with the data stamp it
    was read under: the least recently used forgotten first."""

    def __init__(self, max_lists: int = MAX_SHAPES) -> None:
        self.max_lists = max_lists
        self._lists: OrderedDict[Hashable, tuple[Hashable, RunningDays]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> tuple[Hashable, RunningDays] | None:
        """The days last kept for `key` and the stamp they were read under."""
        with self._lock:
            found = self._lists.get(key)
            if found is not None:
                self._lists.move_to_end(key)
            return found

    def put(self, key: Hashable, stamp: Hashable, days: RunningDays) -> None:
        with self._lock:
            self._lists[key] = (stamp, days)
            self._lists.move_to_end(key)
            while len(self._lists) > self.max_lists:
                self._lists.popitem(last=False)


class PageAnchors:
    """Anchors by list shape, each shape's read under one data stamp (a newer stamp replaces them),
    and the running day totals of lists in creation order (`days`, see conversations.day_pages)."""

    def __init__(self, max_shapes: int = MAX_SHAPES, max_per_shape: int = MAX_PER_SHAPE) -> None:
        self.max_shapes = max_shapes
        self.max_per_shape = max_per_shape
        self._shapes: OrderedDict[Hashable, _Shape] = OrderedDict()
        self._lock = threading.Lock()
        self.days = KeptDays(max_shapes)

    def nearest(self, shape: Hashable, offset: int) -> tuple[Hashable, Anchor] | None:
        """The anchor closest before `offset` (at it included), with the stamp it was read under."""
        with self._lock:
            kept = self._shapes.get(shape)
            if kept is None:
                return None
            self._shapes.move_to_end(shape)
            at = bisect.bisect_right(kept.offsets, offset)
            if at == 0:
                return None
            return kept.stamp, kept.anchors[kept.offsets[at - 1]]

    def put(self, shape: Hashable, stamp: Hashable, anchor: Anchor) -> None:
        """Remember `anchor`, read under `stamp`; anchors of the shape read under another go."""
        with self._lock:
            kept = self._shapes.get(shape)
            if kept is None or kept.stamp != stamp:
                kept = self._shapes[shape] = _Shape(stamp)
            self._shapes.move_to_end(shape)
            if anchor.offset not in kept.anchors:
                bisect.insort(kept.offsets, anchor.offset)
            kept.anchors[anchor.offset] = anchor
            kept.anchors.move_to_end(anchor.offset)
            while len(kept.anchors) > self.max_per_shape:
                oldest, _ = kept.anchors.popitem(last=False)
                kept.offsets.remove(oldest)
            while len(self._shapes) > self.max_shapes:
                self._shapes.popitem(last=False)

    def forget(self, shape: Hashable) -> None:
        with self._lock:
            self._shapes.pop(shape, None)

    def __len__(self) -> int:
        return len(self._shapes)
