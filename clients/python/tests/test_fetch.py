"""The prefetcher: shards arrive ahead of need, and no more than ``depth`` ahead."""

import sys
import threading
import time
import unittest
from os.path import abspath, dirname

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from shardline.fetch import Prefetcher  # noqa: E402


class PrefetcherTests(unittest.TestCase):
    def test_the_next_shards_are_fetched_while_the_loop_works(self):
        started = []
        lock = threading.Lock()

        def slow_fetch(ordinal):
            with lock:
                started.append(ordinal)
            time.sleep(0.1)
            return b"x", "s3"

        prefetch = Prefetcher(slow_fetch, list(range(10)), depth=3, threads=2)
        self.addCleanup(prefetch.close)
        prefetch.get(0)
        time.sleep(0.35)  # the training loop works on shard 0
        waits = []
        for i in (1, 2, 3):
            t = time.perf_counter()
            prefetch.get(i)
            waits.append(time.perf_counter() - t)
        self.assertLess(max(waits), 0.05, f"shards 1-3 were ready: waited {waits}")
        self.assertLessEqual(max(started), 3 + 3, "never more than depth past the furthest request")

    def test_errors_reach_the_reader(self):
        def broken(ordinal):
            raise OSError(f"no shard {ordinal}")

        prefetch = Prefetcher(broken, [7], depth=2)
        self.addCleanup(prefetch.close)
        with self.assertRaisesRegex(OSError, "no shard 7"):
            prefetch.get(0)
