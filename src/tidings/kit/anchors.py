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


class PageAnchors:
    """Anchors by list shape, each shape's read under one data stamp (a newer stamp replaces them)."""

    def __init__(self, max_shapes: int = MAX_SHAPES, max_per_shape: int = MAX_PER_SHAPE) -> None:
        self.max_shapes = max_shapes
        self.max_per_shape = max_per_shape
        self._shapes: OrderedDict[Hashable, _Shape] = OrderedDict()
        self._lock = threading.Lock()

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
