"""PyTorch: DataLoader workers split a rank's share; the loader's state resumes exactly.

torch here comes only as Debian's python3-torch, for /usr/bin/python3. When this interpreter
has no torch, ``SystemPythonTorchTests`` reruns this module under /usr/bin/python3; when
neither has it, the tests are skipped with a message saying so.
"""

import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from collections import Counter
from os.path import abspath, dirname

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from fixtures import Dataset  # noqa: E402
from shardline.partition import Layout, rank_items  # noqa: E402
from shardline.spans import SpanSeq  # noqa: E402

try:
    import torch  # noqa: F401
    from shardline.torch import ShardlineDataLoader, ShardlineIterableDataset
except ImportError:
    torch = None

SYSTEM_PYTHON = "/usr/bin/python3"
SIZES = [90, 0, 210, 13, 120, 167]  # 600 records


def ids_of(batch):
    return list(batch["id"]) if isinstance(batch, dict) else [batch["id"]]


@unittest.skipIf(torch is None, f"torch is not importable in {sys.executable}; SystemPythonTorchTests runs these under {SYSTEM_PYTHON}")
class DataLoaderTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="shardline-torch-")
        cls.data = Dataset(cls.tmp, SIZES)
        cls.cache = cls.data.cache("host")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def dataset(self, rank, world_size, **kw):
        ds = ShardlineIterableDataset(self.data.index_path, rank=rank, world_size=world_size, seed=5, cache_dir=self.cache, **kw)
        ds.shuffle_window = 32
        return ds

    def test_workers_split_the_rank_share_without_overlap_in_stream_order(self):
        streams = []
        for rank in range(2):
            ds = self.dataset(rank, 2)
            loader = ShardlineDataLoader(ds, batch_size=4, num_workers=2)
            got = [i for batch in loader for i in ids_of(batch)]
            order = ds._order()
            model = ["%d:%d" % order.locate(p) for p, _ in rank_items(SpanSeq([(0, 600)]), Layout(2, 2, 4, ds.shuffle_lanes), rank)]
            self.assertEqual(got, model, "the loader yields the rank's stream in the modelled order")
            self.assertEqual(len(got), len(set(got)), "workers do not overlap")
            streams.append(got)
        self.assertEqual(Counter(streams[0] + streams[1]), Counter(self.data.all_ids))

    def test_loader_state_resumes_exactly_with_another_layout(self):
        before, states = [], []
        for rank in range(3):
            loader = ShardlineDataLoader(self.dataset(rank, 3), batch_size=5, num_workers=2)
            it = iter(loader)
            for _ in range(7):  # 7 steps of 5: the workers have prefetched more than that
                before += ids_of(next(it))
            states.append(loader.state_dict())
            del it
        self.assertEqual(len({repr(s) for s in states}), 1, "every rank saves the same state")
        after = []
        for rank in range(5):  # 495 left: 99 per rank, no padding
            ds = self.dataset(rank, 5)
            loader = ShardlineDataLoader(ds, batch_size=2, num_workers=1)
            loader.load_state_dict(states[0])
            after += [i for batch in loader for i in ids_of(batch)]
        self.assertEqual(len(before), 105)
        self.assertEqual(Counter(before + after), Counter(self.data.all_ids), "no record repeated or skipped")

    def test_unbatched_in_process_loader(self):
        ds = self.dataset(0, 1, shuffle=False)
        got = [item["id"] for item in ShardlineDataLoader(ds, batch_size=None, num_workers=0)]
        self.assertEqual(got, self.data.all_ids)

    def test_refuses_persistent_workers_and_loader_drop_last(self):
        with self.assertRaises(ValueError):
            ShardlineDataLoader(self.dataset(0, 1), batch_size=2, num_workers=1, persistent_workers=True)
        with self.assertRaises(ValueError):
            ShardlineDataLoader(self.dataset(0, 1), batch_size=2, drop_last=True)


@unittest.skipIf(torch is not None, "torch tests ran in this interpreter")
class SystemPythonTorchTests(unittest.TestCase):
    def test_torch_tests_pass_under_the_system_python(self):
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run([SYSTEM_PYTHON, "-c", "import torch"], capture_output=True).returncode != 0:
            self.skipTest(f"torch is installed neither in {sys.executable} nor in {SYSTEM_PYTHON} (apt-get install python3-torch): DataLoader tests skipped")
        root = dirname(dirname(abspath(__file__)))
        run = subprocess.run([SYSTEM_PYTHON, "-m", "unittest", "-v", "tests.test_torch"], cwd=root, capture_output=True, text=True, timeout=300)
        out = run.stdout + run.stderr
        self.assertEqual(run.returncode, 0, out)
        passed = len(re.findall(r"^test_\w+ \(.*DataLoaderTests.*\) \.\.\. ok$", out, re.M))
        self.assertEqual(passed, 4, out)
        sys.stderr.write(f"\n  [torch DataLoader tests: {passed} passed under {SYSTEM_PYTHON}] ")
