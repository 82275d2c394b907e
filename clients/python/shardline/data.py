"""``ShardlineDataset``: each rank's exact share of a dataset index, shuffled, resumable.

See ``clients/python/README.md`` for the guarantees and the resume semantics, and
:mod:`shardline.partition` for how positions are dealt to ranks, workers and lanes.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Iterator, Optional, Tuple

from .cache import read_manifest
from .fetch import ReadStats, ShardFetcher
from .index import DatasetIndex, load_index
from .partition import Layout, per_rank_count, remaining_after, spans_from_json, worker_lanes
from .s3 import S3Reader
from .shuffle import DEFAULT_WINDOW, EpochOrder
from .spans import SpanSeq
from .stream import worker_lines

STATE_FORMAT = "shardline.reader-state/v1"


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _worker_info() -> Tuple[int, int]:
    """(worker id, worker count) inside a PyTorch DataLoader worker, else (0, 1).

    Looks torch up only if the process already imported it: the core never imports torch.
    """
    data = sys.modules.get("torch.utils.data")
    info = data.get_worker_info() if data is not None else None
    return (0, 1) if info is None else (info.id, info.num_workers)


class ShardlineDataset:
    """Iterates this rank's share of a shardline dataset index, yielding records (dicts).

    Args:
        index: local path or ``s3://`` URL of a ``shardline.index/v1`` file.
        rank, world_size: this process's place in the job; default ``RANK`` / ``WORLD_SIZE``
            from the environment (as set by ``torchrun``), else 0 / 1.
        seed: shuffle seed; the order is a function of (index name and version, seed, epoch).
        shuffle: shuffle shard order and records within bounded windows of each shard.
        drop_last: every rank yields ``floor(N / world_size)`` records (the remainder is
            dropped) instead of ``ceil(N / world_size)`` (short ranks repeat a record).
        cache_dir: this host's shard cache (with the agent's ``manifest.json``), read first.
        s3_endpoint_url: S3 endpoint for index and shard reads; default ``AWS_ENDPOINT_URL``.
    """

    #: Records per in-shard shuffle window (how far a record can move inside its shard).
    shuffle_window = DEFAULT_WINDOW
    #: Lanes per worker when shuffling: one batch mixes records from this many places.
    shuffle_lanes = 4
    #: Shards fetched ahead of the reader per worker, and threads fetching them.
    prefetch_depth = 4
    prefetch_threads = 2

    def __init__(self, index: str, rank: Optional[int] = None, world_size: Optional[int] = None, seed: int = 0, shuffle: bool = True, drop_last: bool = False, cache_dir: Optional[str] = None, s3_endpoint_url: Optional[str] = None) -> None:
        self.world_size = _env_int("WORLD_SIZE", 1) if world_size is None else int(world_size)
        self.rank = _env_int("RANK", 0) if rank is None else int(rank)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"need 0 <= rank < world_size, got rank={self.rank} world_size={self.world_size}")
        self.seed = int(seed)
        self.shuffle = bool(shuffle)
        self.drop_last = bool(drop_last)
        self.cache_dir = cache_dir
        self._s3 = S3Reader(s3_endpoint_url if s3_endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL") or None)
        self.index: DatasetIndex = load_index(str(index), self._s3.get_url)
        self.epoch = 0
        self._resume: Optional[SpanSeq] = None  # remaining positions loaded from a state
        self._consumed = 0  # samples this process yielded in the current pass
        self._pass_done = False
        self._loader = (1, 1)  # (num_workers, batch_size) of the DataLoader reading us
        self._stats = ReadStats()

    # -- pickling for DataLoader workers (spawn): counters and locks are per process
    def __getstate__(self) -> Dict[str, Any]:
        state = self.__dict__.copy()
        state["_stats"] = None
        return state

    def __setstate__(self, state: Dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._stats = ReadStats()

    # -- the pass: what is still to be read this epoch, and how it is laid out
    def _remaining(self) -> SpanSeq:
        return self._resume if self._resume is not None else SpanSeq([(0, self.index.records, 0)])

    def _layout(self, num_workers: Optional[int] = None) -> Layout:
        workers, batch = self._loader
        lanes = self.shuffle_lanes if self.shuffle else 1
        return Layout(self.world_size, num_workers or workers, batch, lanes, self.drop_last)

    def _order(self) -> EpochOrder:
        return EpochOrder([s.records for s in self.index.shards], self.index.identity, self.seed, self.epoch, self.shuffle, self.shuffle_window)

    def configure_loader(self, num_workers: int, batch_size: int) -> None:
        """Tell the dataset the DataLoader's worker count and batch size, which fix the order the
        training loop receives samples in, for ``state_dict``. ``ShardlineDataLoader`` calls it."""
        self._loader = (max(int(num_workers), 1), max(int(batch_size), 1))

    def _start_pass(self) -> None:
        if self._pass_done:  # the resumed epoch was read to its end: the next pass is whole
            self._resume = None
            self._pass_done = False
        self._consumed = 0

    def _finish_pass(self) -> None:
        self._pass_done = True

    def __len__(self) -> int:
        """Samples this rank yields in a pass (the same for every rank)."""
        remaining = self.index.records if self._resume is None or self._pass_done else len(self._resume)
        return per_rank_count(remaining, self.world_size, self.drop_last)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        self._start_pass()
        worker, workers = _worker_info()
        self._loader = (workers, self._loader[1])  # in-process (workers=1) the batch size is moot
        lanes = worker_lanes(self._remaining(), self._layout(workers), self.rank, worker)
        manifest = read_manifest(self.cache_dir) if self.cache_dir else {}
        fetch = ShardFetcher(self.index.shards, manifest, self._s3, self._stats)
        lines = worker_lines(lanes, self.index.shards, self._order(), fetch, self._stats, self.prefetch_depth, self.prefetch_threads)
        # The C scanner behind json.loads, called directly: a record costs one call, not three.
        # Anything it does not take whole (surrounding whitespace, errors) goes to json.loads.
        scan = json.JSONDecoder().scan_once
        n = 0
        try:
            for line in lines:
                try:
                    record, end = scan(line, 0)
                except StopIteration:
                    end = -1
                if end != len(line):
                    record = json.loads(line)
                n += 1
                self._consumed = n
                yield record
        finally:
            lines.close()
        self._finish_pass()

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch (reshuffles). A state loaded for this same epoch is kept."""
        epoch = int(epoch)
        if epoch != self.epoch:
            self.epoch = epoch
            self._resume = None
            self._pass_done = False
            self._consumed = 0

    def state_dict(self, num_samples: Optional[int] = None) -> Dict[str, Any]:
        """A JSON-able resume point after every rank consumed ``num_samples`` in this pass.

        ``num_samples`` defaults to what this process yielded itself (right for a loop over
        the dataset in-process; ``shardline.torch.ShardlineDataLoader`` passes its own count).
        Every rank must pass the same count, which data-parallel training guarantees when the
        state is taken at the same step on each rank: then every rank returns the same state.
        """
        consumed = self._consumed if num_samples is None else int(num_samples)
        remaining = self._remaining()
        if self._pass_done and num_samples is None:
            left: Any = []
        else:
            left = remaining_after(remaining, self._layout(), consumed)
        return {
            "format": STATE_FORMAT,
            "index": {"name": self.index.name, "version": self.index.version, "records": self.index.records},
            "seed": self.seed,
            "shuffle": self.shuffle,
            "window": self.shuffle_window,
            "epoch": self.epoch,
            "remaining": [[a, b] for a, b in left],
        }

    def load_state_dict(self, state: Dict[str, Any]) -> None:
        """Resume where ``state`` stopped: the next pass reads exactly what was not consumed."""
        if state.get("format") != STATE_FORMAT:
            raise ValueError(f"not a {STATE_FORMAT} state: {state.get('format')!r}")
        want = {"name": self.index.name, "version": self.index.version, "records": self.index.records}
        if state["index"] != want:
            raise ValueError(f"state is for index {state['index']}, this dataset reads {want}")
        for key, mine in (("seed", self.seed), ("shuffle", self.shuffle), ("window", self.shuffle_window)):
            if state[key] != mine:
                raise ValueError(f"state has {key}={state[key]!r} but this dataset has {key}={mine!r}; the order would differ")
        remaining = spans_from_json(state["remaining"])
        if remaining.spans and (remaining.spans[0][0] < 0 or remaining.spans[-1][1] > self.index.records):
            raise ValueError("state's remaining positions fall outside the index")
        self.epoch = int(state["epoch"])
        self._resume = remaining
        self._pass_done = False
        self._consumed = 0

    def stats(self) -> Dict[str, float]:
        """Reads by source in this process: shards, bytes and records from the host cache vs S3,
        cached files rejected by their checksum, and ``local_fraction`` of records from cache."""
        return self._stats.snapshot()
