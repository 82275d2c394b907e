import type { PlacementNode } from '../cluster/placement';
import { AssignmentPacer, assignmentOf, holdingsOf, planMoves, replicaKeyOf, type ShardMove } from '../cluster/rebalance';
import type { ReplicaMoves } from '../cluster/replica-moves';
import type { Log } from '../log';
import { PLACEMENT_VIEW_MAX_AGE_MS, REGISTRY_VIEW_MAX_AGE_MS } from './agent-deps';
import type { Clock } from './clock';

/** How often a rebalance pass assigns what its rate allows and looks at the copies it made. */
export const REBALANCE_TICK_MS = 250;
/** A pass gives up waiting for its copies after this long; the surplus it could not drop stays (an extra copy). */
export const REBALANCE_PASS_DEADLINE_MS = 10 * 60 * 1000;
/**
 * A join is looked at once more this long after it: a chunk that commits meanwhile may still place
 * its shard with a view read before the join (registry view plus placement view ages), and no later
 * membership change would correct it.
 */
export const REBALANCE_AFTER_JOIN_MS = REGISTRY_VIEW_MAX_AGE_MS + PLACEMENT_VIEW_MAX_AGE_MS + 2000;

export interface RebalancerDeps {
  moves: Pick<ReplicaMoves, 'replicasOf' | 'statusOf' | 'assign' | 'drop' | 'recordPlacement'>;
  /** The healthy nodes in the leader's latest registry read (the failure detector's: no read of its own). */
  nodes: () => Promise<PlacementNode[]>;
  replicationFactor: () => number;
  /** At most this many new assignments per second per node. */
  assignmentsPerSecond: () => number;
  /** Whether this node still leads. */
  leading: () => boolean;
  clock: Clock;
  log: Log;
}

/** What one rebalance pass did. */
export interface RebalanceReport {
  nodes: number;
  shards: number;
  /** Shards whose holders were not their top R. */
  moving: number;
  copies: number;
  dropped: number;
  /** Moves left unfinished (membership changed, leadership lost, deadline). */
  unfinished: number;
  ms: number;
}

/**
 * The leader's join rebalance. Told of every registry read (`observe`), it starts a pass when a
 * node joins the healthy set, and once when this node takes the lead (to finish what a previous
 * leader left), each followed by one more pass once the views older than it have expired: never
 * on a timer. A pass reads every healthy node's replicas once (one query each),
 * moves only the shards held by R nodes that are not their top-R placement (see `planMoves`), at most
 * `assignmentsPerSecond` new copies per node per second, and drops a surplus holder's replica only
 * once the whole placement holds the shard PRESENT. A membership change during a pass ends it and
 * starts a fresh one; leaves and deaths alone start none (the leaver hands off, the detector repairs).
 */
