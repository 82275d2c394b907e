"""Property tests of the pure partition: ranks, workers, lanes, padding, resume. No I/O."""

from __future__ import annotations

import random
import sys
import unittest
from collections import Counter
from os.path import abspath, dirname

# Importable however the suite is started (unittest with or without -t, pytest, one file).
sys.path[:0] = [p for p in (dirname(dirname(abspath(__file__))), dirname(abspath(__file__))) if p not in sys.path]

from shardline.partition import Layout, consumed_spans, per_rank_count, rank_items, remaining_after, round_robin_consumed, spans_from_json
from shardline.shuffle import EpochOrder
from shardline.spans import SpanSeq, subtract

WORLD_SIZES = range(1, 9)
SIZES = (0, 1, 5, 7, 64, 131, 500)


def whole(n: int) -> SpanSeq:
    return SpanSeq([(0, n, 0)])


def layouts(world_size: int, drop_last: bool):
    yield Layout(world_size, drop_last=drop_last)
    yield Layout(world_size, num_workers=3, batch_size=4, lanes=4, drop_last=drop_last)
    yield Layout(world_size, num_workers=2, batch_size=1, lanes=2, drop_last=drop_last)


class PassTests(unittest.TestCase):
    def test_ranks_are_disjoint_complete_and_equal_without_drop_last(self) -> None:
        for n in SIZES:
            for w in WORLD_SIZES:
                for layout in layouts(w, drop_last=False):
                    with self.subTest(n=n, layout=layout):
                        streams = [rank_items(whole(n), layout, r) for r in range(w)]
                        real = Counter(p for s in streams for p, pad in s if not pad)
                        self.assertEqual(real, Counter(range(n)), "every record exactly once")
                        self.assertEqual({len(s) for s in streams}, {per_rank_count(n, w, False)}, "equal counts")
                        self.assertEqual(len(streams[0]), -(-n // w))
                        for s in streams:
                            self.assertLessEqual(sum(pad for _, pad in s), 1, "at most one repeated record per rank")
                            self.assertTrue(all(0 <= p < n for p, _ in s))

    def test_drop_last_drops_the_remainder_and_keeps_counts_equal(self) -> None:
        for n in SIZES:
            for w in WORLD_SIZES:
                for layout in layouts(w, drop_last=True):
                    with self.subTest(n=n, layout=layout):
                        streams = [rank_items(whole(n), layout, r) for r in range(w)]
                        self.assertEqual({len(s) for s in streams}, {n // w})
                        seen = Counter(p for s in streams for p, _ in s)
                        self.assertTrue(all(pad == 0 for s in streams for _, pad in s))
                        self.assertEqual(len(seen), (n // w) * w, "no record twice")
                        self.assertEqual(max(seen.values(), default=1), 1)

    def test_workers_of_a_rank_split_its_share_without_overlap(self) -> None:
        layout = Layout(3, num_workers=4, batch_size=5, lanes=3)
        share = [p for p, _ in rank_items(whole(1000), Layout(3), 1)]
        split = [p for p, _ in rank_items(whole(1000), layout, 1)]
        self.assertEqual(sorted(split), sorted(share))
        self.assertEqual(len(set(split)), len(split))

    def test_a_rank_reads_a_contiguous_piece_for_locality(self) -> None:
        for r in range(4):
            items = rank_items(whole(400), Layout(4, lanes=4), r)
            self.assertEqual(sorted(p for p, _ in items), list(range(r * 100, r * 100 + 100)))


class RoundRobinTests(unittest.TestCase):
    def simulate(self, consumed, sizes, batch):
        taken = [0] * len(sizes)
        order = []
        t = 0
        while any(t * batch < s for s in sizes):
            for i, s in enumerate(sizes):
                n = max(0, min(batch, s - t * batch))
                order += [i] * n
            t += 1
        for i in order[:consumed]:
            taken[i] += 1
        return taken

    def test_matches_a_step_by_step_simulation(self) -> None:
        rng = random.Random(7)
        for _ in range(400):
            k = rng.randint(1, 5)
            base = rng.randint(0, 30)
            sizes = sorted((base + rng.randint(0, 1) for _ in range(k)), reverse=True)
            batch = rng.randint(1, 6)
            consumed = rng.randint(0, sum(sizes))
            with self.subTest(sizes=sizes, batch=batch, consumed=consumed):
                self.assertEqual(round_robin_consumed(consumed, sizes, batch), self.simulate(consumed, sizes, batch))


class ResumeTests(unittest.TestCase):
    def consumed_by_model(self, remaining, layout, c):
        return [p for r in range(layout.world_size) for p, pad in rank_items(remaining, layout, r)[:c] if not pad]

    def random_layout(self, rng):
        return Layout(rng.randint(1, 8), num_workers=rng.randint(1, 3), batch_size=rng.randint(1, 5), lanes=rng.choice((1, 2, 4)), drop_last=rng.random() < 0.3)

    def test_state_equals_what_the_ranks_actually_consumed(self) -> None:
        rng = random.Random(11)
        for _ in range(150):
            n = rng.randint(0, 300)
            layout = self.random_layout(rng)
            c = rng.randint(0, per_rank_count(n, layout.world_size, layout.drop_last))
            with self.subTest(n=n, layout=layout, c=c):
                model = sorted(self.consumed_by_model(whole(n), layout, c))
                self.assertEqual(len(model), len(set(model)))
                self.assertEqual(sorted(p for a, b in consumed_spans(whole(n), layout, c) for p in range(a, b)), model)

    def test_resume_across_world_sizes_repeats_and_skips_nothing(self) -> None:
        rng = random.Random(5)
        for trial in range(120):
            n = rng.randint(1, 400)
            remaining = whole(n)
            seen: Counter = Counter()
            for _ in range(rng.randint(1, 3)):  # one or more interrupted passes
                layout = Layout(rng.randint(1, 8), rng.randint(1, 3), rng.randint(1, 5), rng.choice((1, 2, 4)))
                c = rng.randint(0, per_rank_count(len(remaining), layout.world_size, False))
                seen.update(self.consumed_by_model(remaining, layout, c))
                remaining = spans_from_json([list(s) for s in remaining_after(remaining, layout, c)])
            final = Layout(rng.randint(1, 8), rng.randint(1, 3), rng.randint(1, 5), rng.choice((1, 2, 4)))
            streams = [rank_items(remaining, final, r) for r in range(final.world_size)]
            seen.update(p for s in streams for p, pad in s if not pad)
            with self.subTest(trial=trial, n=n):
                self.assertEqual(seen, Counter(range(n)))
                self.assertEqual(len({len(s) for s in streams}), 1)

    def test_a_finished_pass_leaves_nothing(self) -> None:
        layout = Layout(3, drop_last=True)
        self.assertEqual(remaining_after(whole(10), layout, 3), [])
        self.assertEqual(remaining_after(whole(10), layout, 0), [(0, 10)])

    def test_state_is_the_same_whatever_rank_computes_it(self) -> None:
        # remaining_after takes no rank: every rank derives the job-wide state from its own count.
        layout = Layout(4, 2, 3, 4)
        self.assertEqual(remaining_after(whole(97), layout, 9), subtract([(0, 97)], consumed_spans(whole(97), layout, 9)))


class OrderTests(unittest.TestCase):
    def records(self, order, remaining, layout, rank):
        return [order.locate(p) for p, _ in rank_items(remaining, layout, rank)]

    def test_every_record_once_per_epoch_for_seeds_and_epochs(self) -> None:
        sizes = [40, 0, 17, 128, 5, 63]
        n = sum(sizes)
        expected = Counter((o, i) for o, k in enumerate(sizes) for i in range(k))
        for seed in (0, 1, 42):
            for epoch in (0, 1, 2):
                order = EpochOrder(sizes, "train\x003", seed, epoch, True, window=16)
                for w in (1, 3, 8):
                    layout = Layout(w, lanes=4)
                    with self.subTest(seed=seed, epoch=epoch, w=w):
                        got = Counter(r for rank in range(w) for r, (_, pad) in zip(self.records(order, whole(n), layout, rank), rank_items(whole(n), layout, rank)) if not pad)
                        self.assertEqual(got, expected)
