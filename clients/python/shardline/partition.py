"""Who reads what: ranks, DataLoader workers and lanes over an epoch's remaining positions.

A pass reads the positions still *remaining* in the epoch (all of them at the start of an
epoch; fewer after a resume), taken in epoch order:

1. **Ranks** get contiguous, balanced pieces, so each rank touches about 1/world_size of the
   shards (locality). With ``drop_last`` every rank reads ``R // world_size`` and the tail is
   dropped; otherwise every rank yields ``ceil(R / world_size)``, the shorter ranks repeating
   one earlier record (padding, never counted as consumed).
2. **Workers** of a rank's DataLoader get contiguous, balanced pieces of the rank's share.
   The DataLoader hands out whole batches round-robin over workers, skipping exhausted ones;
   :func:`round_robin_consumed` models exactly that, so a count of samples consumed by the
   training loop says which positions each worker has handed out.
3. **Lanes**: a worker interleaves its piece's ``lanes`` sub-pieces record by record, so one
   batch mixes several shards while each lane still reads its shards sequentially.

Since every rank consumes at the same pace in data-parallel training, a single number (samples
consumed by each rank in this pass) plus this layout determines the whole job's consumed set;
:func:`remaining_after` turns it into the next pass's remaining positions, whatever the next
world size.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import chain, islice
from typing import Iterable, Iterator, List, Sequence, Tuple

from .spans import SpanSeq, merge, subtract


@dataclass(frozen=True)
class Layout:
    """How one pass is read: ranks, the DataLoader's workers and batch size, lanes per worker."""

    world_size: int = 1
    num_workers: int = 1
    batch_size: int = 1
    lanes: int = 1
    drop_last: bool = False

    def __post_init__(self) -> None:
        for name in ("world_size", "num_workers", "batch_size", "lanes"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")


def per_rank_count(remaining: int, world_size: int, drop_last: bool) -> int:
    """Samples every rank yields in a pass over ``remaining`` positions."""
    q, extra = divmod(remaining, world_size)
    return q if drop_last or not extra else q + 1


def rank_share(remaining: SpanSeq, world_size: int, rank: int, drop_last: bool) -> SpanSeq:
    """Rank ``rank``'s positions, in order, padding included."""
    total = len(remaining)
    q, extra = divmod(total, world_size)
    if drop_last:
        return remaining.take(rank * q, q)
    share = remaining.take(rank * q + min(rank, extra), q + (rank < extra))
    if extra and rank >= extra:
        # Deterministic padding: short ranks repeat distinct records from the front.
        (pos, _, _), = remaining.take((rank - extra) % total, 1).spans
        share = share + SpanSeq([(pos, pos + 1, 1)])
    return share


def worker_lanes(remaining: SpanSeq, layout: Layout, rank: int, worker: int) -> List[SpanSeq]:
    """The lanes of one worker of one rank, each a run of positions read in order."""
    share = rank_share(remaining, layout.world_size, rank, layout.drop_last)
    return share.split(layout.num_workers)[worker].split(layout.lanes)


def round_robin_consumed(consumed: int, sizes: Sequence[int], batch: int) -> List[int]:
    """How much of each source ``consumed`` items took, when sources hand out ``batch`` items
    in turn (source 0, 1, ... then again), an exhausted source being skipped; the last batch
    of a source may be short. This is the DataLoader's order over workers (and, with
    ``batch=1``, a worker's order over its lanes)."""
    n = len(sizes)
    taken = [0] * n
    if consumed <= 0 or n == 0:
        return taken
    full_rounds = min(size // batch for size in sizes)
    rounds, rest = divmod(consumed, n * batch)
    if rounds < full_rounds or (rounds == full_rounds and rest == 0):
        return [rounds * batch + min(max(rest - i * batch, 0), batch) for i in range(n)]
    taken = [full_rounds * batch] * n
    left = consumed - full_rounds * n * batch
    while left > 0 and any(t < s for t, s in zip(taken, sizes)):
        for i, size in enumerate(sizes):
            step = min(batch, size - taken[i], left)
            taken[i] += step
            left -= step
            if left == 0:
                break
    return taken


def consumed_spans(remaining: SpanSeq, layout: Layout, consumed: int) -> List[Tuple[int, int]]:
    """The real positions handed out when every rank has consumed ``consumed`` samples."""
    used: List[Tuple[int, int]] = []
    for rank in range(layout.world_size):
        share = rank_share(remaining, layout.world_size, rank, layout.drop_last)
        workers = share.split(layout.num_workers)
        for piece, took in zip(workers, round_robin_consumed(consumed, [len(p) for p in workers], layout.batch_size)):
            lanes = piece.split(layout.lanes)
            for lane, n in zip(lanes, round_robin_consumed(took, [len(x) for x in lanes], 1)):
                used.extend(lane.take(0, n).real())
    return used


def remaining_after(remaining: SpanSeq, layout: Layout, consumed: int) -> List[Tuple[int, int]]:
    """Positions still to read after every rank consumed ``consumed`` samples of this pass.

    A finished pass (``consumed`` at least the per-rank count) leaves nothing, even the
    records ``drop_last`` dropped.
    """
    if consumed >= per_rank_count(len(remaining), layout.world_size, layout.drop_last):
        return []
    if consumed <= 0:
        return subtract(remaining.real(), [])
    return subtract(remaining.real(), consumed_spans(remaining, layout, consumed))


def interleave(iterators: Sequence[Iterator], sizes: Sequence[int]) -> Iterator:
    """Round-robin one item at a time over iterators of balanced sizes (larger first)."""
    if len(iterators) == 1:
        return iter(iterators[0])
    low = min(sizes)
    tail = [it for it, size in zip(iterators, sizes) if size > low]
    return chain(chain.from_iterable(islice(zip(*iterators), low)), (next(it) for it in tail))


def worker_items(remaining: SpanSeq, layout: Layout, rank: int, worker: int) -> List[Tuple[int, int]]:
    """One worker's ``(position, pad)`` items in the order it yields them (a model of the
    reader, for tests and tools)."""
    lanes = worker_lanes(remaining, layout, rank, worker)
    return list(interleave([lane.items() for lane in lanes], [len(lane) for lane in lanes]))


def rank_items(remaining: SpanSeq, layout: Layout, rank: int) -> List[Tuple[int, int]]:
    """A rank's ``(position, pad)`` items in the order its training loop receives them from a
    DataLoader with ``layout.num_workers`` workers and ``layout.batch_size``."""
    streams = [worker_items(remaining, layout, rank, w) for w in range(layout.num_workers)]
    out: List[Tuple[int, int]] = []
    b = layout.batch_size
    rounds = max((len(s) + b - 1) // b for s in streams)
    for t in range(rounds):
        for stream in streams:
            out.extend(stream[t * b:(t + 1) * b])
    return out


def spans_from_json(value: Iterable[Sequence[int]]) -> SpanSeq:
    """Parse a state's ``remaining`` list of ``[start, stop]`` pairs (sorted, merged)."""
    return SpanSeq((a, b, 0) for a, b in merge(value))
