"""S3 reads through boto3, created lazily, once per process.

boto3 is optional: a job that reads only local indexes and a warm, intact cache never needs it.
Clients are not shared across ``fork`` (DataLoader workers): each process makes its own.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Optional, Tuple


class S3Unavailable(RuntimeError):
    """An s3:// read was needed but boto3 is not installed."""


def parse_s3_url(url: str) -> Tuple[str, str]:
    """``s3://bucket/key`` → ``(bucket, key)``."""
    if not url.startswith("s3://"):
        raise ValueError(f"not an s3:// URL: {url}")
    bucket, _, key = url[5:].partition("/")
    if not bucket or not key:
        raise ValueError(f"an s3:// URL needs a bucket and a key: {url}")
    return bucket, key


class S3Reader:
    """Gets whole objects. Thread-safe; picklable (the client is rebuilt where it is used)."""

    def __init__(self, endpoint_url: Optional[str] = None) -> None:
        self.endpoint_url = endpoint_url
        self._client: Any = None
        self._pid = -1
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"endpoint_url": self.endpoint_url}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["endpoint_url"])

    def client(self) -> Any:
        with self._lock:
            if self._client is None or self._pid != os.getpid():
                self._client = self._make_client()
                self._pid = os.getpid()
            return self._client

    def _make_client(self) -> Any:
        try:
            import boto3
            from botocore.config import Config
        except ImportError as err:
            raise S3Unavailable("reading from S3 needs boto3 (pip install boto3), or give a local index and a cache that holds every shard") from err
        # Emulators (and custom endpoints in general) want path-style addressing.
        style = "path" if self.endpoint_url else "auto"
        config = Config(s3={"addressing_style": style}, retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16)
        return boto3.session.Session().client("s3", endpoint_url=self.endpoint_url, config=config)

    def get(self, bucket: str, key: str) -> bytes:
        """The whole object's bytes."""
        response = self.client().get_object(Bucket=bucket, Key=key)
        with response["Body"] as body:
            return body.read()

    def get_url(self, url: str) -> bytes:
        return self.get(*parse_s3_url(url))