export class Rebalancer {
  private members?: Set<string>;
  private token?: number;
  private generation = 0;
  private wanted = false;
  private running?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly deps: RebalancerDeps,
    private readonly onPass?: (report: RebalanceReport) => void,
  ) {}

  /** Compares the healthy nodes with the last look (under lease `token`); starts a pass if one is due. */
  async observe(token: number): Promise<void> {
    if (this.stopped) return;
    const ids = new Set((await this.deps.nodes()).map((n) => n.nodeId));
    const newLeader = token !== this.token;
    const joined = newLeader || !this.members ? [...ids] : [...ids].filter((id) => !this.members?.has(id));
    const changed = newLeader || !this.members || joined.length > 0 || ids.size !== this.members.size;
    this.token = token;
    this.members = ids;
    if (!changed) return;
    this.generation++;
    if (joined.length > 0 || this.running) {
      if (!newLeader) this.deps.log('info', 'membership changed; rebalancing replicas', { joined });
      this.wanted = true;
      this.running ??= this.passes();
      // Taking the lead counts as a join of every node: commits placed with views older than the lead's first look are corrected too.
      if (joined.length > 0) void this.deps.clock.sleep(REBALANCE_AFTER_JOIN_MS).then(() => this.followUp(token));
    }
  }

  /** The pass after a join's settle time (see `REBALANCE_AFTER_JOIN_MS`), while this lease still leads. */
  private followUp(token: number): void {
    if (this.stopped || token !== this.token || !this.deps.leading()) return;
    this.wanted = true;
    this.running ??= this.passes();
  }

  /** Ends the pass in progress at its next tick and starts no other; resolves once it has ended. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
  }

  private async passes(): Promise<void> {
    try {
      while (this.wanted && !this.stopped && this.deps.leading()) {
        this.wanted = false;
        const report = await this.pass(this.generation).catch((err) => {
          this.deps.log('error', 'rebalance pass failed; the next membership change retries it', { error: (err as Error).message });
          return undefined;
        });
        if (report) this.onPass?.(report);
      }
    } finally {
      this.running = undefined;
    }
  }

  private async pass(generation: number): Promise<RebalanceReport> {
    const { clock, log, moves } = this.deps;
    const started = clock.now();
    const nodes = await this.deps.nodes();
    const R = this.deps.replicationFactor();
    const holdings = holdingsOf((await Promise.all(nodes.map((n) => moves.replicasOf(n.nodeId)))).flat());
    const plan = planMoves(holdings.values(), nodes, R);
    const present = new Set<string>();
    for (const shard of holdings.values()) for (const [nodeId, status] of shard.holders) if (status === 'PRESENT') present.add(replicaKeyOf({ nodeId, chunkId: shard.chunkId }));
    const queue = plan.flatMap((move) => move.add.map((nodeId) => ({ move, nodeId })));
    const toAssign = new Map<ShardMove, number>(plan.map((m) => [m, m.add.length]));
    const pacer = new AssignmentPacer(this.deps.assignmentsPerSecond());
    let open = plan;
    const report = { nodes: nodes.length, shards: holdings.size, moving: plan.length, copies: 0, dropped: 0, unfinished: 0, ms: 0 };
    if (plan.length > 0) log('info', 'rebalance pass started', { nodes: report.nodes, shards: report.shards, moving: report.moving, copies: queue.length });
    const current = () => !this.stopped && generation === this.generation && this.deps.leading() && clock.now() - started < REBALANCE_PASS_DEADLINE_MS;
    while (open.length > 0 && current()) {
      const now = clock.now();
      const batch = queue.filter((a) => pacer.tryTake(a.nodeId, now));
      if (batch.length > 0) {
        batch.forEach((a) => queue.splice(queue.indexOf(a), 1));
        report.copies += await moves.assign(batch.map((a) => assignmentOf(a.move.template, a.nodeId, now)));
        batch.forEach((a) => toAssign.set(a.move, (toAssign.get(a.move) ?? 1) - 1));
      }
      // Copies are looked at only for shards whose every copy has been assigned.
      const assigned = open.filter((m) => toAssign.get(m) === 0);
      const waiting = assigned.flatMap((m) => m.placement.map((nodeId) => ({ nodeId, chunkId: m.chunkId }))).filter((k) => !present.has(replicaKeyOf(k)));
      if (waiting.length > 0) for (const [key, status] of await moves.statusOf(waiting)) if (status === 'PRESENT') present.add(key);
      const ready = assigned.filter((m) => m.placement.every((nodeId) => present.has(replicaKeyOf({ nodeId, chunkId: m.chunkId }))));
      if (ready.length > 0) {
        report.dropped += await moves.drop(ready.flatMap((m) => m.drop.map((nodeId) => ({ nodeId, chunkId: m.chunkId }))));
        await Promise.all(ready.map((m) => moves.recordPlacement(m.template, m.placement, R)));
        open = open.filter((m) => !ready.includes(m));
      }
      if (open.length > 0) await clock.sleep(REBALANCE_TICK_MS);
    }
    Object.assign(report, { unfinished: open.length, ms: clock.now() - started });
    if (plan.length > 0) log(open.length > 0 ? 'warn' : 'info', open.length > 0 ? 'rebalance pass ended early' : 'rebalance pass done', { ...report });
    return report;
  }
}
