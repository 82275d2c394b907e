"""Getting a shard's bytes: the host cache first, S3 otherwise, ahead of need.

:class:`ShardFetcher` decides where a shard comes from and counts it; :class:`Prefetcher`
runs fetches on a few background threads, a bounded number of shards ahead of the reader.
"""

from __future__ import annotations

import hashlib
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .cache import read_verified
from .index import Shard
from .s3 import S3Reader


class ShardIntegrityError(RuntimeError):
    """A shard's bytes from S3 do not match the index's sha256."""


class ReadStats:
    """Where reads came from, in this process. Thread-safe."""

    FIELDS = ("cache_shards", "s3_shards", "cache_bytes", "s3_bytes", "cache_records", "s3_records", "cache_rejected")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(self.FIELDS, 0)

    def add(self, **counts: int) -> None:
        with self._lock:
            for name, n in counts.items():
                self._counts[name] += n

    def snapshot(self) -> Dict[str, float]:
        with self._lock:
            out: Dict[str, float] = dict(self._counts)
        records = out["cache_records"] + out["s3_records"]
        out["local_fraction"] = out["cache_records"] / records if records else 0.0
        return out


class ShardFetcher:
    """Fetches a shard's (still compressed) bytes, verified against the index's sha256."""

    def __init__(self, shards: Sequence[Shard], manifest: Mapping[str, Tuple[str, str]], s3: S3Reader, stats: ReadStats) -> None:
        self._shards = shards
        self._manifest = manifest
        self._s3 = s3
        self._stats = stats

    def __call__(self, ordinal: int) -> Tuple[bytes, str]:
        """``(bytes, source)`` with source ``"cache"`` or ``"s3"``."""
        shard = self._shards[ordinal]
        cached = self._manifest.get(shard.key)
        if cached is not None and cached[1] == shard.sha256:
            data = read_verified(cached[0], shard.sha256)
            if data is not None:
                self._stats.add(cache_shards=1, cache_bytes=len(data))
                return data, "cache"
            self._stats.add(cache_rejected=1)
        data = self._s3.get(shard.bucket, shard.key)
        if hashlib.sha256(data).hexdigest() != shard.sha256:
            raise ShardIntegrityError(f"s3://{shard.bucket}/{shard.key}: sha256 differs from the index's; the object changed after the index was built")
        self._stats.add(s3_shards=1, s3_bytes=len(data))
        return data, "s3"


class Prefetcher:
    """Fetches ``requests`` (shard ordinals, in expected order of need) ``depth`` ahead.

    ``get(i)`` returns request ``i``'s result, waiting only if it is not ready yet. Requests
    may be asked for slightly out of order; nothing is fetched more than ``depth`` past the
    furthest request asked for, which bounds memory.
    """

    def __init__(self, fetch: Callable[[int], Tuple[bytes, str]], requests: List[int], depth: int = 4, threads: int = 2) -> None:
        self._fetch = fetch
        self._requests = requests
        self._depth = max(depth, 1)
        self._pool: Optional[ThreadPoolExecutor] = ThreadPoolExecutor(max_workers=max(threads, 1), thread_name_prefix="shardline-prefetch") if requests else None
        self._futures: Dict[int, Future] = {}
        self._submitted = 0

    def get(self, i: int) -> Tuple[bytes, str]:
        assert self._pool is not None, "prefetcher is closed"
        stop = min(len(self._requests), max(i + 1 + self._depth, self._submitted))
        while self._submitted < stop:
            self._futures[self._submitted] = self._pool.submit(self._fetch, self._requests[self._submitted])
            self._submitted += 1
        return self._futures.pop(i).result()

    def close(self) -> None:
        for future in self._futures.values():
            future.cancel()
        self._futures.clear()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
