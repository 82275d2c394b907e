"""ShardlineDataset over local files: what it yields, resume, worker split, errors. No network."""

import json
import os
import shutil
import sys
import tempfile
import unittest
from collections import Counter
from os.path import abspath, dirname
from unittest import mock

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from fixtures import Dataset  # noqa: E402
from shardline.data import ShardlineDataset  # noqa: E402
from shardline.decode import ShardFormatError  # noqa: E402
from shardline.index import IndexFormatError  # noqa: E402
from shardline.partition import Layout, rank_items  # noqa: E402
from shardline.s3 import S3Unavailable  # noqa: E402
from shardline.spans import SpanSeq  # noqa: E402

SIZES = [50, 0, 130, 7, 64, 300, 1, 90]


def open_ds(data, cache, **kw):
    ds = ShardlineDataset(data.index_path, cache_dir=cache, **kw)
    ds.shuffle_window = 16  # several windows per shard
    return ds


class ReaderTestCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="shardline-reader-")
        cls.data = Dataset(cls.tmp, SIZES)
        cls.cache = cls.data.cache("host-a")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)


class YieldTests(ReaderTestCase):
    def test_ranks_yield_every_record_once_with_equal_counts(self):
        for w in (1, 2, 3, 5, 8):
            for drop_last in (False, True):
                with self.subTest(w=w, drop_last=drop_last):
                    streams = [[r["id"] for r in open_ds(self.data, self.cache, rank=r, world_size=w, drop_last=drop_last, seed=3)] for r in range(w)]
                    total = sum(SIZES)
                    self.assertEqual({len(s) for s in streams}, {total // w if drop_last else -(-total // w)})
                    seen = Counter(i for s in streams for i in s)
                    if drop_last:
                        self.assertEqual(max(seen.values()), 1)
                        self.assertEqual(len(seen), total // w * w)
                    else:
                        self.assertEqual(set(seen), set(self.data.all_ids))
                        self.assertEqual(sum(seen.values()) - len(seen), -(-total // w) * w - total, "only padding repeats")

    def test_yields_what_the_partition_model_predicts(self):
        ds = open_ds(self.data, self.cache, rank=1, world_size=3, seed=9)
        ds.set_epoch(4)
        order = ds._order()
        layout = Layout(3, lanes=ds.shuffle_lanes)
        expected = ["%d:%d" % order.locate(p) for p, _ in rank_items(SpanSeq([(0, sum(SIZES))]), layout, 1)]
        self.assertEqual([r["id"] for r in ds], expected)

    def test_order_depends_on_seed_and_epoch_not_on_the_cache(self):
        other_cache = self.data.cache("host-b")
        a = open_ds(self.data, self.cache, rank=0, world_size=2, seed=1)
        b = open_ds(self.data, other_cache, rank=0, world_size=2, seed=1)
        self.assertEqual([r["id"] for r in a], [r["id"] for r in b])
        first = [r["id"] for r in a]
        a.set_epoch(1)
        self.assertNotEqual([r["id"] for r in a], first, "set_epoch reshuffles")
        a.set_epoch(0)
        self.assertEqual([r["id"] for r in a], first)
        self.assertEqual(a.stats()["local_fraction"], 1.0)

    def test_cache_mounted_elsewhere_is_found_through_relative_paths(self):
        # The agent writes its own absolute paths; a training container mounts the same disk at
        # another path (read-only), so the reader resolves relativePath against its cache_dir.
        cache = self.data.cache("host-mounted")
        manifest_path = os.path.join(cache, "manifest.json")
        with open(manifest_path) as f:
            manifest = json.load(f)
        for entry in manifest["shards"]:
            entry["relativePath"] = os.path.relpath(entry["path"], cache)
            entry["path"] = os.path.join("/var/cache/shardline-agent-view", entry["relativePath"])
        with open(manifest_path, "w") as f:
            json.dump(manifest, f)
        ds = open_ds(self.data, cache, rank=0, world_size=1, shuffle=False)
        self.assertEqual([r["id"] for r in ds], self.data.all_ids)
        self.assertEqual(ds.stats()["local_fraction"], 1.0)

    def test_shuffle_off_reads_index_order(self):
        ds = open_ds(self.data, self.cache, rank=0, world_size=1, shuffle=False)
        self.assertEqual([r["id"] for r in ds], self.data.all_ids)

    def test_rank_and_world_size_default_from_the_environment(self):
        with mock.patch.dict(os.environ, {"RANK": "2", "WORLD_SIZE": "4"}):
            ds = open_ds(self.data, self.cache)
        self.assertEqual((ds.rank, ds.world_size), (2, 4))
        with self.assertRaises(ValueError):
            open_ds(self.data, self.cache, rank=4, world_size=4)

    def test_records_are_parsed_json_objects(self):
        record = next(iter(open_ds(self.data, self.cache, rank=0, world_size=1, shuffle=False)))
        self.assertEqual(record, {"id": "0:0", "shard": 0, "line": 0, "text": ""})


class WorkerSplitTests(ReaderTestCase):
    def test_workers_split_a_rank_without_overlap_in_dataloader_order(self):
        ds = open_ds(self.data, self.cache, rank=1, world_size=2, seed=2)
        ds.configure_loader(num_workers=3, batch_size=4)
        streams = []
        for worker in range(3):
            with mock.patch("shardline.data._worker_info", return_value=(worker, 3)):
                streams.append([r["id"] for r in ds])
        merged = [i for t in range(0, max(map(len, streams)), 4) for s in streams for i in s[t:t + 4]]
        order = ds._order()
        layout = Layout(2, 3, 4, ds.shuffle_lanes)
        self.assertEqual(merged, ["%d:%d" % order.locate(p) for p, _ in rank_items(SpanSeq([(0, sum(SIZES))]), layout, 1)])
        self.assertEqual(len(set(merged)), len(merged))


class ResumeTests(ReaderTestCase):
    def read_some(self, w, n, state=None, epoch=0):
        """Every rank reads n records (in-process, like lockstep data-parallel training)."""
        got, states = [], []
        for r in range(w):
            ds = open_ds(self.data, self.cache, rank=r, world_size=w, seed=7)
            if state is not None:
                ds.load_state_dict(json.loads(json.dumps(state)))
            ds.set_epoch(epoch)
            it = iter(ds)
            for _ in range(n):
                got.append(next(it, None))
            states.append(ds.state_dict())
        return [g["id"] for g in got if g is not None], states

    def test_resume_mid_epoch_with_another_world_size_is_exact(self):
        total = sum(SIZES)
        for w1, n1, w2 in ((4, 37, 3), (1, 200, 8), (3, 1, 2), (8, 10, 1), (2, 0, 5)):
            with self.subTest(w1=w1, n1=n1, w2=w2):
                before, states = self.read_some(w1, n1, epoch=2)
                self.assertEqual(len({json.dumps(s, sort_keys=True) for s in states}), 1, "every rank saves the same state")
                after, _ = self.read_some(w2, total, state=states[0], epoch=2)
                counts = Counter(before + after)
                self.assertEqual(set(counts), set(self.data.all_ids))
                pads = sum(counts.values()) - len(counts)
                self.assertLessEqual(pads, (w1 - 1) + (w2 - 1), "repeats are only padding: one per short rank per pass")

    def test_resume_repeats_no_record_when_nothing_needs_padding(self):
        # 642 records: 6 ranks read 107 each, so padding never happens; every record exactly once.
        before, states = self.read_some(6, 50)
        after, _ = self.read_some(3, 10_000, state=states[0])
        self.assertEqual(sorted(before + after), sorted(self.data.all_ids))

    def test_state_of_a_finished_pass_resumes_to_nothing_and_next_epoch_is_whole(self):
        ds = open_ds(self.data, self.cache, rank=0, world_size=1)
        n = sum(1 for _ in ds)
        state = ds.state_dict()
        self.assertEqual(state["remaining"], [])
        again = open_ds(self.data, self.cache, rank=0, world_size=1)
        again.load_state_dict(state)
        self.assertEqual(sum(1 for _ in again), 0)
        again.set_epoch(1)
        self.assertEqual(sum(1 for _ in again), n)

    def test_state_is_plain_json_and_checked_on_load(self):
        ds = open_ds(self.data, self.cache, rank=0, world_size=1, seed=7)
        state = ds.state_dict()
        self.assertEqual(json.loads(json.dumps(state)), state)
        for change in ({"seed": 8}, {"shuffle": False}, {"index": {"name": "train", "version": 2, "records": sum(SIZES)}}):
            with self.subTest(change=change), self.assertRaises(ValueError):
                ds.load_state_dict({**state, **change})


class ErrorTests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shardline-errors-")
        self.addCleanup(shutil.rmtree, self.tmp, True)

    def test_codec_none_is_read(self):
        data = Dataset(self.tmp, [5, 3], codec="none")
        ds = ShardlineDataset(data.index_path, rank=0, world_size=1, shuffle=False, cache_dir=data.cache("h"))
        self.assertEqual([r["id"] for r in ds], data.all_ids)

    def test_multi_member_gzip_and_a_missing_final_newline_are_read(self):
        import gzip
        import hashlib
        data = Dataset(self.tmp, [6])
        key = data.index["shards"][0]["key"]
        lines = [json.dumps({"id": f"0:{i}"}) for i in range(6)]
        body = gzip.compress(("\n".join(lines[:4]) + "\n").encode()) + gzip.compress("\n".join(lines[4:]).encode())
        data.files[key] = body
        data.index["shards"][0].update(sha256=hashlib.sha256(body).hexdigest(), bytes=len(body))
        with open(data.index_path, "w") as f:
            json.dump(data.index, f)
        ds = ShardlineDataset(data.index_path, rank=0, world_size=1, shuffle=False, cache_dir=data.cache("h"))
        self.assertEqual([r["id"] for r in ds], [f"0:{i}" for i in range(6)])

    def test_unknown_codec_is_refused_clearly(self):
        data = Dataset(self.tmp, [5])
        data.index["shards"][0]["codec"] = "lz4"
        with open(data.index_path, "w") as f:
            json.dump(data.index, f)
        with self.assertRaisesRegex(IndexFormatError, "codec 'lz4'.*supported: gzip, zstd, none"):
            ShardlineDataset(data.index_path, rank=0, world_size=1)

    def test_a_record_count_that_disagrees_with_the_shard_fails(self):
        data = Dataset(self.tmp, [5, 4])
        data.index["shards"][1]["records"] = 6
        data.index["records"] = 11
        with open(data.index_path, "w") as f:
            json.dump(data.index, f)
        ds = ShardlineDataset(data.index_path, rank=0, world_size=1, cache_dir=data.cache("h"))
        with self.assertRaisesRegex(ShardFormatError, "index says 6 records"):
            list(ds)

    def test_s3_without_boto3_says_so(self):
        with mock.patch.dict(sys.modules, {"boto3": None}), self.assertRaisesRegex(S3Unavailable, "needs boto3"):
            ShardlineDataset("s3://processed/indexes/train/1.json", rank=0, world_size=1)

    def test_not_an_index(self):
        path = os.path.join(self.tmp, "x.json")
        with open(path, "w") as f:
            f.write('{"format": "something/v9"}')
        with self.assertRaisesRegex(IndexFormatError, "not a shardline.index/v1"):
            ShardlineDataset(path, rank=0, world_size=1)


class CommandLineTests(ReaderTestCase):
    def run_cli(self, *args):
        import subprocess
        root = dirname(dirname(abspath(__file__)))
        env = {**os.environ, "PYTHONPATH": root}
        run = subprocess.run([sys.executable, "-m", "shardline", "read", self.data.index_path, "--cache-dir", self.cache, *args], capture_output=True, text=True, env=env, timeout=60)
        self.assertEqual(run.returncode, 0, run.stderr)
        return [json.loads(line)["id"] for line in run.stdout.splitlines()], json.loads(run.stderr.splitlines()[-1])

    def test_reads_limits_saves_and_resumes(self):
        state = os.path.join(self.tmp, "state.json")
        first, summary = self.run_cli("--rank", "0", "--world-size", "1", "--epoch", "3", "--limit", "100", "--save-state", state)
        self.assertEqual((len(first), summary["records"], summary["stats"]["local_fraction"]), (100, 100, 1.0))
        rest, _ = self.run_cli("--rank", "0", "--world-size", "1", "--state", state)
        self.assertEqual(sorted(first + rest), sorted(self.data.all_ids))
