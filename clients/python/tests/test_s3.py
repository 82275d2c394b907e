"""Reads through a real S3-compatible endpoint (moto's server): s3:// index, cache fallback.

Skipped when moto or boto3 is not installed here.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
from collections import Counter
from os.path import abspath, dirname
from unittest import mock

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from fixtures import Dataset  # noqa: E402
from shardline import cache as cache_module  # noqa: E402
from shardline.data import ShardlineDataset  # noqa: E402
from shardline.fetch import ShardIntegrityError  # noqa: E402

try:
    import boto3
    import moto.server  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise unittest.SkipTest(f"S3 tests need boto3 and moto in this interpreter ({sys.executable}): {err}")

SIZES = [40, 120, 0, 75, 33]
ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    """One moto server for the module, with the test dataset uploaded."""

    server = None
    endpoint = ""


def setUpModule():
    Moto.env = mock.patch.dict(os.environ, ENV)
    Moto.env.start()
    port = free_port()
    Moto.endpoint = f"http://127.0.0.1:{port}"
    Moto.server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 20
    while True:
        try:
            urllib.request.urlopen(Moto.endpoint, timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or Moto.server.poll() is not None:
                tearDownModule()
                raise RuntimeError("moto server did not start")
            time.sleep(0.1)
    Moto.tmp = tempfile.mkdtemp(prefix="shardline-s3-")
    Moto.data = Dataset(Moto.tmp, SIZES, bucket="processed")
    s3 = boto3.client("s3", endpoint_url=Moto.endpoint)
    s3.create_bucket(Bucket="processed")
    for key, body in Moto.data.files.items():
        s3.put_object(Bucket="processed", Key=key, Body=body)
    s3.put_object(Bucket="processed", Key="indexes/train/1.json", Body=json.dumps(Moto.data.index).encode())
    Moto.s3 = s3


def tearDownModule():
    if Moto.server is not None:
        Moto.server.terminate()
        Moto.server.wait(10)
    Moto.env.stop()
    shutil.rmtree(getattr(Moto, "tmp", ""), ignore_errors=True)


class S3TestCase(unittest.TestCase):
    url = "s3://processed/indexes/train/1.json"

    @classmethod
    def setUpClass(cls):
        cls.endpoint, cls.data, cls.s3 = Moto.endpoint, Moto.data, Moto.s3

    def setUp(self):
        cache_module.forget_checks()

    def ids(self, ds):
        return [r["id"] for r in ds]


class S3ReadTests(S3TestCase):
    def test_reads_an_s3_index_and_shards_through_the_endpoint(self):
        streams = [self.ids(ShardlineDataset(self.url, rank=r, world_size=3, s3_endpoint_url=self.endpoint)) for r in range(3)]
        seen = Counter(i for s in streams for i in s)
        self.assertEqual(set(seen), set(self.data.all_ids))
        self.assertEqual(sum(seen.values()) - len(seen), -(-sum(SIZES) // 3) * 3 - sum(SIZES), "only padding repeats")
        self.assertEqual({len(s) for s in streams}, {-(-sum(SIZES) // 3)})

    def test_endpoint_defaults_to_aws_endpoint_url(self):
        with mock.patch.dict(os.environ, {"AWS_ENDPOINT_URL": self.endpoint}):
            ds = ShardlineDataset(self.url, rank=0, world_size=1, shuffle=False)
            self.assertEqual(self.ids(ds), self.data.all_ids)
        stats = ds.stats()
        self.assertEqual((stats["cache_records"], stats["s3_records"], stats["local_fraction"]), (0, sum(SIZES), 0.0))

    def test_partial_cache_gives_the_same_order_and_reports_the_local_fraction(self):
        full = ShardlineDataset(self.url, rank=0, world_size=1, s3_endpoint_url=self.endpoint, cache_dir=self.data.cache("all"))
        part = ShardlineDataset(self.url, rank=0, world_size=1, s3_endpoint_url=self.endpoint, cache_dir=self.data.cache("some", ordinals=[1, 4]))
        self.assertEqual(self.ids(full), self.ids(part))
        self.assertEqual(full.stats()["local_fraction"], 1.0)
        stats = part.stats()
        self.assertEqual(stats["cache_records"], SIZES[1] + SIZES[4])
        self.assertEqual(stats["s3_records"], SIZES[0] + SIZES[3])
        self.assertAlmostEqual(stats["local_fraction"], (SIZES[1] + SIZES[4]) / sum(SIZES))


class CacheFallbackTests(S3TestCase):
    def test_a_corrupted_cached_file_is_not_used_and_s3_serves_it(self):
        cache = self.data.cache("corrupt")
        path = self.data.path_in(cache, 1)
        with open(path, "r+b") as f:
            f.seek(20)
            f.write(b"\x00\x01\x02")
        ds = ShardlineDataset(self.url, rank=0, world_size=1, shuffle=False, s3_endpoint_url=self.endpoint, cache_dir=cache)
        self.assertEqual(self.ids(ds), self.data.all_ids)
        stats = ds.stats()
        self.assertEqual(stats["cache_rejected"], 1)
        self.assertEqual(stats["s3_records"], SIZES[1])
        self.assertEqual(stats["cache_records"], sum(SIZES) - SIZES[1])

    def test_each_cached_file_is_hashed_once_per_process(self):
        cache = self.data.cache("once")
        with mock.patch.object(cache_module, "_digest", wraps=cache_module._digest) as hashed:
            ds = ShardlineDataset(self.url, rank=0, world_size=1, s3_endpoint_url=self.endpoint, cache_dir=cache)
            list(ds)
            first = hashed.call_count
            ds.set_epoch(1)
            list(ds)
        self.assertEqual(first, sum(1 for n in SIZES if n))  # every non-empty cached shard read
        self.assertEqual(hashed.call_count, first, "second epoch: no re-hashing")

    def test_a_manifest_entry_for_other_bytes_is_ignored(self):
        cache = self.data.cache("stale")
        with open(os.path.join(cache, "manifest.json")) as f:
            manifest = json.load(f)
        manifest["shards"][0]["sha256"] = "0" * 64
        with open(os.path.join(cache, "manifest.json"), "w") as f:
            json.dump(manifest, f)
        ds = ShardlineDataset(self.url, rank=0, world_size=1, s3_endpoint_url=self.endpoint, cache_dir=cache)
        self.assertEqual(sorted(self.ids(ds)), sorted(self.data.all_ids))
        self.assertEqual(ds.stats()["s3_shards"], 1)

    def test_an_s3_object_that_changed_since_the_index_fails_loudly(self):
        key = self.data.index["shards"][3]["key"]
        self.s3.put_object(Bucket="processed", Key=key, Body=b"tampered")
        self.addCleanup(self.s3.put_object, Bucket="processed", Key=key, Body=self.data.files[key])
        ds = ShardlineDataset(self.url, rank=0, world_size=1, s3_endpoint_url=self.endpoint)
        with self.assertRaisesRegex(ShardIntegrityError, "sha256 differs"):
            list(ds)
