"""This host's shard cache: the agent's ``manifest.json`` and checksum-verified reads.

Shards are found through the manifest (shard key → path), never by guessing a layout. The
agent writes each shard's ``relativePath`` (to the cache directory) beside its absolute ``path``:
the relative one is used first, so a training container that mounts the host's cache elsewhere
(e.g. read-only at ``/shardline/cache``) still finds the files. A cached file is hashed the first time this process reads it; later reads of the same
file (same size and modification time) are trusted. A file whose hash is wrong is never used.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from typing import Dict, Optional, Tuple

MANIFEST = "manifest.json"

# Per process: (path, size, mtime_ns) → the sha256 it was found to have.
_checked: Dict[Tuple[str, int, int], str] = {}
_checked_lock = threading.Lock()


def read_manifest(cache_dir: str) -> Dict[str, Tuple[str, str]]:
    """shardKey → (path, sha256) for every shard the host agent lists as cached.

    A missing or unreadable manifest means an empty cache: the reader then uses S3.
    """
    try:
        with open(os.path.join(cache_dir, MANIFEST), "rb") as f:
            doc = json.load(f)
    except (OSError, ValueError):
        return {}
    out: Dict[str, Tuple[str, str]] = {}
    for entry in doc.get("shards", []) if isinstance(doc, dict) else []:
        try:
            relative = entry.get("relativePath")
            path = os.path.join(cache_dir, str(relative)) if relative else str(entry["path"])
            out[str(entry["shardKey"])] = (path, str(entry["sha256"]).lower())
        except (KeyError, TypeError, AttributeError):
            continue
    return out


def read_verified(path: str, sha256: str) -> Optional[bytes]:
    """The file's bytes if its sha256 is ``sha256`` (hashed once per process), else None."""
    try:
        with open(path, "rb") as f:
            st = os.fstat(f.fileno())
            data = f.read()
    except OSError:
        return None
    if len(data) != st.st_size:
        return None  # changed while we read it
    key = (path, st.st_size, st.st_mtime_ns)
    with _checked_lock:
        known = _checked.get(key)
    if known is None:
        known = _digest(data)
        with _checked_lock:
            _checked[key] = known
    return data if known == sha256 else None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def forget_checks() -> None:
    """Forget which files were verified (tests, or after repairing a cache)."""
    with _checked_lock:
        _checked.clear()
