"""Checkpointer.save() and the hand-off to the agent through the spool (standard library only)."""

import io
import json
import os
import shutil
import sys
import tempfile
import threading
import time
import unittest
from os.path import abspath, dirname
from unittest import mock

sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from shardline import checkpoint as checkpoint_module  # noqa: E402
from shardline.checkpoint import CheckpointFailed, Checkpointer  # noqa: E402


def write_status(spool, job, step, rank, **status):
    path = os.path.join(spool, job, f"{step:012d}", f"rank-{rank:05d}.status.json")
    with open(path + ".tmp", "w") as f:
        json.dump(status, f)
    os.replace(path + ".tmp", path)


class SpoolTestCase(unittest.TestCase):
    def setUp(self):
        self.spool = tempfile.mkdtemp(prefix="shardline-spool-")
        self.addCleanup(shutil.rmtree, self.spool, True)

    def manifest(self, job, step, rank):
        with open(os.path.join(self.spool, job, f"{step:012d}", f"rank-{rank:05d}.part.json")) as f:
            return json.load(f)


class SaveTests(SpoolTestCase):
    def test_writes_the_files_and_then_the_manifest_into_the_spool(self):
        src = os.path.join(self.spool, "model-src.pt")
        with open(src, "wb") as f:
            f.write(os.urandom(300_000))
        ck = Checkpointer("llm-7b", rank=1, world_size=4, spool_dir=self.spool)
        h = ck.save(1000, {"model.pt": src, "optim.pt": b"\x00" * 10, "rng.bin": io.BytesIO(b"rng"), "extra": bytearray(b"xy")}, metadata={"loss": 1.5})
        m = self.manifest("llm-7b", 1000, 1)
        self.assertEqual((m["format"], m["job"], m["step"], m["rank"], m["worldSize"], m["attempt"], m["saveId"]), ("shardline.checkpoint-part/v1", "llm-7b", 1000, 1, 4, 0, h.save_id))
        self.assertEqual([(f["name"], f["bytes"]) for f in m["files"]], [("model.pt", 300_000), ("optim.pt", 10), ("rng.bin", 3), ("extra", 2)])
        self.assertEqual(m["metadata"], {"loss": 1.5})
        self.assertNotIn("sha256", m["files"][0])
        with open(src, "rb") as a, open(os.path.join(h.path, "model.pt"), "rb") as b:
            self.assertEqual(a.read(), b.read())
        self.assertEqual(h.path, os.path.join(self.spool, "llm-7b", "000000001000", f"rank-00001-{h.save_id}"))
        self.assertEqual(h.bytes, 300_015)
        self.assertEqual([n for n in os.listdir(os.path.dirname(h.path)) if n.endswith(".tmp")], [])

    def test_the_manifest_is_renamed_into_place_only_after_every_file_is_whole(self):
        seen = {}
        real_replace = os.replace

        def replace(src, dst):
            if dst.endswith(".part.json"):
                seen["files"] = sorted((n, os.path.getsize(os.path.join(part, n))) for part in [os.path.join(os.path.dirname(dst), d) for d in os.listdir(os.path.dirname(dst)) if os.path.isdir(os.path.join(os.path.dirname(dst), d))] for n in os.listdir(part))
                seen["manifest_before"] = os.path.exists(dst)
            return real_replace(src, dst)

        with mock.patch.object(checkpoint_module.os, "replace", side_effect=replace):
            Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool).save(5, {"a": b"1" * 1000, "b": b"2" * 7})
        self.assertEqual(seen, {"files": [("a", 1000), ("b", 7)], "manifest_before": False})

    def test_signals_the_agent_after_the_manifest_is_in_place(self):
        handoff = os.path.join(self.spool, ".handoff")
        seen = {}
        real_utime = os.utime

        def utime(path, *args, **kwargs):
            if path == handoff:
                seen["manifest"] = os.path.exists(os.path.join(self.spool, "job", f"{5:012d}", "rank-00000.part.json"))
            return real_utime(path, *args, **kwargs)

        with mock.patch.object(checkpoint_module.os, "utime", side_effect=utime):
            Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool).save(5, {"a": b"1"})
        self.assertEqual(seen, {"manifest": True})
        self.assertTrue(os.path.isfile(handoff))

    def test_saving_a_step_again_writes_a_new_directory_and_leaves_the_earlier_save_alone(self):
        ck = Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool)
        first = ck.save(5, {"w": b"first"})
        second = ck.save(5, {"w": b"second"})
        self.assertNotEqual(first.path, second.path)
        with open(os.path.join(first.path, "w"), "rb") as f:
            self.assertEqual(f.read(), b"first")
        self.assertEqual(self.manifest("job", 5, 0)["saveId"], second.save_id)

    def test_hash_on_save_records_each_files_sha256(self):
        import hashlib

        m_src = os.path.join(self.spool, "src")
        with open(m_src, "wb") as f:
            f.write(b"abc" * 1000)
        Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool, hash_on_save=True, fsync=True).save(1, {"m": m_src, "b": b"xyz"})
        files = self.manifest("job", 1, 0)["files"]
        self.assertEqual([f["sha256"] for f in files], [hashlib.sha256(b"abc" * 1000).hexdigest(), hashlib.sha256(b"xyz").hexdigest()])

    def test_rank_world_size_and_attempt_default_from_the_environment(self):
        env = {"RANK": "3", "WORLD_SIZE": "8", "TORCHELASTIC_RESTART_COUNT": "2", "SHARDLINE_CHECKPOINT_DIR": self.spool}
        with mock.patch.dict(os.environ, env):
            ck = Checkpointer("job")
        self.assertEqual((ck.rank, ck.world_size, ck.attempt, ck.spool_dir), (3, 8, 2, os.path.abspath(self.spool)))
        with mock.patch.dict(os.environ, {**env, "SHARDLINE_CHECKPOINT_ATTEMPT": "5"}):
            self.assertEqual(Checkpointer("job").attempt, 5)

    def test_retention_goes_to_the_agent_in_the_manifest(self):
        Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool, keep_last=3, keep_every=1000).save(1, {"w": b"1"})
        self.assertEqual(self.manifest("job", 1, 0)["retention"], {"keepLast": 3, "keepEvery": 1000})

    def test_refuses_bad_names_steps_ranks_and_metadata_before_writing_anything(self):
        ck = Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool)
        for bad in [lambda: ck.save(1, {"a/b": b"x"}), lambda: ck.save(-1, {"a": b"x"}), lambda: ck.save(1, {}), lambda: ck.save(1, {"a": b"x"}, metadata={"f": object()})]:
            with self.assertRaises((ValueError, TypeError)):
                bad()
        self.assertFalse(os.path.exists(os.path.join(self.spool, "job", "000000000001", "rank-00000.part.json")))
        with self.assertRaises(ValueError):
            Checkpointer("job", rank=2, world_size=2, spool_dir=self.spool)
        with self.assertRaises(ValueError):
            Checkpointer("bad/job", spool_dir=self.spool)
        with mock.patch.dict(os.environ, {}, clear=True), self.assertRaisesRegex(ValueError, "SHARDLINE_CHECKPOINT_DIR"):
            Checkpointer("job")

    def test_save_of_a_file_blocks_about_as_long_as_copying_it(self):
        src = os.path.join(self.spool, "big")
        with open(src, "wb") as f:
            f.write(os.urandom(32 << 20))
        started = time.perf_counter()
        shutil.copyfile(src, src + ".copy")
        copy = time.perf_counter() - started
        h = Checkpointer("job", rank=0, world_size=1, spool_dir=self.spool).save(1, {"big": src})
        self.assertLess(h.save_seconds, max(0.25, 4 * copy))  # generous: a shared 2-core machine


