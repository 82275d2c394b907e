"""The dataset index (``shardline.index/v1``): which shards make up a dataset version.

Written by ``shardline dataset index``; stored at ``s3://<processed>/indexes/<name>/<version>.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional, Tuple

from .decode import ZSTD_HELP, zstd_backend

INDEX_FORMAT = "shardline.index/v1"
#: Codecs this reader decodes; anything else is refused when the index is loaded, and so is zstd
#: when neither the zstandard module nor the zstd tool is here (see ``decode.zstd_backend``).
SUPPORTED_CODECS = ("gzip", "zstd", "none")


class IndexFormatError(ValueError):
    """The index is malformed or uses something this reader does not support."""


@dataclass(frozen=True)
class Shard:
    """One shard of the index: where it lives, what it holds, and its checksum."""

    ordinal: int
    bucket: str
    key: str
    codec: str
    sha256: str
    bytes: int
    records: int


@dataclass(frozen=True)
class DatasetIndex:
    """A loaded, validated index. ``identity`` names the version for shuffles and resume."""

    name: str
    version: int
    records: int
    shards: Tuple[Shard, ...]
    source: str

    @property
    def identity(self) -> str:
        return f"{self.name}\x00{self.version}"


def parse_index(doc: Mapping[str, Any], source: str = "<index>") -> DatasetIndex:
    """Validate an index document and return it as a :class:`DatasetIndex`."""
    if not isinstance(doc, Mapping) or doc.get("format") != INDEX_FORMAT:
        found = doc.get("format") if isinstance(doc, Mapping) else type(doc).__name__
        raise IndexFormatError(f"{source}: not a {INDEX_FORMAT} index (format: {found!r})")
    try:
        name, version = str(doc["name"]), int(doc["version"])
        raw = sorted(doc["shards"], key=lambda s: int(s["ordinal"]))
        shards = tuple(
            Shard(int(s["ordinal"]), str(s["bucket"]), str(s["key"]), str(s.get("codec", "gzip")), str(s["sha256"]).lower(), int(s["bytes"]), int(s["records"]))
            for s in raw
        )
    except (KeyError, TypeError, ValueError) as err:
        raise IndexFormatError(f"{source}: malformed index: {err!r}") from err
    zstd_ok = not any(s.codec == "zstd" for s in shards) or zstd_backend() is not None
    for i, shard in enumerate(shards):
        if shard.ordinal != i:
            raise IndexFormatError(f"{source}: shard ordinals must be 0..{len(shards) - 1}; found {shard.ordinal} at position {i}")
        if shard.records < 0:
            raise IndexFormatError(f"{source}: shard {shard.key} has a negative record count")
        if shard.codec not in SUPPORTED_CODECS:
            raise IndexFormatError(f"{source}: shard {shard.key} uses codec {shard.codec!r}, which this reader cannot decode (supported: {', '.join(SUPPORTED_CODECS)})")
        if shard.codec == "zstd" and not zstd_ok:
            raise IndexFormatError(f"{source}: shard {shard.key} is zstd, which {ZSTD_HELP}")
    total = sum(s.records for s in shards)
    if "records" in doc and int(doc["records"]) != total:
        raise IndexFormatError(f"{source}: records is {doc['records']} but the shards hold {total}")
    return DatasetIndex(name, version, total, shards, source)


def load_index(location: str, read_s3: Optional[Callable[[str], bytes]] = None) -> DatasetIndex:
    """Load an index from a local path or an ``s3://`` URL (read through ``read_s3``)."""
    if location.startswith("s3://"):
        if read_s3 is None:
            raise IndexFormatError(f"{location}: no S3 reader given")
        data = read_s3(location)
    else:
        with open(location, "rb") as f:
            data = f.read()
    try:
        doc = json.loads(data)
    except ValueError as err:
        raise IndexFormatError(f"{location}: not JSON: {err}") from err
    return parse_index(doc, location)

