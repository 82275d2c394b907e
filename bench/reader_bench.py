"""Records/s of the Python reader from a host cache against a plain gzip + json.loads loop.

    npm run bench:reader            (python3 bench/reader_bench.py [--mb 80] [--rounds 3])

Generates gzip JSON Lines shards (about --mb MB of JSON) in a temporary cache directory with
the agent's manifest.json and a shardline.index/v1, then, in one run and interleaved,
times: a plain Python loop over the same shard files (gzip.open, json.loads per line), and
ShardlineDataset (world_size 1) with shuffle off and on. Every reader pass re-hashes the cached
files (as a fresh process would). Prints the median records/s of each and the ratios.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients", "python"))

from shardline import cache as shard_cache  # noqa: E402
from shardline.data import ShardlineDataset  # noqa: E402

WORDS = [f"w{i:x}" * (1 + i % 3) for i in range(500)]


def make_dataset(root: str, megabytes: int, shards: int) -> tuple[str, str, list[str], int, int]:
    """Write shards + manifest + index; return (index path, cache dir, shard paths, records, compressed bytes)."""
    rng = random.Random(1)
    cache_dir = os.path.join(root, "cache")
    os.makedirs(os.path.join(cache_dir, "blobs"))
    per_shard = megabytes * 1_000_000 // shards
    entries, index_shards, paths, total, packed = [], [], [], 0, 0
    for ordinal in range(shards):
        lines, size = [], 0
        while size < per_shard:
            rec = {
                "id": f"doc-{ordinal:03d}-{len(lines):07d}",
                "source": f"s3://ingest/raw/part-{ordinal}.jsonl",
                "text": " ".join(rng.choices(WORDS, k=rng.randint(20, 60))),
                "label": rng.randint(0, 9),
                "score": round(rng.random(), 4),
                "tokens": [rng.randint(0, 50000) for _ in range(16)],
            }
            line = json.dumps(rec, separators=(",", ":")) + "\n"
            lines.append(line)
            size += len(line)
        data = gzip.compress("".join(lines).encode(), compresslevel=6, mtime=0)
        key = f"shards/obj-{ordinal}/part-000000.a1.jsonl.gz"
        path = os.path.join(cache_dir, "blobs", f"{ordinal:04d}.gz")
        with open(path, "wb") as f:
            f.write(data)
        sha = hashlib.sha256(data).hexdigest()
        entries.append({"chunkId": f"c{ordinal}", "objectId": f"obj-{ordinal}", "path": path, "sha256": sha, "bytes": len(data), "shardKey": key})
        index_shards.append({"ordinal": ordinal, "bucket": "processed", "key": key, "codec": "gzip", "sha256": sha, "bytes": len(data), "records": len(lines), "objectId": f"obj-{ordinal}", "chunkId": f"c{ordinal}", "holders": ["bench"]})
        paths.append(path)
        total += len(lines)
        packed += len(data)
    with open(os.path.join(cache_dir, "manifest.json"), "w") as f:
        json.dump({"nodeId": "bench", "updatedAt": "2026-11-30T00:00:00.000Z", "shards": entries}, f)
    index = {"format": "shardline.index/v1", "name": "bench", "version": 1, "createdAt": "2026-11-30T00:00:00.000Z", "source": {"kind": "prefix", "prefix": "raw/"}, "configVersion": 0, "records": total, "bytes": packed, "objects": [], "shards": index_shards}
    index_path = os.path.join(root, "index.json")
    with open(index_path, "w") as f:
        json.dump(index, f)
    return index_path, cache_dir, paths, total, packed


def plain_loop(paths: list[str]) -> int:
    n = 0
    loads = json.loads
    for path in paths:
        with gzip.open(path, "rb") as f:
            for line in f:
                loads(line)
                n += 1
    return n


def reader(index_path: str, cache_dir: str, shuffle: bool) -> int:
    shard_cache.forget_checks()  # hash every cached file again, like a fresh process
    ds = ShardlineDataset(index_path, rank=0, world_size=1, shuffle=shuffle, cache_dir=cache_dir)
    n = 0
    for _ in ds:
        n += 1
    if ds.stats()["local_fraction"] != 1.0:
        raise SystemExit("reader did not read from the cache")
    return n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=80, help="MB of JSON Lines to generate (default 80)")
    parser.add_argument("--shards", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    root = tempfile.mkdtemp(prefix="shardline-bench-")
    try:
        t0 = time.perf_counter()
        index_path, cache_dir, paths, records, packed = make_dataset(root, args.mb, args.shards)
        print(f"dataset: {records:,} records, {args.shards} shards, {args.mb} MB JSON, {packed / 1e6:.1f} MB gzip (generated in {time.perf_counter() - t0:.1f} s)")
        runs = {"plain gzip.open + json.loads": lambda: plain_loop(paths), "ShardlineDataset shuffle=False": lambda: reader(index_path, cache_dir, False), "ShardlineDataset shuffle=True": lambda: reader(index_path, cache_dir, True)}
        rates: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):
            for name, run in runs.items():
                start = time.perf_counter()
                n = run()
                elapsed = time.perf_counter() - start
                if n != records:
                    raise SystemExit(f"{name}: read {n} records, expected {records}")
                rates[name].append(n / elapsed)
        base = statistics.median(rates["plain gzip.open + json.loads"])
        print(f"{'median of ' + str(args.rounds) + ' rounds':34} {'records/s':>12} {'MB/s (JSON)':>12} {'vs plain':>9}")
        for name, values in rates.items():
            rate = statistics.median(values)
            print(f"{name:34} {rate:12,.0f} {rate * args.mb * 1e6 / records / 1e6:12.1f} {rate / base:8.2f}x")
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
