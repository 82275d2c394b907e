"""``Checkpointer``: save a training checkpoint at local-disk speed; the host agent makes it durable.

``save()`` writes a rank's files into the host's spool directory (shared with the shardline
agent) and hands them off by renaming a small manifest into place; it returns then. The agent
uploads the part to S3, registers it DURABLE, and commits the step COMPLETE when every rank's
part is durable. ``latest()`` only ever names a complete step; ``restore()`` checks every byte
against the sha256s recorded at upload. See ``docs/checkpoints.md`` and ``clients/python/README.md``.

Standard library only for ``save()`` and waiting; boto3 for ``latest()``, ``list()`` and
``restore()`` (the registry and S3).
"""

from __future__ import annotations

import io
import json
import os
import secrets
import shutil
import socket
import time
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Union

from .checkpoint_layout import (
    AGENT_FILE,
    HANDOFF_FILE,
    PART_FORMAT,
    check_file_name,
    check_index,
    check_job,
    rank_label,
    spool_manifest,
    spool_part_dir,
    spool_status,
    spool_step_dir,
)
from .checkpoint_restore import CorruptCheckpoint, restore_file

__all__ = ["Checkpointer", "SaveHandle", "CheckpointError", "CheckpointFailed", "CorruptCheckpoint"]

FileSource = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, io.BytesIO]

_FICLONE = 0x40049409  # Linux ioctl: share the source's blocks (XFS, btrfs), copy on write


class CheckpointError(RuntimeError):
    """A checkpoint could not be found, listed or restored."""


class CheckpointFailed(CheckpointError):
    """The agent gave up on a part: its local copy changed after ``save()``, or the registry refused it."""


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _signal_hand_off(spool_dir: str) -> None:
    """Touches the spool's ``.handoff`` file, which the agent watches: it takes the part at once
    instead of at its next scan. Best effort: the scan finds the part anyway."""
    path = os.path.join(spool_dir, HANDOFF_FILE)
    try:
        with open(path, "a"):
            pass
        os.utime(path)
    except OSError:
        pass


def _now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _read_json(path: str) -> Optional[Dict[str, Any]]:
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except (OSError, ValueError):
        return None


def _copy_file(src: str, dst: str) -> None:
    """A reflink where the filesystem has them (no bytes copied), else the kernel's copy, on one open of ``dst``.

    (Opening ``dst`` a second time with truncation would make ext4 flush it on close: ~2× slower.)
    """
    with open(src, "rb") as fs, open(dst, "wb") as fd:
        try:
            import fcntl

            fcntl.ioctl(fd.fileno(), _FICLONE, fs.fileno())
            return
        except (ImportError, OSError):
            pass
        size, done = os.fstat(fs.fileno()).st_size, 0
        copy = getattr(os, "copy_file_range", None)
        try:
            while copy is not None and done < size:
                n = copy(fs.fileno(), fd.fileno(), size - done)
                if n == 0:
                    break
                done += n
        except OSError:  # another filesystem on an old kernel, or no support: copy through user space
            pass
        fs.seek(done)
        fd.seek(done)
        shutil.copyfileobj(fs, fd, 8 << 20)


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class SaveHandle:
    """One ``save()``: where its files are on local disk, and how far the agent took them."""

    def __init__(self, checkpointer: "Checkpointer", step: int, save_id: str, path: str, nbytes: int, seconds: float) -> None:
        self._ck = checkpointer
        self.job, self.rank, self.step, self.save_id = checkpointer.job, checkpointer.rank, step, save_id
        #: The directory holding this save's files on the host.
        self.path = path
        self.bytes = nbytes
        #: How long ``save()`` blocked.
        self.save_seconds = seconds

    def __repr__(self) -> str:
        return f"SaveHandle(job={self.job!r}, step={self.step}, rank={self.rank}, save_id={self.save_id!r})"

    def status(self) -> Optional[Dict[str, Any]]:
        """The agent's status file for this save (state UPLOADING, DURABLE, COMPLETE or FAILED), or None yet."""
        status = _read_json(os.path.join(self._ck.spool_dir, spool_status(self.job, self.step, self.rank)))
        return status if status and status.get("saveId") == self.save_id else None

    def wait_durable(self, timeout: Optional[float] = None, poll_interval: float = 0.05) -> Dict[str, Any]:
        """Blocks until this rank's part is in S3 and registered DURABLE; returns the agent's status.

        Raises :class:`CheckpointFailed` if the agent gave up on it, ``TimeoutError`` after ``timeout`` seconds.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.status()
            if status:
                if status["state"] in ("DURABLE", "COMPLETE"):
                    return status
                if status["state"] == "FAILED":
                    raise CheckpointFailed(f"step {self.step} rank {self.rank}: {status.get('error', 'failed')}")
            elif not os.path.exists(os.path.join(self._ck.spool_dir, spool_step_dir(self.job, self.step))):
                # The agent already dropped the local copy (it keeps the newest few): ask the registry.
                if self._ck._registry().part_durable(self.job, self.step, self.rank, self.save_id):
                    return {"state": "DURABLE", "saveId": self.save_id}
                raise CheckpointFailed(f"step {self.step} rank {self.rank}: the local copy is gone and the registry does not hold this save")
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"step {self.step} rank {self.rank} not durable after {timeout} s (state: {status['state'] if status else 'not picked up yet'})")
            time.sleep(poll_interval)

    def wait_complete(self, timeout: Optional[float] = None, poll_interval: float = 0.25) -> None:
        """Blocks until the whole step is committed (every rank durable), with this save as this rank's part."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self.wait_durable(timeout)
        while True:
            status = self.status()
            if status and status["state"] == "COMPLETE":
                return
            part = self._ck._registry().part(self.job, self.step, self.rank)
            if part is not None:
                if part["save_id"] != self.save_id:
                    raise CheckpointFailed(f"step {self.step} completed with another save of rank {self.rank}")
                return
            if deadline is not None and time.monotonic() >= deadline:
                raise TimeoutError(f"step {self.step} not complete after {timeout} s: some rank's part is not durable yet")
            time.sleep(poll_interval)


