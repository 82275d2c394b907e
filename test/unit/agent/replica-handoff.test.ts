import { placeShard } from '../../../lib/cluster/placement';
import { HANDOFF_POLL_MS, ReplicaHandoff, type HandoffReport } from '../../../lib/agent/replica-handoff';
import { FakeReplicaLedger, nodesNamed } from './fake-replica-ledger';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const R = 2;

function setup(opts: { pullMs?: number; nodes?: string[] } = {}) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const all = nodesNamed(...(opts.nodes ?? ['node-a', 'node-b', 'node-c', 'node-d']));
  const ledger = new FakeReplicaLedger(clock, R, opts.pullMs ?? 1000);
  const shards = ledger.seed(30, all);
  const held = shards.filter((c) => ledger.holders(c).includes('node-a'));
  // The registry as the leaver reads it: it is DRAINING, so no longer among the healthy nodes.
  const handoff = new ReplicaHandoff({ nodeId: 'node-a', moves: ledger, nodes: async () => all.filter((n) => n.nodeId !== 'node-a'), replicationFactor: () => R, clock, log });
  const others = all.filter((n) => n.nodeId !== 'node-a');
  return { clock, log, ledger, handoff, held, shards, others };
}

/** Runs the handoff to its end in virtual time. */
async function runToEnd(clock: VirtualClock, run: Promise<HandoffReport>, maxMs = 120_000): Promise<HandoffReport> {
  let report: HandoffReport | undefined;
  void run.then((r) => (report = r));
  for (let t = 0; t < maxMs && !report; t += 50) await clock.advance(50);
  if (!report) throw new Error('handoff did not end');
  return report;
}

describe('ReplicaHandoff', () => {
  it('drops each replica of the leaver only once every node of its new placement holds it PRESENT', async () => {
    const { clock, ledger, handoff, held, others } = setup({ pullMs: 1000 });
    expect(held.length).toBeGreaterThan(5);
    const report = await runToEnd(clock, handoff.run({ deadline: 60_000, settled: Promise.resolve() }));

    expect(ledger.violations).toEqual([]);
    for (const c of held) {
      expect(ledger.holders(c, 'PRESENT')).toEqual(placeShard(c, others, R).sort());
      const copied = ledger.assigned.find((a) => a.chunkId === c);
      const dropped = ledger.dropped.find((d) => d.chunkId === c && d.nodeId === 'node-a');
      expect(dropped!.at).toBeGreaterThanOrEqual(copied!.at + 1000);
    }
    // One new copy per shard (the survivor keeps its own), all dropped within a pull and two polls.
    expect(report).toMatchObject({ shards: held.length, copies: held.length, handedOff: held.length, droppedShort: 0 });
    expect(report.ms).toBeLessThanOrEqual(1000 + 2 * HANDOFF_POLL_MS);
  });

  it('keeps handing off until settled, so a shard placed on it after it began is handed off too', async () => {
    const { clock, ledger, handoff } = setup({ pullMs: 500 });
    let settle!: () => void;
    const settled = new Promise<void>((r) => (settle = r));
    const run = handoff.run({ deadline: 60_000, settled });
    await clock.advance(3000);
    ledger.put('node-a', 'late-000001', 'ASSIGNED'); // a commit that read the registry before it drained
    await clock.advance(1000);
    settle();
    const report = await runToEnd(clock, run);
    expect(ledger.holders('late-000001', 'PRESENT')).toHaveLength(R);
    expect(ledger.holders('late-000001')).not.toContain('node-a');
    expect(report.droppedShort).toBe(0);
  });

  it('drops what is left at the deadline when the copies are not pulled in time, and says so', async () => {
    const { clock, ledger, handoff, held, log } = setup();
    ['node-b', 'node-c', 'node-d'].forEach((n) => ledger.refusing.add(n));
    const report = await runToEnd(clock, handoff.run({ deadline: 5000, settled: Promise.resolve() }));
    expect(clock.now()).toBeGreaterThanOrEqual(5000);
    expect(clock.now()).toBeLessThan(5000 + 2 * HANDOFF_POLL_MS);
    expect(report).toMatchObject({ handedOff: 0, droppedShort: held.length });
    // Nothing of the leaver outlives it; its shards' new copies stay assigned, to be pulled.
    expect(await ledger.replicasOf('node-a')).toEqual([]);
    for (const c of held) expect(ledger.holders(c)).toHaveLength(R);
    expect(log.said('replica handoff timed out; copies still pulling')).toBe(1);
  });

  it('never drops before the deadline while a copy is still missing', async () => {
    const { clock, ledger, handoff } = setup();
    ['node-b', 'node-c', 'node-d'].forEach((n) => ledger.refusing.add(n));
    void handoff.run({ deadline: 30_000, settled: Promise.resolve() });
    await clock.advance(29_000);
    expect(ledger.dropped).toEqual([]);
  });

  it('drops at once when it is the last node, with nowhere to copy to', async () => {
    const { clock, handoff, shards } = setup({ nodes: ['node-a'] });
    const report = await runToEnd(clock, handoff.run({ deadline: 60_000, settled: Promise.resolve() }));
    expect(report).toMatchObject({ shards: shards.length, copies: 0, handedOff: shards.length });
    expect(clock.now()).toBeLessThanOrEqual(HANDOFF_POLL_MS);
  });

  it('retries a failed round at the next poll', async () => {
    const { clock, ledger, handoff, held, log } = setup({ pullMs: 100 });
    const statusOf = ledger.statusOf.bind(ledger);
    let failures = 2;
    ledger.statusOf = async (keys) => {
      if (failures-- > 0) throw new Error('throttled');
      return statusOf(keys);
    };
    const report = await runToEnd(clock, handoff.run({ deadline: 60_000, settled: Promise.resolve() }));
    expect(report.handedOff).toBe(held.length);
    expect(log.said('replica handoff round failed; retrying')).toBe(2);
  });
});
