import type { PlacementNode } from '../cluster/placement';
import { assignmentOf, planHandoff, replicaKeyOf } from '../cluster/rebalance';
import type { ReplicaMoves } from '../cluster/replica-moves';
import type { Log } from '../log';
import type { Clock } from './clock';

/** How often a leaving node looks at its shards' new copies. */
export const HANDOFF_POLL_MS = 250;
/** How long a leaving node waits at most for its shards to be at R elsewhere (unless given a deadline). */
export const HANDOFF_DEADLINE_MS = 60_000;

export interface ReplicaHandoffDeps {
  nodeId: string;
  moves: Pick<ReplicaMoves, 'replicasOf' | 'statusOf' | 'assign' | 'drop' | 'recordPlacement'>;
  /** The nodes that may take shards now (ACTIVE and heartbeating), from a recent registry read. */
  nodes: () => Promise<PlacementNode[]>;
  replicationFactor: () => number;
  clock: Clock;
  log: Log;
}

/** What handing off a leaving node's replicas did. */
export interface HandoffReport {
  /** Shards assigned to this node at any time while it left. */
  shards: number;
  /** New replicas created on other nodes. */
  copies: number;
  /** Own replicas dropped once every node of their shard's new placement held it PRESENT. */
  handedOff: number;
  /** Own replicas dropped at the deadline before that (their copies are assigned, not yet pulled). */
  droppedShort: number;
  ms: number;
}

/**
 * A clean leave, done by the leaving node itself so that it needs no live leader and waits for no
 * heartbeat timeout: every shard assigned to this node is placed again over the other healthy
 * nodes, copied to those that lack it, and this node's replica is dropped only once every node of
 * the new placement holds the shard PRESENT (copy first, then drop: never fewer than R live copies
 * meanwhile). Rounds repeat until nothing is left and no new assignment can still land here
 * (`settled`), or until the deadline, when what is left is dropped anyway: its copies are assigned
 * and S3 holds the shard, and a departed node's items must not outlive it.
 */
export class ReplicaHandoff {
  constructor(private readonly deps: ReplicaHandoffDeps) {}

  /** Hands off until done or `deadline` (epoch ms); `settled` resolves once nothing new can be placed on this node. */
  async run(opts: { deadline: number; settled: Promise<unknown> }): Promise<HandoffReport> {
    const { clock, log, nodeId, moves } = this.deps;
    const started = clock.now();
    let settled = false;
    void opts.settled.then(
      () => (settled = true),
      () => (settled = true),
    );
    const shards = new Set<string>();
    const report = { copies: 0, handedOff: 0, droppedShort: 0 };
    for (;;) {
      const expired = clock.now() >= opts.deadline;
      try {
        const own = await moves.replicasOf(nodeId);
        if (own.length === 0 && settled) break;
        own.forEach((r) => shards.add(r.chunkId));
        if (own.length > 0) {
          const R = this.deps.replicationFactor();
          const plan = planHandoff(own, nodeId, await this.deps.nodes(), R);
          const status = await moves.statusOf(plan.flatMap((m) => m.placement.map((n) => ({ nodeId: n, chunkId: m.chunkId }))));
          const isPresent = (n: string, chunkId: string) => status.get(replicaKeyOf({ nodeId: n, chunkId })) === 'PRESENT';
          const missing = plan.flatMap((m) => m.placement.filter((n) => !status.has(replicaKeyOf({ nodeId: n, chunkId: m.chunkId }))).map((n) => assignmentOf(m.template, n, clock.now())));
          if (missing.length > 0) report.copies += await moves.assign(missing);
          const ready = plan.filter((m) => m.placement.every((n) => isPresent(n, m.chunkId)));
          const leaving = expired ? plan : ready;
          if (leaving.length > 0) {
            await moves.drop(leaving.map((m) => ({ nodeId, chunkId: m.chunkId })));
            report.handedOff += ready.length;
            report.droppedShort += leaving.length - ready.length;
            await Promise.all(leaving.map((m) => moves.recordPlacement(m.template, m.placement, R)));
          }
        }
      } catch (err) {
        log('warn', 'replica handoff round failed; retrying', { error: (err as Error).message });
      }
      if (expired) break;
      await clock.sleep(HANDOFF_POLL_MS);
    }
    const done = { shards: shards.size, ...report, ms: clock.now() - started };
    log(done.droppedShort > 0 ? 'warn' : 'info', done.droppedShort > 0 ? 'replica handoff timed out; copies still pulling' : 'replicas handed off', { ...done });
    return done;
  }
}
