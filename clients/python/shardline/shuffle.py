"""The epoch's global record order: a shuffle of the shards, then of fixed windows inside each.

Everything here is a pure function of the index identity (name and version), the seed and the
epoch, so every rank, worker and resumed job computes the same order without talking to the
others. Permutations sort positions by keys drawn from SHAKE-256, which any language can
reproduce (``shardline dataset pin`` may need to), and which costs one C call per window.
"""

from __future__ import annotations

import hashlib
import sys
from array import array
from bisect import bisect_right
from itertools import accumulate
from typing import Iterator, List, Optional, Sequence, Tuple

#: Records per in-shard shuffle window: the bound on how far a record moves inside its shard.
DEFAULT_WINDOW = 1024


def permutation(material: str, n: int) -> List[int]:
    """A deterministic permutation of ``range(n)`` seeded by the string ``material``.

    Position ``i`` gets the ``i``-th little-endian uint32 of ``SHAKE-256(material)`` as its key;
    positions are sorted by key, ties kept in position order.
    """
    if n <= 1:
        return list(range(n))
    keys = array("I", hashlib.shake_256(material.encode()).digest(4 * n))
    if keys.itemsize != 4:  # pragma: no cover - every mainstream platform has 4-byte "I"
        keys = array("L", hashlib.shake_256(material.encode()).digest(4 * n))
    if sys.byteorder == "big":  # pragma: no cover
        keys.byteswap()
    return sorted(range(n), key=keys.__getitem__)


class EpochOrder:
    """Maps epoch positions ``0..N-1`` to ``(shard ordinal, record index in the shard)``.

    The epoch lists the shards in a shuffled order (or by ordinal when ``shuffle`` is off), each
    shard's records in consecutive windows of ``window`` records, each window shuffled.
    """

    def __init__(self, records: Sequence[int], identity: str, seed: int, epoch: int, shuffle: bool, window: int = DEFAULT_WINDOW) -> None:
        self.records = list(records)
        self.window = window
        self.shuffle = shuffle
        self._material = f"shardline.shuffle/v1\x00{identity}\x00{seed}\x00{epoch}"
        n = len(self.records)
        self.order = permutation(self._material + "\x00shards", n) if shuffle else list(range(n))
        self.starts = [0] + list(accumulate(self.records[o] for o in self.order))

    @property
    def total(self) -> int:
        return self.starts[-1]

    def locate(self, position: int) -> Tuple[int, int]:
        """``(ordinal, record index)`` of the record at an epoch position."""
        slot = bisect_right(self.starts, position) - 1
        ordinal = self.order[slot]
        offset = position - self.starts[slot]
        return ordinal, self.record_index(ordinal, offset)

    def segments(self, start: int, stop: int) -> Iterator[Tuple[int, int, int]]:
        """The epoch range ``[start, stop)`` as ``(ordinal, first, end)`` offsets into shards."""
        slot = bisect_right(self.starts, start) - 1
        while start < stop:
            while self.starts[slot + 1] <= start:  # skip empty shards
                slot += 1
            base = self.starts[slot]
            end = min(stop, self.starts[slot + 1])
            yield self.order[slot], start - base, end - base
            start = end

    def window_permutation(self, ordinal: int, window_index: int, size: int) -> Optional[List[int]]:
        """The order of a window's records, or None when not shuffling."""
        if not self.shuffle:
            return None
        return permutation(f"{self._material}\x00window\x00{ordinal}\x00{window_index}", size)

    def record_index(self, ordinal: int, offset: int) -> int:
        """The record (line) index in the shard file of the ``offset``-th record in epoch order."""
        if not self.shuffle:
            return offset
        w, j = divmod(offset, self.window)
        size = min(self.window, self.records[ordinal] - w * self.window)
        perm = self.window_permutation(ordinal, w, size)
        return w * self.window + perm[j]
