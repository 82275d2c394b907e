"""Names of checkpoints: S3 keys, registry items and spool paths.

The same names as ``lib/checkpoint/layout.ts`` (the agent's side); ``docs/checkpoints.md`` is the
reference for both. Standard library only.
"""

from __future__ import annotations

import re

CHECKPOINTS_PREFIX = "checkpoints/"
PART_FORMAT = "shardline.checkpoint-part/v1"
DURABLE_FORMAT = "shardline.checkpoint-durable/v1"
COMPLETE_FORMAT = "shardline.checkpoint-complete/v1"
AGENT_FILE = "agent.json"
# Touched by save() after each hand-off: the agent watches it and picks the part up at once.
HANDOFF_FILE = ".handoff"

_JOB = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_FILE = re.compile(r"^[A-Za-z0-9._-]{1,255}$")


def check_job(job: str) -> str:
    if not isinstance(job, str) or not _JOB.match(job):
        raise ValueError(f"invalid checkpoint job name {job!r}: use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit")
    return job


def check_file_name(name: str) -> str:
    if not isinstance(name, str) or not _FILE.match(name) or name in (".", ".."):
        raise ValueError(f"invalid checkpoint file name {name!r}: use letters, digits, '.', '_' or '-' (no '/')")
    return name


def check_index(what: str, n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"invalid {what} {n!r}: a non-negative integer")
    return n


def step_label(step: int) -> str:
    return f"{step:012d}"


def rank_label(rank: int) -> str:
    return f"rank-{rank:05d}"


# S3 keys (processed bucket)
def s3_job_prefix(job: str) -> str:
    return f"{CHECKPOINTS_PREFIX}{job}/"


def s3_step_prefix(job: str, step: int) -> str:
    return f"{s3_job_prefix(job)}{step_label(step)}/"


def s3_complete_key(job: str, step: int) -> str:
    return f"{s3_step_prefix(job, step)}_COMPLETE.json"


# Registry items (ledger table)
def registry_pk(job: str) -> str:
    return f"CKPT#{job}"


def registry_step_sk(step: int) -> str:
    return f"STEP#{step_label(step)}"


def registry_part_sk(step: int, rank: int) -> str:
    return f"PART#{step_label(step)}#RANK#{rank:05d}"


REGISTRY_COMPLETE_PREFIX = "COMPLETE#"


# Spool paths (relative to the spool directory)
def spool_step_dir(job: str, step: int) -> str:
    return f"{job}/{step_label(step)}"


def spool_part_dir(job: str, step: int, rank: int, save_id: str) -> str:
    return f"{spool_step_dir(job, step)}/{rank_label(rank)}-{save_id}"


def spool_manifest(job: str, step: int, rank: int) -> str:
    return f"{spool_step_dir(job, step)}/{rank_label(rank)}.part.json"


def spool_status(job: str, step: int, rank: int) -> str:
    return f"{spool_step_dir(job, step)}/{rank_label(rank)}.status.json"
