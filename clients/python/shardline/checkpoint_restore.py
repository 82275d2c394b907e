"""Restoring one file of a durable checkpoint part, checked part by part.

Each multipart part has its sha256 in the durable manifest. Parts are read from the first copy
that has them right — a local spool copy first, then S3 (ranged GETs, a few at once) — so a
corrupted part is detected and read again from another copy; the whole file is then checked
against its sha256 and renamed into place. Standard library only (the S3 client is passed in).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Optional, Tuple


class CorruptCheckpoint(RuntimeError):
    """No copy of a part (or a manifest) has the bytes its sha256 says."""


Reader = Tuple[str, Callable[[int, int], Optional[bytes]]]


def _local_reader(path: str) -> Reader:
    def read(start: int, end: int) -> Optional[bytes]:
        with open(path, "rb") as f:
            f.seek(start)
            return f.read(end - start)

    return ("local", read)


def _s3_reader(s3: Any, bucket: str, key: str) -> Reader:
    def read(start: int, end: int) -> Optional[bytes]:
        if end <= start:
            return b""
        response = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-{end - 1}")
        with response["Body"] as body:
            return body.read()

    return ("s3", read)


def restore_file(file: Dict[str, Any], dest: str, local_path: Optional[str], s3: Any, bucket: str, concurrency: int = 4) -> Dict[str, Any]:
    """Writes ``file`` (an entry of a durable manifest) to ``dest``; returns where its bytes came from."""
    readers: List[Reader] = []
    if local_path and os.path.isfile(local_path) and os.path.getsize(local_path) == file["bytes"]:
        readers.append(_local_reader(local_path))
    if s3 is not None:
        readers.append(_s3_reader(s3, bucket, file["key"]))
    if not readers:
        raise CorruptCheckpoint(f"{file['name']}: no local copy and no S3 client to read it from")
    part_size, parts, size = int(file["partSize"]), list(file["parts"]), int(file["bytes"])
    used = set()
    repaired = [0]

    def fetch(i: int) -> bytes:
        start = i * part_size
        end = min(size, start + part_size)
        for n, (name, read) in enumerate(readers):
            try:
                data = read(start, end)
            except Exception:  # a copy that cannot be read is just not a good copy
                data = None
            if data is not None and len(data) == end - start and hashlib.sha256(data).hexdigest() == parts[i]:
                if n > 0:
                    repaired[0] += 1
                used.add(name)
                return data
        raise CorruptCheckpoint(f"part {i} of {file['name']} matches its sha256 in no copy ({', '.join(r[0] for r in readers)})")

    tmp = f"{dest}.partial"
    whole = hashlib.sha256()
    try:
        with open(tmp, "wb") as out, ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
            window: List[Future] = []
            ahead = 0
            for i in range(len(parts)):
                while ahead < len(parts) and ahead < i + concurrency:
                    window.append(pool.submit(fetch, ahead))
                    ahead += 1
                data = window.pop(0).result()
                whole.update(data)
                out.write(data)
        digest = whole.hexdigest()
        if digest != file["sha256"]:
            raise CorruptCheckpoint(f"{file['name']}: sha256 {digest} is not the manifest's {file['sha256']}")
        os.replace(tmp, dest)
    except BaseException:
        try:
            os.remove(tmp)
        except OSError:
            pass
        raise
    source = "mixed" if len(used) > 1 else ("local" if "local" in used else "s3")
    return {"name": file["name"], "path": dest, "bytes": size, "sha256": digest, "source": source, "repaired_parts": repaired[0]}
