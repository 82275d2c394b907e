"""Checkpointer.latest / list / restore through a real S3 and DynamoDB endpoint (moto's server).

What the agent does is done here by ``agent_pass`` in the agent's formats (docs/checkpoints.md);
the agent itself (TypeScript) with this client is tested end to end in test/e2e/checkpoints.test.ts.
Skipped when moto or boto3 is not installed here.
"""

import hashlib
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
from os.path import abspath, dirname
from unittest import mock

sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from shardline.checkpoint import CheckpointError, Checkpointer, CorruptCheckpoint  # noqa: E402

try:
    import boto3
    import moto.server  # noqa: F401
except ImportError as err:  # pragma: no cover
    raise unittest.SkipTest(f"checkpoint S3 tests need boto3 and moto in this interpreter ({sys.executable}): {err}")

ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
BUCKET, TABLE = "processed", "ledger"
PART = 5 << 20


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Moto:
    server = None


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
    Moto.s3 = boto3.client("s3", endpoint_url=Moto.endpoint)
    Moto.s3.create_bucket(Bucket=BUCKET)
    Moto.ddb = boto3.client("dynamodb", endpoint_url=Moto.endpoint)
    Moto.ddb.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )


def tearDownModule():
    if Moto.server is not None:
        Moto.server.terminate()
        Moto.server.wait(10)
    Moto.env.stop()


