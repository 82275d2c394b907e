"""Turning a worker's lanes of epoch positions into a stream of raw lines.

Each lane becomes a list of segments (a shard and a range of its epoch-order records); the
segments that need a new fetch are ordered by when the interleaved lanes will reach them,
which is the order the prefetcher fetches them in.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain
from operator import itemgetter
from typing import Callable, Iterator, List, Optional, Sequence, Tuple

from .decode import WindowReader
from .fetch import Prefetcher, ReadStats
from .index import Shard
from .partition import interleave
from .shuffle import EpochOrder
from .spans import SpanSeq


@dataclass
class Segment:
    ordinal: int
    first: int  # epoch-order offset of the first record in the shard
    end: int
    request: Optional[int] = None  # prefetch request that brings the shard; None: keep the open one


def lane_segments(lane: SpanSeq, order: EpochOrder) -> List[Segment]:
    out: List[Segment] = []
    for start, stop, _ in lane.spans:
        for ordinal, first, end in order.segments(start, stop):
            if out and out[-1].ordinal == ordinal and out[-1].end == first:
                out[-1].end = end  # adjacent: one segment
            else:
                out.append(Segment(ordinal, first, end))
    return out


def schedule(lanes: Sequence[List[Segment]]) -> List[int]:
    """Give each segment that opens a shard a request id, in order of need; return the ordinals.

    Lane ``l`` of ``m`` reaches its item ``k`` at about step ``k * m + l`` of the worker's stream.
    A segment continuing the lane's open shard further on needs no new fetch.
    """
    m = len(lanes)
    pending: List[Tuple[int, int, Segment]] = []
    for l, segments in enumerate(lanes):
        offset = 0
        prev: Optional[Segment] = None
        for seg in segments:
            if prev is None or prev.ordinal != seg.ordinal or seg.first < prev.end:
                pending.append((offset * m + l, l, seg))
            prev = seg
            offset += seg.end - seg.first
    pending.sort(key=lambda p: (p[0], p[1]))
    for i, (_, _, seg) in enumerate(pending):
        seg.request = i
    return [seg.ordinal for _, _, seg in pending]


def lane_lines(segments: List[Segment], shards: Sequence[Shard], order: EpochOrder, prefetch: Prefetcher, stats: ReadStats) -> Iterator[List[str]]:
    """A lane's lines, a list at a time (at most a window each)."""
    window = order.window
    reader: Optional[WindowReader] = None
    source = "cache"
    for seg in segments:
        if seg.request is not None:
            data, source = prefetch.get(seg.request)
            shard = shards[seg.ordinal]
            reader = WindowReader(data, shard.codec, shard.records, window, f"s3://{shard.bucket}/{shard.key}")
            del data
        assert reader is not None
        pos = seg.first
        while pos < seg.end:
            w = pos // window
            base = w * window
            lines = reader.window(w)
            perm = order.window_permutation(seg.ordinal, w, len(lines))
            stop = min(seg.end, base + len(lines))
            if perm is not None:
                picked = perm[pos - base:stop - base]
                chunk = list(itemgetter(*picked)(lines)) if len(picked) > 1 else [lines[picked[0]]]
            else:
                chunk = lines[pos - base:stop - base]
            if source == "cache":
                stats.add(cache_records=len(chunk))
            else:
                stats.add(s3_records=len(chunk))
            yield chunk
            pos = stop


def worker_lines(lanes: Sequence[SpanSeq], shards: Sequence[Shard], order: EpochOrder, fetch: Callable[[int], Tuple[bytes, str]], stats: ReadStats, depth: int, threads: int) -> Iterator[str]:
    """A worker's raw lines in its stream order (lanes interleaved record by record)."""
    segments = [lane_segments(lane, order) for lane in lanes]
    prefetch = Prefetcher(fetch, schedule(segments), depth=depth + len(lanes), threads=threads)
    try:
        streams = [chain.from_iterable(lane_lines(s, shards, order, prefetch, stats)) for s in segments]
        yield from interleave(streams, [len(lane) for lane in lanes])
    finally:
        prefetch.close()