class Checkpointer:
    """Saves this rank's checkpoint parts through the host agent; finds and restores complete steps.

    Args:
        job: the training job's name (letters, digits, ``. _ -``): its checkpoints' namespace.
        rank, world_size: default ``RANK`` / ``WORLD_SIZE`` (torchrun sets them), else 0 / 1.
        spool_dir: the host's spool directory, shared with the agent (its ``--checkpoint-dir``);
            default ``SHARDLINE_CHECKPOINT_DIR``.
        attempt: the training job's restart count; a newer attempt's save of a step replaces an
            older attempt's parts of it, so a complete step never mixes attempts. Default
            ``SHARDLINE_CHECKPOINT_ATTEMPT``, else ``TORCHELASTIC_RESTART_COUNT``, else 0.
        keep_last, keep_every: retention the agent applies after each commit (keep the newest
            ``keep_last`` complete steps and every ``keep_every``-th); default: keep everything.
        hash_on_save: also hash the files in ``save()`` (the agent then checks the upload against
            it); slower: off by default, the agent hashes while it uploads.
        fsync: flush the files to the disk before handing them off (survives a host crash
            before upload, not just a process crash); off by default.
        bucket, ledger_table, s3_endpoint_url, region: where the registry and the objects are;
            default the environment (``SHARDLINE_PROCESSED_BUCKET``, ``SHARDLINE_LEDGER_TABLE``,
            ``AWS_ENDPOINT_URL``, ``AWS_REGION``), else what the agent wrote in the spool.
    """

    def __init__(
        self,
        job: str,
        rank: Optional[int] = None,
        world_size: Optional[int] = None,
        *,
        spool_dir: Optional[str] = None,
        attempt: Optional[int] = None,
        keep_last: Optional[int] = None,
        keep_every: Optional[int] = None,
        hash_on_save: bool = False,
        fsync: bool = False,
        bucket: Optional[str] = None,
        ledger_table: Optional[str] = None,
        s3_endpoint_url: Optional[str] = None,
        region: Optional[str] = None,
    ) -> None:
        self.job = check_job(job)
        self.world_size = _env_int("WORLD_SIZE", 1) if world_size is None else int(world_size)
        self.rank = _env_int("RANK", 0) if rank is None else int(rank)
        if self.world_size < 1 or not 0 <= self.rank < self.world_size:
            raise ValueError(f"rank {self.rank} is not in a world of {self.world_size}")
        spool = spool_dir or os.environ.get("SHARDLINE_CHECKPOINT_DIR")
        if not spool:
            raise ValueError("no spool directory: pass spool_dir= or set SHARDLINE_CHECKPOINT_DIR (the agent's --checkpoint-dir, mounted here)")
        self.spool_dir = os.path.abspath(spool)
        if attempt is None:
            attempt = _env_int("SHARDLINE_CHECKPOINT_ATTEMPT", _env_int("TORCHELASTIC_RESTART_COUNT", 0))
        self.attempt = check_index("attempt", int(attempt))
        if keep_every is not None and keep_last is None:
            raise ValueError("keep_every needs keep_last (how many recent steps to keep)")
        self.retention = None if keep_last is None else {"keepLast": int(keep_last), **({"keepEvery": int(keep_every)} if keep_every else {})}
        self.hash_on_save, self.fsync = hash_on_save, fsync
        self._bucket, self._table, self._endpoint, self._region = bucket, ledger_table, s3_endpoint_url, region
        self._clients: Dict[str, Any] = {}
        #: What the last ``restore()`` did per file: path, bytes, sha256, source (local, s3, mixed), repaired parts.
        self.last_restore: List[Dict[str, Any]] = []

    # -- saving ----------------------------------------------------------------------------

    def save(self, step: int, files: Mapping[str, FileSource], metadata: Optional[Mapping[str, Any]] = None) -> SaveHandle:
        """Writes this rank's part of ``step`` to local disk and hands it to the agent; returns then.

        ``files`` maps a file name (no ``/``) to a path (copied; a reflink where the filesystem
        allows) or to bytes (``bytes``, ``bytearray``, ``memoryview``, ``io.BytesIO``). Each save
        goes to a new directory, so saving a step again never disturbs an upload in progress.
        """
        started = time.perf_counter()
        check_index("step", step)
        if not files:
            raise ValueError("save() needs at least one file")
        meta = dict(metadata or {})
        json.dumps(meta)  # refuse what cannot be stored before anything is written
        save_id = secrets.token_hex(8)
        rel_dir = spool_part_dir(self.job, step, self.rank, save_id)
        part_dir = os.path.join(self.spool_dir, rel_dir)
        os.makedirs(part_dir)
        entries: List[Dict[str, Any]] = []
        for name, source in files.items():
            dst = os.path.join(part_dir, check_file_name(name))
            entries.append({"name": name, "bytes": self._write(source, dst), **({"sha256": self._sha256(source, dst)} if self.hash_on_save else {})})
        manifest = {
            "format": PART_FORMAT,
            "job": self.job,
            "step": step,
            "rank": self.rank,
            "worldSize": self.world_size,
            "attempt": self.attempt,
            "saveId": save_id,
            "savedAt": _now_iso(),
            "files": entries,
            "metadata": meta,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            **({"retention": self.retention} if self.retention else {}),
        }
        final = os.path.join(self.spool_dir, spool_manifest(self.job, step, self.rank))
        tmp = f"{final}.{save_id}.tmp"
        with open(tmp, "w") as f:
            json.dump(manifest, f)
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        if self.fsync:
            _fsync_dir(part_dir)
        os.replace(tmp, final)  # the hand-off: the agent sees the whole manifest or none
        if self.fsync:
            _fsync_dir(os.path.dirname(final))
        _signal_hand_off(self.spool_dir)
        return SaveHandle(self, step, save_id, part_dir, sum(e["bytes"] for e in entries), time.perf_counter() - started)

    def _write(self, source: FileSource, dst: str) -> int:
        if isinstance(source, (str, os.PathLike)):
            _copy_file(os.fspath(source), dst)
            if self.fsync:
                with open(dst, "rb+") as f:
                    os.fsync(f.fileno())
            return os.path.getsize(dst)
        view = memoryview(source.getbuffer() if isinstance(source, io.BytesIO) else source).cast("B")
        with open(dst, "wb") as f:
            f.write(view)
            if self.fsync:
                f.flush()
                os.fsync(f.fileno())
        return view.nbytes

    @staticmethod
    def _sha256(source: FileSource, dst: str) -> str:
        import hashlib

        if not isinstance(source, (str, os.PathLike)):
            return hashlib.sha256(memoryview(source.getbuffer() if isinstance(source, io.BytesIO) else source).cast("B")).hexdigest()
        h = hashlib.sha256()
        with open(dst, "rb") as f:
            for block in iter(lambda: f.read(8 << 20), b""):
                h.update(block)
        return h.hexdigest()

    # -- finding and restoring -------------------------------------------------------------

    def latest(self) -> Optional[int]:
        """The newest step complete for every rank, or None. Never a step some rank's part is missing from."""
        view = self._registry().latest(self.job)
        return None if view is None else view["step"]

    def list(self) -> List[Dict[str, Any]]:
        """Every complete step, oldest first: ``{"step", "attempt", "world_size", "completed_at"}``."""
        return sorted(self._registry().complete_steps(self.job), key=lambda v: v["step"])

    def restore(self, step: Optional[int] = None, dest: Optional[str] = None, *, rank: Optional[int] = None, all_ranks: bool = False, local_copies: Optional[List[str]] = None) -> Dict[Any, Any]:
        """Restores a complete step (default: the newest) into ``dest``; every byte sha256-checked.

        Restores this rank's part (``rank=`` another), files directly in ``dest``, and returns
        ``{name: path}``; with ``all_ranks=True`` every rank's part into ``dest/rank-NNNNN/`` and
        returns ``{rank: {name: path}}``. Each part of each file is read from this host's spool
        copy when it has it right, else from S3 (and the other way round), so a corrupted copy is
        detected and read again from the other. Raises :class:`CheckpointError` if the step is
        not complete, :class:`CorruptCheckpoint` if no copy has the right bytes.
        """
        if dest is None:
            raise ValueError("restore() needs dest= (a directory)")
        registry = self._registry()
        if step is None:
            step = self.latest()
            if step is None:
                raise CheckpointError(f"job {self.job} has no complete checkpoint")
        world = registry.world_size(self.job, step)
        if world is None:
            raise CheckpointError(f"job {self.job} has no step {step}")
        ranks = list(range(world)) if all_ranks else [self.rank if rank is None else rank]
        results: Dict[Any, Any] = {}
        self.last_restore = []
        for r in ranks:
            part = registry.part(self.job, step, r)
            if part is None:
                raise CheckpointError(f"step {step} of job {self.job} is not complete (or has no rank {r}): it cannot be restored")
            results[r] = self._restore_part(step, part, os.path.join(dest, rank_label(r)) if all_ranks else dest, local_copies)
        return results if all_ranks else results[ranks[0]]

    def _restore_part(self, step: int, part: Dict[str, Any], dest: str, local_copies: Optional[List[str]]) -> Dict[str, str]:
        from .checkpoint_registry import read_manifest

        s3, bucket = self._s3(), self._resolve("bucket")
        manifest = read_manifest(s3, bucket, part["manifest_key"], part["manifest_sha256"])
        os.makedirs(dest, exist_ok=True)
        spools = [self.spool_dir, *(local_copies or [])]
        paths: Dict[str, str] = {}
        for f in manifest["files"]:
            local = next((p for p in (os.path.join(s, spool_part_dir(self.job, step, part["rank"], part["save_id"]), f["name"]) for s in spools) if os.path.isfile(p)), None)
            result = restore_file(f, os.path.join(dest, f["name"]), local, s3, bucket)
            self.last_restore.append({"rank": part["rank"], **result})
            paths[f["name"]] = result["path"]
        return paths

    # -- where things are ------------------------------------------------------------------

    def _agent_info(self) -> Dict[str, Any]:
        return _read_json(os.path.join(self.spool_dir, AGENT_FILE)) or {}

    def _resolve(self, what: str) -> Optional[str]:
        explicit = {"bucket": self._bucket, "table": self._table, "endpoint": self._endpoint, "region": self._region}[what]
        if explicit:
            return explicit
        env = {
            "bucket": os.environ.get("SHARDLINE_PROCESSED_BUCKET"),
            "table": os.environ.get("SHARDLINE_LEDGER_TABLE"),
            "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
            "region": os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        }[what]
        if env:
            return env
        agent = self._agent_info()
        return {"bucket": agent.get("bucket"), "table": agent.get("ledgerTable"), "endpoint": agent.get("endpoint"), "region": agent.get("region")}[what]

    def _client(self, service: str) -> Any:
        if service not in self._clients:
            try:
                import boto3
                from botocore.config import Config
            except ImportError as err:
                raise CheckpointError("latest(), list() and restore() need boto3 (pip install boto3)") from err
            endpoint = self._resolve("endpoint")
            config = Config(retries={"max_attempts": 5, "mode": "standard"}, max_pool_connections=16, **({"s3": {"addressing_style": "path"}} if endpoint and service == "s3" else {}))
            self._clients[service] = boto3.session.Session().client(service, endpoint_url=endpoint, region_name=self._resolve("region") or "us-east-1", config=config)
        return self._clients[service]

    def _s3(self) -> Any:
        if not self._resolve("bucket"):
            raise CheckpointError("no bucket: pass bucket=, set SHARDLINE_PROCESSED_BUCKET, or run an agent with --checkpoint-dir on this spool")
        return self._client("s3")

    def _registry(self) -> Any:
        """The registry in DynamoDB when the table is known, else the markers in S3."""
        from .checkpoint_registry import DynamoRegistry, S3MarkerRegistry

        if "registry" not in self._clients:
            table = self._resolve("table")
            self._clients["registry"] = DynamoRegistry(self._client("dynamodb"), table) if table else S3MarkerRegistry(self._s3(), self._resolve("bucket"))
        return self._clients["registry"]