def agent_pass(spool: str, commit: bool = True) -> None:
    """What the agent does for every part handed off in ``spool``: upload, register, commit when all ranks are there, mark."""
    s3, ddb = Moto.s3, Moto.ddb
    for root, _dirs, names in os.walk(spool):
        for name in names:
            if not name.endswith(".part.json"):
                continue
            with open(os.path.join(root, name)) as f:
                m = json.load(f)
            job, step, rank, sid = m["job"], m["step"], m["rank"], m["saveId"]
            label, rl = f"{step:012d}", f"rank-{rank:05d}"
            files = []
            for entry in m["files"]:
                with open(os.path.join(root, f"{rl}-{sid}", entry["name"]), "rb") as f:
                    data = f.read()
                key = f"checkpoints/{job}/{label}/{rl}-{sid}/{entry['name']}"
                s3.put_object(Bucket=BUCKET, Key=key, Body=data)
                parts = [hashlib.sha256(data[i : i + PART]).hexdigest() for i in range(0, max(len(data), 1), PART)]
                files.append({"name": entry["name"], "key": key, "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest(), "partSize": PART, "parts": parts})
            durable = {"format": "shardline.checkpoint-durable/v1", **{k: m[k] for k in ("job", "step", "rank", "worldSize", "attempt", "saveId", "savedAt", "metadata")}, "bucket": BUCKET, "files": files}
            body = json.dumps(durable).encode()
            mkey = f"checkpoints/{job}/{label}/{rl}-{sid}.json"
            s3.put_object(Bucket=BUCKET, Key=mkey, Body=body)
            pk = {"S": f"CKPT#{job}"}
            ddb.put_item(
                TableName=TABLE,
                Item={
                    "pk": pk,
                    "sk": {"S": f"PART#{label}#RANK#{rank:05d}"},
                    "state": {"S": "DURABLE"},
                    "saveId": {"S": sid},
                    "attempt": {"N": str(m["attempt"])},
                    "manifestKey": {"S": mkey},
                    "manifestSha256": {"S": hashlib.sha256(body).hexdigest()},
                    "bytes": {"N": str(sum(f["bytes"] for f in files))},
                },
            )
            ddb.update_item(
                TableName=TABLE,
                Key={"pk": pk, "sk": {"S": f"STEP#{label}"}},
                UpdateExpression="SET worldSize = :w, attempt = :a, #s = if_not_exists(#s, :p), step = :step ADD ranks :r",
                ExpressionAttributeNames={"#s": "state"},
                ExpressionAttributeValues={":w": {"N": str(m["worldSize"])}, ":a": {"N": str(m["attempt"])}, ":p": {"S": "PENDING"}, ":step": {"N": str(step)}, ":r": {"NS": [str(rank)]}},
            )
            with open(os.path.join(root, f"{rl}.status.json"), "w") as f:
                json.dump({"state": "DURABLE", "saveId": sid, "durable": durable}, f)
            item = ddb.get_item(TableName=TABLE, Key={"pk": pk, "sk": {"S": f"STEP#{label}"}}, ConsistentRead=True)["Item"]
            if commit and len(item["ranks"]["NS"]) == m["worldSize"] and item["state"]["S"] == "PENDING":
                ddb.update_item(TableName=TABLE, Key={"pk": pk, "sk": {"S": f"STEP#{label}"}}, UpdateExpression="SET #s = :c", ExpressionAttributeNames={"#s": "state"}, ExpressionAttributeValues={":c": {"S": "COMPLETE"}})
                ddb.put_item(
                    TableName=TABLE,
                    Item={"pk": pk, "sk": {"S": f"COMPLETE#{label}"}, "step": {"N": str(step)}, "attempt": {"N": str(m["attempt"])}, "worldSize": {"N": str(m["worldSize"])}, "completedAt": {"N": str(int(time.time() * 1000))}},
                )
                parts = ddb.query(TableName=TABLE, KeyConditionExpression="pk = :pk AND begins_with(sk, :p)", ExpressionAttributeValues={":pk": pk, ":p": {"S": f"PART#{label}#"}})["Items"]
                marker = {
                    "format": "shardline.checkpoint-complete/v1",
                    "job": job,
                    "step": step,
                    "attempt": m["attempt"],
                    "worldSize": m["worldSize"],
                    "completedAt": "2026-01-01T00:00:00.000Z",
                    "parts": [{"rank": int(p["sk"]["S"][-5:]), "saveId": p["saveId"]["S"], "manifestKey": p["manifestKey"]["S"], "manifestSha256": p["manifestSha256"]["S"]} for p in parts],
                }
                s3.put_object(Bucket=BUCKET, Key=f"checkpoints/{job}/{label}/_COMPLETE.json", Body=json.dumps(marker).encode())


class CheckpointS3Tests(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="shardline-ckpt-")
        self.addCleanup(shutil.rmtree, self.tmp, True)
        self.spool = os.path.join(self.tmp, "spool")

    def ck(self, job, rank=0, world_size=2, spool=None, **kw):
        return Checkpointer(job, rank=rank, world_size=world_size, spool_dir=spool or self.spool, bucket=BUCKET, s3_endpoint_url=Moto.endpoint, **{"ledger_table": TABLE, **kw})

    def save_steps(self, job, steps, world_size=2, size=12 << 20, skip=()):
        data = {}
        for step in steps:
            for rank in range(world_size):
                if (step, rank) in skip:
                    continue
                data[(step, rank)] = os.urandom(size) if rank == 0 else os.urandom(1000)
                self.ck(job, rank, world_size).save(step, {"model.pt": data[(step, rank)], "meta.json": json.dumps({"step": step}).encode()})
        agent_pass(self.spool)
        return data

    def test_latest_is_the_newest_step_every_rank_completed(self):
        self.save_steps("lat", [100, 200, 300], skip={(300, 1)})
        self.assertEqual(self.ck("lat").latest(), 200)
        self.assertEqual([v["step"] for v in self.ck("lat").list()], [100, 200])
        self.assertIsNone(self.ck("nothing-yet").latest())

    def test_latest_from_the_s3_markers_when_the_table_is_not_known(self):
        self.save_steps("markers", [1, 2], skip={(2, 0)}, size=1000)
        ck = self.ck("markers", ledger_table=None)
        with mock.patch.dict(os.environ, {"SHARDLINE_LEDGER_TABLE": ""}):
            self.assertEqual(ck.latest(), 1)
            self.assertEqual([v["step"] for v in ck.list()], [1])

    def test_restore_on_another_host_gives_identical_bytes_read_from_s3(self):
        data = self.save_steps("rest", [10, 20])
        elsewhere = self.ck("rest", rank=0, spool=os.path.join(self.tmp, "other-host"))
        paths = elsewhere.restore(dest=os.path.join(self.tmp, "out"))
        with open(paths["model.pt"], "rb") as f:
            self.assertEqual(f.read(), data[(20, 0)])
        self.assertEqual({r["source"] for r in elsewhere.last_restore}, {"s3"})
        every = elsewhere.restore(10, dest=os.path.join(self.tmp, "all"), all_ranks=True)
        for rank in (0, 1):
            with open(every[rank]["model.pt"], "rb") as f:
                self.assertEqual(f.read(), data[(10, rank)])

    def test_a_corrupted_local_part_is_detected_and_read_from_s3(self):
        data = self.save_steps("corrupt", [1])
        ck = self.ck("corrupt")
        ck.restore(dest=os.path.join(self.tmp, "first"))
        local = os.path.join(self.spool, "corrupt", "000000000001")
        path = next(os.path.join(local, d, "model.pt") for d in os.listdir(local) if d.startswith("rank-00000-"))
        self.assertEqual({r["source"] for r in ck.last_restore}, {"local"})
        with open(path, "r+b") as f:
            f.seek(7 << 20)  # the second 5 MiB part
            f.write(b"\xff\xfe")
        paths = ck.restore(dest=os.path.join(self.tmp, "fixed"))
        with open(paths["model.pt"], "rb") as f:
            self.assertEqual(f.read(), data[(1, 0)])
        model = next(r for r in ck.last_restore if r["name"] == "model.pt")
        self.assertEqual((model["source"], model["repaired_parts"]), ("mixed", 1))

    def test_a_corrupted_s3_object_is_served_from_the_local_copy_and_no_good_copy_fails(self):
        data = self.save_steps("s3bad", [1], size=3000)
        ck = self.ck("s3bad")
        listed = Moto.s3.list_objects_v2(Bucket=BUCKET, Prefix="checkpoints/s3bad/000000000001/rank-00000-")["Contents"]
        key = next(o["Key"] for o in listed if o["Key"].endswith("/model.pt"))
        Moto.s3.put_object(Bucket=BUCKET, Key=key, Body=b"x" * 3000)
        paths = ck.restore(dest=os.path.join(self.tmp, "a"))
        with open(paths["model.pt"], "rb") as f:
            self.assertEqual(f.read(), data[(1, 0)])
        elsewhere = self.ck("s3bad", spool=os.path.join(self.tmp, "no-copy"))
        with self.assertRaises(CorruptCheckpoint):
            elsewhere.restore(dest=os.path.join(self.tmp, "b"))
        self.assertFalse(os.path.exists(os.path.join(self.tmp, "b", "model.pt")))

    def test_an_incomplete_step_cannot_be_restored(self):
        self.save_steps("inc", [5], skip={(5, 1)}, size=1000)
        with self.assertRaisesRegex(CheckpointError, "not complete"):
            self.ck("inc").restore(5, dest=os.path.join(self.tmp, "x"))
        with self.assertRaisesRegex(CheckpointError, "no complete checkpoint"):
            self.ck("inc").restore(dest=os.path.join(self.tmp, "x"))

    def test_wait_complete_asks_the_registry_when_another_host_committed(self):
        ck0 = self.ck("wc", rank=0)
        h = ck0.save(1, {"w": b"0"})
        self.ck("wc", rank=1).save(1, {"w": b"1"})
        agent_pass(self.spool)  # rank 0's status stays DURABLE: the commit came with rank 1
        self.assertEqual(h.status()["state"], "DURABLE")
        h.wait_complete(timeout=5)

    def test_bucket_table_and_endpoint_come_from_the_agents_file_in_the_spool(self):
        os.makedirs(self.spool, exist_ok=True)
        with open(os.path.join(self.spool, "agent.json"), "w") as f:
            json.dump({"bucket": BUCKET, "ledgerTable": TABLE, "endpoint": Moto.endpoint, "region": "us-east-1"}, f)
        self.save_steps("discover", [3], size=1000)
        with mock.patch.dict(os.environ, {"SHARDLINE_PROCESSED_BUCKET": "", "SHARDLINE_LEDGER_TABLE": "", "AWS_ENDPOINT_URL": ""}):
            self.assertEqual(Checkpointer("discover", rank=0, world_size=2, spool_dir=self.spool).latest(), 3)


if __name__ == "__main__":
    unittest.main()
