"""The epoch order: deterministic, a function of (index identity, seed, epoch) only, bounded."""

import sys
import unittest
from collections import Counter
from os.path import abspath, dirname

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from shardline.shuffle import EpochOrder, permutation  # noqa: E402
from shardline.spans import SpanSeq, subtract  # noqa: E402

SIZES = [30, 0, 100, 7, 64]


def epoch(seed=0, n=0, shuffle=True, identity="train\x001", window=16):
    order = EpochOrder(SIZES, identity, seed, n, shuffle, window)
    return [order.locate(p) for p in range(order.total)]


class PermutationTests(unittest.TestCase):
    def test_is_a_permutation_and_deterministic(self):
        for n in (0, 1, 2, 10, 1000):
            p = permutation("x", n)
            self.assertEqual(sorted(p), list(range(n)))
            self.assertEqual(p, permutation("x", n))

    def test_is_pinned_so_other_languages_can_reproduce_it(self):
        # Keys: little-endian uint32s of SHAKE-256(material); positions sorted by key (Node agrees:
        # crypto.createHash('shake256', {outputLength: 32}).update('shardline') gives the same).
        self.assertEqual(permutation("shardline", 8), [7, 4, 0, 1, 3, 6, 5, 2])

    def test_depends_on_the_material(self):
        self.assertNotEqual(permutation("a", 50), permutation("b", 50))


class EpochOrderTests(unittest.TestCase):
    def test_every_record_exactly_once(self):
        for seed in (0, 3):
            for n in (0, 1, 2):
                self.assertEqual(Counter(epoch(seed, n)), Counter((o, i) for o, k in enumerate(SIZES) for i in range(k)))

    def test_a_function_of_identity_seed_and_epoch(self):
        self.assertEqual(epoch(1, 2), epoch(1, 2))
        self.assertNotEqual(epoch(1, 2), epoch(1, 3), "set_epoch reshuffles")
        self.assertNotEqual(epoch(1, 2), epoch(2, 2))
        self.assertNotEqual(epoch(1, 2), epoch(1, 2, identity="train\x002"))

    def test_shuffle_off_is_index_order(self):
        self.assertEqual(epoch(shuffle=False), [(o, i) for o, k in enumerate(SIZES) for i in range(k)])

    def test_records_move_only_within_their_window(self):
        order = EpochOrder(SIZES, "t", 5, 1, True, 16)
        for slot, ordinal in enumerate(order.order):
            for offset in range(SIZES[ordinal]):
                _, line = order.locate(order.starts[slot] + offset)
                self.assertEqual(line // 16, offset // 16)

    def test_segments_cover_a_range_shard_by_shard(self):
        order = EpochOrder(SIZES, "t", 0, 0, True)
        segs = list(order.segments(10, 150))
        self.assertEqual(sum(e - f for _, f, e in segs), 140)
        self.assertTrue(all(SIZES[o] > 0 for o, _, _ in segs))


class SpanTests(unittest.TestCase):
    def test_take_and_split(self):
        seq = SpanSeq([(0, 5), (10, 12), (20, 30)])
        self.assertEqual(list(seq.take(4, 4)), [4, 10, 11, 20])
        self.assertEqual([len(p) for p in seq.split(3)], [6, 6, 5])
        self.assertEqual(sum((list(p) for p in seq.split(4)), []), list(seq))

    def test_subtract(self):
        self.assertEqual(subtract([(0, 10), (20, 30)], [(2, 4), (8, 22), (29, 40)]), [(0, 2), (4, 8), (22, 29)])
        self.assertEqual(subtract([(0, 10)], []), [(0, 10)])
