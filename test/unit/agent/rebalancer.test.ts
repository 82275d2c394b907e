import { REBALANCE_AFTER_JOIN_MS, Rebalancer, type RebalanceReport } from '../../../lib/agent/rebalancer';
import { diffPlacement, placeShard, type PlacementNode } from '../../../lib/cluster/placement';
import { minimumMoves } from '../../../lib/cluster/rebalance';
import { FakeReplicaLedger, nodesNamed } from './fake-replica-ledger';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const R = 2;
const FOUR = nodesNamed('node-a', 'node-b', 'node-c', 'node-d');
const FIVE = [...FOUR, { nodeId: 'node-e', failureDomain: 'az-1', capacity: 100 }];

function setup(opts: { shards?: number; rate?: number; pullMs?: number } = {}) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const ledger = new FakeReplicaLedger(clock, R, opts.pullMs ?? 300);
  const shards = ledger.seed(opts.shards ?? 60, FOUR);
  const view = { nodes: FOUR as PlacementNode[], leading: true };
  const passes: RebalanceReport[] = [];
  const rebalancer = new Rebalancer(
    { moves: ledger, nodes: async () => view.nodes, replicationFactor: () => R, assignmentsPerSecond: () => opts.rate ?? 1000, leading: () => view.leading, clock, log },
    (report) => void passes.push(report),
  );
  /** The leader's sweeps: one look every 500 ms for `ms`. */
  const sweep = async (ms: number, token = 1) => {
    for (let t = 0; t < ms; t += 500) {
      await rebalancer.observe(token);
      await clock.advance(500);
    }
  };
  return { clock, log, ledger, shards, view, passes, rebalancer, sweep };
}

describe('Rebalancer', () => {
  it('moves exactly the shards whose top-R placement changed when a node joins, copy first and then drop', async () => {
    const { ledger, shards, view, passes, sweep } = setup({ shards: 120 });
    await sweep(1000); // takes the lead: one pass, nothing to move
    view.nodes = FIVE;
    await sweep(10_000);

    const expected = minimumMoves(shards, FOUR, FIVE, R).sort();
    expect(expected.length).toBeGreaterThan(20);
    expect(ledger.assigned.map((a) => a.chunkId).sort()).toEqual(expected);
    expect(ledger.assigned.every((a) => a.nodeId === 'node-e')).toBe(true);
    for (const c of expected) {
      const { remove } = diffPlacement(placeShard(c, FOUR, R), placeShard(c, FIVE, R));
      expect(ledger.dropped.filter((d) => d.chunkId === c).map((d) => d.nodeId)).toEqual(remove);
      const copied = ledger.assigned.find((a) => a.chunkId === c)!.at;
      expect(ledger.dropped.find((d) => d.chunkId === c)!.at).toBeGreaterThanOrEqual(copied + 300);
    }
    for (const c of shards) expect(ledger.holders(c, 'PRESENT')).toEqual(placeShard(c, FIVE, R).sort());
    expect(ledger.violations).toEqual([]);
    // The lead's pass, the join's, and their follow-ups after views older than each expired.
    expect(passes.map((p) => [p.moving, p.copies, p.dropped, p.unfinished])).toEqual([
      [0, 0, 0, 0],
      [expected.length, expected.length, expected.length, 0],
      [0, 0, 0, 0],
      [0, 0, 0, 0],
    ]);
  });

  it('assigns no more than its rate of new copies per node in any second', async () => {
    const { clock, ledger, view, passes, sweep } = setup({ shards: 120, rate: 3 });
    await sweep(1000);
    view.nodes = FIVE;
    await sweep(30_000);
    const times = ledger.assigned.map((a) => a.at);
    expect(times.length).toBeGreaterThan(20);
    for (const t of times) expect(times.filter((u) => u >= t && u < t + 1000).length).toBeLessThanOrEqual(3);
    // …and keeps to it: ⌈copies / 3⌉ seconds of assignments, not much more.
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan((Math.ceil(times.length / 3) - 1) * 1000 + 500);
    expect(passes.at(-1)).toMatchObject({ unfinished: 0 });
    expect(clock.now()).toBeGreaterThan(0);
  });

  it('reads the ledger once per pass and starts no pass while nobody joins, nor when a node leaves', async () => {
    const { ledger, view, passes, sweep } = setup();
    await sweep(REBALANCE_AFTER_JOIN_MS + 5000);
    expect(passes).toHaveLength(2); // the lead's pass and its follow-up
    const reads = ledger.requests;
    expect(reads).toBe(2 * FOUR.length); // one query per node a pass; nothing to move
    view.nodes = FOUR.slice(0, 3);
    await sweep(REBALANCE_AFTER_JOIN_MS + 5000);
    expect(passes).toHaveLength(2);
    expect(ledger.requests).toBe(reads);
  });

  it('corrects, after taking the lead, shards that nodes placed with views older than its first look', async () => {
    const { ledger, view, passes, sweep } = setup({ shards: 0 });
    view.nodes = FIVE;
    await sweep(1000); // the lead's first look: all five nodes, nothing to move
    // Then commits land that were placed with a view from before node-e joined.
    const stale = ledger.seed(120, FOUR);
    const misplaced = minimumMoves(stale, FOUR, FIVE, R);
    expect(misplaced.length).toBeGreaterThan(20);
    await sweep(REBALANCE_AFTER_JOIN_MS + 5000);
    expect(passes.map((p) => p.moving)).toEqual([0, misplaced.length]);
    for (const c of stale) expect(ledger.holders(c, 'PRESENT')).toEqual(placeShard(c, FIVE, R).sort());
    expect(ledger.violations).toEqual([]);
  });

  it('starts a fresh pass when membership changes during one, and when another node takes the lead', async () => {
    const { ledger, view, passes, sweep, log } = setup({ shards: 120, rate: 2 });
    await sweep(1000);
    view.nodes = FIVE;
    await sweep(2000); // 4 copies a second: far from done
    view.nodes = [...FIVE, { nodeId: 'node-f', failureDomain: 'az-2', capacity: 100 }];
    await sweep(60_000);
    // Then the joins' follow-ups, with nothing left to move.
    expect(passes.map((p) => p.unfinished > 0).slice(0, 3)).toEqual([false, true, false]);
    expect(passes.slice(3).map((p) => [p.moving, p.unfinished])).toEqual(passes.slice(3).map(() => [0, 0]));
    expect(passes.length).toBeGreaterThan(3);
    expect(log.said('rebalance pass ended early')).toBe(1);
    for (const c of new Set(ledger.assigned.map((a) => a.chunkId))) expect(ledger.holders(c, 'PRESENT')).toEqual(placeShard(c, view.nodes, R).sort());
    const before = passes.length;
    await sweep(1000, 2);
    expect(passes).toHaveLength(before + 1);
  });

  it('ends its pass when it loses the lead, and on stop()', async () => {
    const { view, passes, rebalancer, sweep, clock } = setup({ shards: 120, rate: 1 });
    await sweep(1000);
    view.nodes = FIVE;
    await sweep(1000);
    view.leading = false;
    await clock.advance(1000);
    expect(passes).toHaveLength(2);
    expect(passes[1].unfinished).toBeGreaterThan(0);
    view.leading = true;
    await sweep(1000, 2); // the lead again: a fresh pass
    const stopping = rebalancer.stop();
    await clock.advance(500);
    await stopping;
    expect(passes).toHaveLength(3);
    expect(passes[2].unfinished).toBeGreaterThan(0);
    await sweep(5000, 2);
    expect(passes).toHaveLength(3);
  });
});
