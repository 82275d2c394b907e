"""Sequences of positions written as spans, the currency of partitioning and resume.

A position is an index into an epoch's global record order. A :class:`SpanSeq` is an ordered
list of ``(start, stop, pad)`` spans read one after another; ``pad=1`` marks a repeated record
that tops a rank up to the common count. Padding is never "consumed": a resume state only ever
lists real positions.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Iterable, Iterator, List, Sequence, Tuple

Span = Tuple[int, int, int]


class SpanSeq:
    """An immutable sequence of positions given as spans, sliceable in O(log n)."""

    __slots__ = ("spans", "_ends")

    def __init__(self, spans: Iterable[Sequence[int]] = ()) -> None:
        self.spans: List[Span] = []
        self._ends: List[int] = []
        total = 0
        for span in spans:
            start, stop = int(span[0]), int(span[1])
            pad = int(span[2]) if len(span) > 2 else 0
            if stop > start:
                self.spans.append((start, stop, pad))
                total += stop - start
                self._ends.append(total)

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    def __iter__(self) -> Iterator[int]:
        for start, stop, _ in self.spans:
            yield from range(start, stop)

    def items(self) -> Iterator[Tuple[int, int]]:
        """``(position, pad)`` pairs in order."""
        for start, stop, pad in self.spans:
            for pos in range(start, stop):
                yield pos, pad

    def take(self, start: int, count: int) -> "SpanSeq":
        """The sub-sequence of ``count`` positions beginning at offset ``start``."""
        out: List[Span] = []
        i = bisect_right(self._ends, start)
        offset = start - (self._ends[i - 1] if i else 0)
        left = count
        while left > 0 and i < len(self.spans):
            a, b, pad = self.spans[i]
            a += offset
            offset = 0
            n = min(b - a, left)
            out.append((a, a + n, pad))
            left -= n
            i += 1
        return SpanSeq(out)

    def split(self, parts: int) -> List["SpanSeq"]:
        """``parts`` contiguous pieces, sizes differing by at most one, the larger ones first."""
        sizes = balanced_sizes(len(self), parts)
        pieces, start = [], 0
        for size in sizes:
            pieces.append(self.take(start, size))
            start += size
        return pieces

    def real(self) -> List[Tuple[int, int]]:
        """The non-padding spans as ``(start, stop)`` pairs."""
        return [(a, b) for a, b, pad in self.spans if not pad]

    def __add__(self, other: "SpanSeq") -> "SpanSeq":
        return SpanSeq(self.spans + other.spans)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SpanSeq) and self.spans == other.spans

    def __repr__(self) -> str:
        return f"SpanSeq({self.spans!r})"


def balanced_sizes(total: int, parts: int) -> List[int]:
    """Split ``total`` into ``parts`` sizes differing by at most one, the larger ones first."""
    q, extra = divmod(total, parts)
    return [q + 1 if i < extra else q for i in range(parts)]


def subtract(spans: Iterable[Sequence[int]], removed: Iterable[Sequence[int]]) -> List[Tuple[int, int]]:
    """The positions of ``spans`` not in ``removed``, as sorted, merged ``(start, stop)`` pairs."""
    cut = merge(removed)
    out: List[Tuple[int, int]] = []
    j = 0
    for a, b in merge(spans):
        while j < len(cut) and cut[j][1] <= a:
            j += 1
        k = j
        while a < b:
            if k >= len(cut) or cut[k][0] >= b:
                out.append((a, b))
                break
            ca, cb = cut[k]
            if ca > a:
                out.append((a, ca))
            a = max(a, cb)
            k += 1
    return merge(out)


def merge(spans: Iterable[Sequence[int]]) -> List[Tuple[int, int]]:
    """Sort and coalesce ``(start, stop)`` pairs, dropping empty ones."""
    out: List[Tuple[int, int]] = []
    for a, b in sorted((int(s[0]), int(s[1])) for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            if b > out[-1][1]:
                out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out
