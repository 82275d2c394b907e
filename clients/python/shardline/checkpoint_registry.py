"""Where a training process learns which checkpoints are complete.

Two sources, chosen by :class:`shardline.checkpoint.Checkpointer`:

- :class:`DynamoRegistry` — the registry itself (the ledger table, through boto3): the commit
  there is what makes a step complete, so this is the authoritative answer, one query for
  ``latest()``.
- :class:`S3MarkerRegistry` — only the processed bucket: a step counts once its
  ``_COMPLETE.json`` exists, which the agent writes after the commit (so it can lag the registry
  by a moment, never lead it). For jobs that are not given the table.

Both need boto3; neither is imported before it is used.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from .checkpoint_layout import (
    REGISTRY_COMPLETE_PREFIX,
    registry_part_sk,
    registry_pk,
    registry_step_sk,
    s3_complete_key,
    s3_job_prefix,
)


def _complete_view(step: int, attempt: int, world_size: int, completed_at: Any) -> Dict[str, Any]:
    return {"step": step, "attempt": attempt, "world_size": world_size, "completed_at": completed_at}


class DynamoRegistry:
    """Reads the checkpoint registry items in the ledger table (``pk = CKPT#<job>``)."""

    def __init__(self, client: Any, table: str) -> None:
        from boto3.dynamodb.types import TypeDeserializer

        self.client, self.table, self._des = client, table, TypeDeserializer()

    def _plain(self, item: Optional[Dict[str, Any]]) -> Optional[Dict[str, Any]]:
        return None if item is None else {k: self._des.deserialize(v) for k, v in item.items()}

    def _query(self, job: str, prefix: str, newest_first: bool = False, limit: Optional[int] = None) -> List[Dict[str, Any]]:
        items: List[Dict[str, Any]] = []
        kwargs: Dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": {":pk": {"S": registry_pk(job)}, ":prefix": {"S": prefix}},
            "ConsistentRead": True,
            "ScanIndexForward": not newest_first,
        }
        if limit:
            kwargs["Limit"] = limit
        while True:
            page = self.client.query(**kwargs)
            items.extend(self._plain(i) for i in page.get("Items", []))
            if limit or "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _get(self, job: str, sk: str) -> Optional[Dict[str, Any]]:
        out = self.client.get_item(TableName=self.table, Key={"pk": {"S": registry_pk(job)}, "sk": {"S": sk}}, ConsistentRead=True)
        return self._plain(out.get("Item"))

    def latest(self, job: str) -> Optional[Dict[str, Any]]:
        items = self._query(job, REGISTRY_COMPLETE_PREFIX, newest_first=True, limit=1)
        return self._view(items[0]) if items else None

    def complete_steps(self, job: str) -> List[Dict[str, Any]]:
        return [self._view(i) for i in self._query(job, REGISTRY_COMPLETE_PREFIX)]

    @staticmethod
    def _view(item: Dict[str, Any]) -> Dict[str, Any]:
        at = item.get("completedAt")
        iso = datetime.fromtimestamp(int(at) / 1000, tz=timezone.utc).isoformat().replace("+00:00", "Z") if at is not None else None
        return _complete_view(int(item["step"]), int(item["attempt"]), int(item["worldSize"]), iso)

    def part(self, job: str, step: int, rank: int) -> Optional[Dict[str, Any]]:
        """The durable part of ``rank`` counted by the complete step ``step``, or None if the step is not complete."""
        step_item = self._get(job, registry_step_sk(step))
        if not step_item or step_item.get("state") != "COMPLETE":
            return None
        item = self._get(job, registry_part_sk(step, rank))
        if not item or item.get("state") != "DURABLE" or int(item["attempt"]) != int(step_item["attempt"]):
            return None
        return {"rank": rank, "save_id": item["saveId"], "manifest_key": item["manifestKey"], "manifest_sha256": item["manifestSha256"], "world_size": int(step_item["worldSize"])}

    def part_durable(self, job: str, step: int, rank: int, save_id: str) -> bool:
        item = self._get(job, registry_part_sk(step, rank))
        return bool(item) and item.get("state") == "DURABLE" and item.get("saveId") == save_id

    def world_size(self, job: str, step: int) -> Optional[int]:
        item = self._get(job, registry_step_sk(step))
        return int(item["worldSize"]) if item else None


class S3MarkerRegistry:
    """Reads ``checkpoints/<job>/<step>/_COMPLETE.json`` markers from the processed bucket."""

    def __init__(self, s3: Any, bucket: str) -> None:
        self.s3, self.bucket = s3, bucket

    def _steps(self, job: str) -> List[int]:
        steps: List[int] = []
        kwargs: Dict[str, Any] = {"Bucket": self.bucket, "Prefix": s3_job_prefix(job), "Delimiter": "/"}
        while True:
            page = self.s3.list_objects_v2(**kwargs)
            for p in page.get("CommonPrefixes", []):
                label = p["Prefix"][len(kwargs["Prefix"]) :].rstrip("/")
                if label.isdigit():
                    steps.append(int(label))
            if not page.get("IsTruncated"):
                return sorted(steps)
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def marker(self, job: str, step: int) -> Optional[Dict[str, Any]]:
        try:
            response = self.s3.get_object(Bucket=self.bucket, Key=s3_complete_key(job, step))
        except Exception as err:  # botocore's NoSuchKey, without importing botocore here
            if getattr(err, "response", {}).get("Error", {}).get("Code") in ("NoSuchKey", "404", "NotFound"):
                return None
            raise
        with response["Body"] as body:
            return json.loads(body.read())

    def latest(self, job: str) -> Optional[Dict[str, Any]]:
        for step in reversed(self._steps(job)):
            m = self.marker(job, step)
            if m is not None:
                return _complete_view(m["step"], m["attempt"], m["worldSize"], m.get("completedAt"))
        return None

    def complete_steps(self, job: str) -> List[Dict[str, Any]]:
        views = []
        for step in self._steps(job):
            m = self.marker(job, step)
            if m is not None:
                views.append(_complete_view(m["step"], m["attempt"], m["worldSize"], m.get("completedAt")))
        return views

    def part(self, job: str, step: int, rank: int) -> Optional[Dict[str, Any]]:
        m = self.marker(job, step)
        if m is None:
            return None
        for p in m["parts"]:
            if p["rank"] == rank:
                return {"rank": rank, "save_id": p["saveId"], "manifest_key": p["manifestKey"], "manifest_sha256": p["manifestSha256"], "world_size": m["worldSize"]}
        return None

    def part_durable(self, job: str, step: int, rank: int, save_id: str) -> bool:
        from .checkpoint_layout import rank_label, s3_step_prefix

        try:
            self.s3.head_object(Bucket=self.bucket, Key=f"{s3_step_prefix(job, step)}{rank_label(rank)}-{save_id}.json")
            return True
        except Exception:
            return False

    def world_size(self, job: str, step: int) -> Optional[int]:
        m = self.marker(job, step)
        return m["worldSize"] if m else None


def read_manifest(s3: Any, bucket: str, key: str, sha256: Optional[str]) -> Dict[str, Any]:
    """A durable part manifest, checked against the sha256 the registry holds for it."""
    from .checkpoint_restore import CorruptCheckpoint

    response = s3.get_object(Bucket=bucket, Key=key)
    with response["Body"] as body:
        data = body.read()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise CorruptCheckpoint(f"s3://{bucket}/{key}: sha256 differs from the registry's")
    return json.loads(data)
