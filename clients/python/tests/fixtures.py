"""Small datasets for the tests: gzip, zstd or plain JSON Lines shards, an index, host caches."""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import subprocess
import unittest
from typing import Dict, List, Optional, Sequence

EXTENSIONS = {"gzip": ".gz", "zstd": ".zst", "none": ""}


def record(ordinal: int, line: int) -> dict:
    return {"id": f"{ordinal}:{line}", "shard": ordinal, "line": line, "text": "x" * (line % 7)}


def shard_bytes(ordinal: int, records: int, codec: str = "gzip") -> bytes:
    text = "".join(json.dumps(record(ordinal, i), separators=(",", ":")) + "\n" for i in range(records)).encode()
    if codec == "zstd":
        return zstd_frames(text)
    return gzip.compress(text, compresslevel=1, mtime=0) if codec == "gzip" else text


def zstd_frames(text: bytes, frames: int = 3) -> bytes:
    """``text`` as several zstd frames cut at line ends, as the agents write a shard (one frame per block)."""
    lines = text.splitlines(keepends=True)
    step = max(1, -(-len(lines) // frames))
    pieces = [b"".join(lines[i:i + step]) for i in range(0, len(lines), step)] or [b""]
    try:
        import zstandard
        return b"".join(zstandard.ZstdCompressor(level=1).compress(p) for p in pieces)
    except ImportError:
        pass
    if shutil.which("zstd") is None:
        raise unittest.SkipTest("writing a zstd shard needs the zstandard module or the zstd tool")
    return b"".join(subprocess.run(["zstd", "-1", "-cq"], input=p, capture_output=True, check=True).stdout for p in pieces)


class Dataset:
    """Shards written under ``root/shards``, an index at ``root/index.json``."""

    def __init__(self, root: str, records: Sequence[int], name: str = "train", version: int = 1, bucket: str = "processed", codec: str = "gzip") -> None:
        self.root = root
        self.bucket = bucket
        self.files: Dict[str, bytes] = {}
        shards = []
        for ordinal, n in enumerate(records):
            key = f"shards/obj-{ordinal % 3}/part-{ordinal:06d}.a1.jsonl" + EXTENSIONS[codec]
            data = shard_bytes(ordinal, n, codec)
            self.files[key] = data
            shards.append({
                "ordinal": ordinal, "bucket": bucket, "key": key, "codec": codec,
                "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data), "records": n,
                "objectId": f"obj-{ordinal % 3}", "chunkId": f"chunk-{ordinal}", "holders": ["node-1"],
            })
        self.index = {
            "format": "shardline.index/v1", "name": name, "version": version,
            "createdAt": "2026-11-30T04:30:00.000Z", "source": {"kind": "prefix", "prefix": "raw/"},
            "configVersion": 0, "records": sum(records), "bytes": sum(s["bytes"] for s in shards),
            "objects": [], "shards": shards,
        }
        os.makedirs(root, exist_ok=True)
        self.index_path = os.path.join(root, "index.json")
        with open(self.index_path, "w") as f:
            json.dump(self.index, f)

    @property
    def all_ids(self) -> List[str]:
        return [record(s["ordinal"], i)["id"] for s in self.index["shards"] for i in range(s["records"])]

    def cache(self, name: str, ordinals: Optional[Sequence[int]] = None) -> str:
        """A host cache holding the given shards (all by default) in its own layout."""
        cache_dir = os.path.join(self.root, name)
        shutil.rmtree(cache_dir, ignore_errors=True)
        os.makedirs(os.path.join(cache_dir, "blobs"))
        entries = []
        for s in self.index["shards"]:
            if ordinals is not None and s["ordinal"] not in ordinals:
                continue
            path = os.path.join(cache_dir, "blobs", hashlib.sha1(s["key"].encode()).hexdigest())
            with open(path, "wb") as f:
                f.write(self.files[s["key"]])
            entries.append({"chunkId": s["chunkId"], "objectId": s["objectId"], "path": path, "sha256": s["sha256"], "bytes": s["bytes"], "shardKey": s["key"]})
        with open(os.path.join(cache_dir, "manifest.json"), "w") as f:
            json.dump({"nodeId": name, "updatedAt": "2026-11-30T04:30:00.000Z", "shards": entries}, f)
        return cache_dir

    def path_in(self, cache_dir: str, ordinal: int) -> str:
        with open(os.path.join(cache_dir, "manifest.json")) as f:
            key = self.index["shards"][ordinal]["key"]
            return next(e["path"] for e in json.load(f)["shards"] if e["shardKey"] == key)