class WaitTests(SpoolTestCase):
    def setUp(self):
        super().setUp()
        self.ck = Checkpointer("job", rank=0, world_size=2, spool_dir=self.spool)
        self.h = self.ck.save(7, {"w": b"weights"})

    def test_wait_durable_returns_when_the_agent_says_this_save_is_durable(self):
        def agent():
            time.sleep(0.1)
            write_status(self.spool, "job", 7, 0, state="UPLOADING", saveId=self.h.save_id)
            time.sleep(0.1)
            write_status(self.spool, "job", 7, 0, state="DURABLE", saveId=self.h.save_id, durable={"bytes": 7})

        t = threading.Thread(target=agent)
        t.start()
        status = self.h.wait_durable(timeout=5)
        t.join()
        self.assertEqual(status["state"], "DURABLE")

    def test_a_status_of_another_save_is_not_this_ones(self):
        write_status(self.spool, "job", 7, 0, state="DURABLE", saveId="0123456789abcdef")
        self.assertIsNone(self.h.status())
        with self.assertRaises(TimeoutError):
            self.h.wait_durable(timeout=0.2)

    def test_wait_durable_raises_when_the_agent_gave_up(self):
        write_status(self.spool, "job", 7, 0, state="FAILED", saveId=self.h.save_id, error="w has 3 bytes, the part manifest says 7")
        with self.assertRaisesRegex(CheckpointFailed, "3 bytes"):
            self.h.wait_durable(timeout=1)

    def test_wait_complete_returns_once_the_agent_reports_the_step_complete(self):
        write_status(self.spool, "job", 7, 0, state="COMPLETE", saveId=self.h.save_id)
        self.h.wait_complete(timeout=1)


if __name__ == "__main__":
    unittest.main()
