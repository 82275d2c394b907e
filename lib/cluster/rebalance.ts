import { keys, type ReplicaItem, type ReplicaStatus } from '../ledger/items';
import { diffPlacement, placeShard, type PlacementNode } from './placement';

/**
 * Replicas follow membership, copy first and then drop: the pure half. A shard's holders are
 * brought to its top-R placement over the nodes in view by adding copies on the nodes that lack
 * it and, only once every node of the placement holds it PRESENT, dropping the holders outside
 * it. Rendezvous hashing makes that movement minimal: on a join the only shards that move are
 * those the newcomer enters the top R of, each dropping one old holder.
 */

/** One shard as the ledger has it placed: its replica items, by holder. */
export interface ShardHolding {
  chunkId: string;
  /** One of its replica items: what a new one copies (object, shard key, sha256, bytes). */
  template: ReplicaItem;
  holders: Map<string, ReplicaStatus>;
}

/** What bringing one shard to its placement does: copy it to `add`, then drop it from `drop`. */
export interface ShardMove {
  chunkId: string;
  template: ReplicaItem;
  /** The top-R nodes the shard belongs on; `drop` waits until every one of them holds it PRESENT. */
  placement: string[];
  add: string[];
  drop: string[];
}

/** A replica's address: the node that holds it and the shard. */
export interface ReplicaKey {
  nodeId: string;
  chunkId: string;
}

/** One string per replica address, for sets and maps. */
export const replicaKeyOf = (r: ReplicaKey): string => `${r.nodeId}\0${r.chunkId}`;

/** The shards that a set of replica items places, with their holders. */
export function holdingsOf(replicas: Iterable<ReplicaItem>): Map<string, ShardHolding> {
  const shards = new Map<string, ShardHolding>();
  for (const r of replicas) {
    const shard = shards.get(r.chunkId) ?? { chunkId: r.chunkId, template: r, holders: new Map<string, ReplicaStatus>() };
    shard.holders.set(r.nodeId, r.status);
    shards.set(r.chunkId, shard);
  }
  return shards;
}

/**
 * The moves that bring every shard to its placement over `nodes`: a shard whose holders are
 * already its top R does not move. A shard with fewer holders than its placement is left alone:
 * it lost a copy to a node that died (the failure detector re-places it) or that is leaving (the
 * leaver hands it off), or it was placed short (the leader's top-up adds to it); moving it here too
 * would race with them.
 */
export function planMoves(holdings: Iterable<ShardHolding>, nodes: PlacementNode[], replicationFactor: number): ShardMove[] {
  const moves: ShardMove[] = [];
  for (const shard of holdings) {
    const placement = placeShard(shard.chunkId, nodes, replicationFactor);
    if (placement.length === 0 || shard.holders.size < placement.length) continue;
    const { add, remove } = diffPlacement([...shard.holders.keys()], placement);
    if (add.length > 0 || remove.length > 0) moves.push({ chunkId: shard.chunkId, template: shard.template, placement, add, drop: remove });
  }
  return moves;
}

/**
 * The moves a leaving node makes for the shards assigned to it: each is placed over the other
 * nodes (`nodes` without the leaver), copied to every node of that placement that lacks it
 * (assignments are conditional, so a holder keeps its item), and dropped from the leaver once they
 * all hold it PRESENT. With no other node left, the placement is empty and the leaver drops at once.
 */
export function planHandoff(own: ReplicaItem[], leaverId: string, nodes: PlacementNode[], replicationFactor: number): ShardMove[] {
  const others = nodes.filter((n) => n.nodeId !== leaverId);
  return own.map((r) => {
    const placement = placeShard(r.chunkId, others, replicationFactor);
    return { chunkId: r.chunkId, template: r, placement, add: placement, drop: [leaverId] };
  });
}

/** What a replica item says about one node's copy rather than the shard: a new copy starts without it. */
const PER_COPY_FIELDS = new Set(['presentAt', 'localPath', 'refusedReason', 'refusedAt']);

/** A new ASSIGNED replica of `template`'s shard on `nodeId`. */
export function assignmentOf(template: ReplicaItem, nodeId: string, now: number): ReplicaItem {
  const shard = Object.fromEntries(Object.entries(template).filter(([field]) => !PER_COPY_FIELDS.has(field))) as ReplicaItem;
  return { ...shard, ...keys.replica(nodeId, template.chunkId), nodeId, status: 'ASSIGNED', assignedAt: new Date(now).toISOString() };
}

/**
 * How many shards must move when membership goes from `before` to `after`: those whose top-R
 * placement differs. The least any rebalance can move, which the real one is measured against.
 */
export function minimumMoves(chunkIds: Iterable<string>, before: PlacementNode[], after: PlacementNode[], replicationFactor: number): string[] {
  const same = (a: string[], b: string[]) => a.length === b.length && a.every((n) => b.includes(n));
  return [...chunkIds].filter((c) => !same(placeShard(c, before, replicationFactor), placeShard(c, after, replicationFactor)));
}

/**
 * The rate limit of new assignments: at most `perSecond` per node in any one-second window, so
 * that a rebalance's pulls never starve the training reads of the nodes it copies to.
 */
export class AssignmentPacer {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly perSecond: number) {}

  /** Takes a slot on `nodeId` at `now` if its last second has one free; false otherwise. */
  tryTake(nodeId: string, now: number): boolean {
    const times = (this.recent.get(nodeId) ?? []).filter((t) => now - t < 1000);
    const allowed = times.length < Math.max(1, Math.floor(this.perSecond));
    if (allowed) times.push(now);
    this.recent.set(nodeId, times);
    return allowed;
  }
}
