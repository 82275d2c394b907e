"""zstd shards: read through the zstandard module or the zstd tool, frame after frame; refused clearly without either.

The agents write a zstd shard as one frame per block, so every test's shards hold several frames.
zstandard comes here only as Debian's python3-zstandard, for /usr/bin/python3: when this
interpreter lacks it, ``SystemPythonZstdTests`` reruns the module tests under /usr/bin/python3.
"""

import gc
import os
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
from os.path import abspath, dirname
from unittest import mock

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from fixtures import Dataset, zstd_frames  # noqa: E402
from shardline import decode  # noqa: E402
from shardline.data import ShardlineDataset  # noqa: E402
from shardline.decode import ShardFormatError, WindowReader  # noqa: E402
from shardline.index import IndexFormatError  # noqa: E402

try:
    import zstandard  # noqa: F401
except ImportError:
    zstandard = None

SYSTEM_PYTHON = "/usr/bin/python3"
HAS_CLI = shutil.which("zstd") is not None
SIZES = [40, 0, 95, 7]


def read_all(data: Dataset, cache: str):
    return [r["id"] for r in ShardlineDataset(data.index_path, rank=0, world_size=1, shuffle=False, cache_dir=cache)]


class ZstdReading:
    """The same reading tests, run once per backend (a mixin: not collected on its own)."""

    backend = ""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix=f"shardline-zstd-{self.backend}-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        if self.backend == "cli":  # the tool even where the module is installed
            patcher = mock.patch.object(decode, "_zstandard", return_value=None)
            patcher.start()
            self.addCleanup(patcher.stop)
        self.assertEqual(decode.zstd_backend(), self.backend)

    def test_every_record_of_multi_frame_shards_is_read_in_order(self):
        data = Dataset(self.tmp, SIZES, codec="zstd")
        self.assertTrue(data.index["shards"][0]["key"].endswith(".jsonl.zst"))
        self.assertEqual(read_all(data, data.cache("h")), data.all_ids)

    def test_windows_come_from_a_large_shard_a_piece_at_a_time(self):
        text = b"".join(b'{"i":%d,"pad":"%s"}\n' % (i, b"x" * (i % 50)) for i in range(30000))
        reader = WindowReader(zstd_frames(text, frames=5), "zstd", 30000, 1000, "big.jsonl.zst")
        lines = [line for w in range(30) for line in reader.window(w)]
        self.assertEqual(lines, text.decode().splitlines())

    def test_a_corrupt_shard_fails_saying_it_is_not_valid_zstd(self):
        good = zstd_frames(b'{"a":1}\n' * 100)
        reader = WindowReader(good[:8] + b"\x00" * 40 + good[48:], "zstd", 100, 10, "bad.jsonl.zst")
        with self.assertRaisesRegex(ShardFormatError, "bad.jsonl.zst: (not valid|truncated) zstd"):
            for w in range(10):
                reader.window(w)

    def test_a_record_count_that_disagrees_with_the_shard_fails(self):
        reader = WindowReader(zstd_frames(b'{"a":1}\n' * 5), "zstd", 6, 10, "short.jsonl.zst")
        with self.assertRaisesRegex(ShardFormatError, "index says 6 records, the shard has 5"):
            reader.window(0)


@unittest.skipIf(zstandard is None, f"zstandard is not importable in {sys.executable}; SystemPythonZstdTests runs these under {SYSTEM_PYTHON}")
class ZstdModuleTests(ZstdReading, unittest.TestCase):
    backend = "module"


@unittest.skipUnless(HAS_CLI, "the zstd command-line tool is not on PATH")
class ZstdCliTests(ZstdReading, unittest.TestCase):
    backend = "cli"

    def test_a_reader_dropped_halfway_leaves_no_process_behind(self):
        with mock.patch.object(decode, "_zstandard", return_value=None):
            text = b"".join(b'{"i":%d}\n' % i for i in range(200000))
            reader = WindowReader(zstd_frames(text), "zstd", 200000, 100, "big.jsonl.zst")
            reader.window(0)
            proc = reader._source._proc
            del reader
            gc.collect()
        self.assertIsNotNone(proc.poll())


class NoZstdTests(unittest.TestCase):
    def test_an_index_with_zstd_shards_is_refused_naming_both_ways_to_read_them(self):
        tmp = tempfile.mkdtemp(prefix="shardline-nozstd-")
        self.addCleanup(shutil.rmtree, tmp, True)
        if zstandard is None and not HAS_CLI:
            self.skipTest("no way to write a zstd shard here")
        data = Dataset(tmp, [3], codec="zstd")
        with mock.patch.object(decode, "_zstandard", return_value=None), mock.patch.object(decode.shutil, "which", return_value=None):
            with self.assertRaisesRegex(IndexFormatError, r"is zstd, which needs the zstandard module .* or the zstd command-line tool on PATH"):
                ShardlineDataset(data.index_path, rank=0, world_size=1)


class SystemPythonZstdTests(unittest.TestCase):
    def test_module_tests_pass_under_the_system_python(self):
        if zstandard is not None:
            self.skipTest(f"zstandard is importable in {sys.executable}: ZstdModuleTests ran here")
        if not os.path.exists(SYSTEM_PYTHON) or subprocess.run([SYSTEM_PYTHON, "-c", "import zstandard"], capture_output=True).returncode != 0:
            self.skipTest(f"zstandard is installed neither in {sys.executable} nor in {SYSTEM_PYTHON} (apt-get install python3-zstandard): module tests skipped")
        root = dirname(dirname(abspath(__file__)))
        run = subprocess.run([SYSTEM_PYTHON, "-m", "unittest", "-v", "tests.test_zstd.ZstdModuleTests"], cwd=root, capture_output=True, text=True, timeout=300)
        out = run.stdout + run.stderr
        self.assertEqual(run.returncode, 0, out)
        passed = len(re.findall(r"^test_\w+ \(.*ZstdModuleTests.*\) \.\.\. ok$", out, re.M))
        self.assertEqual(passed, 4, out)
        sys.stderr.write(f"\n  [zstandard module tests: {passed} passed under {SYSTEM_PYTHON}] ")


if __name__ == "__main__":
    unittest.main()
