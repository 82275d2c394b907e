import type { Target } from '../lib/aws/target';
import { placeShard, type PlacementNode } from '../lib/cluster/placement';
import { minimumMoves } from '../lib/cluster/rebalance';
import type { NodeRegistry } from '../lib/cluster/registry';
import type { LocalAgent } from './agent-processes';
import { placementNodes, presentHolders, takeCensus, type Census } from './replica-census';

/** A node SIGTERMed mid-run, and how its replicas were handed off. */
export interface LeaveRecord {
  nodeId: string;
  at: number;
  /** Shards assigned to it at SIGTERM. */
  shards: number;
  /** When every one of them was PRESENT on R other nodes. */
  backAtRMs?: number;
  exitedMs?: number;
  /** The fewest PRESENT copies (the leaver's included) any shard it held at R had while it left. */
  fewestCopies?: number;
}

/** A node started mid-run, and how many shards the leader moved to it. */
export interface JoinRecord {
  nodeId: string;
  at: number;
  /** Shards placed when it joined. */
  shards: number;
  /** Those whose holders changed, against those whose top-R placement changed. */
  moved?: number;
  minimum?: number;
  /** When every one of them sat on its placement over the live nodes, all PRESENT. */
  settledMs?: number;
  fewestCopies?: number;
}

export interface MembershipContext {
  target: Target;
  registry: NodeRegistry;
  heartbeatTimeoutMs: number;
  replicationFactor: number;
  /** How long to watch one action. */
  watchMs: number;
  everyMs: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const holdersOf = (census: Census, chunkId: string) => [...(census.get(chunkId)?.keys() ?? [])].sort().join();

/**
 * SIGTERMs `agent` (a clean leave) and watches the shards it held: the time until each is
 * PRESENT on R other live nodes, and the fewest PRESENT copies (its own included) any of those
 * that were at R had meanwhile.
 */
export async function leaveNode(ctx: MembershipContext, agent: LocalAgent): Promise<LeaveRecord> {
  const R = ctx.replicationFactor;
  const others = async () => (await placementNodes(ctx.registry, ctx.heartbeatTimeoutMs)).map((n) => n.nodeId).filter((n) => n !== agent.nodeId);
  const held = new Set((await takeCensus(ctx.target, [agent.nodeId])).keys());
  const atStart = await takeCensus(ctx.target, [agent.nodeId, ...(await others())], held);
  const atR = [...held].filter((c) => presentHolders(atStart, c).length >= R);
  const record: LeaveRecord = { nodeId: agent.nodeId, at: Date.now(), shards: held.size };
  agent.process.once('exit', () => (record.exitedMs = Date.now() - record.at));
  agent.process.kill('SIGTERM');
  let fewest = Infinity;
  while (Date.now() - record.at < ctx.watchMs && (record.backAtRMs === undefined || record.exitedMs === undefined)) {
    const census = await takeCensus(ctx.target, [agent.nodeId, ...(await others())], held); // the leaver first: it drops last
    for (const c of atR) fewest = Math.min(fewest, presentHolders(census, c).length);
    if (record.backAtRMs === undefined && [...held].every((c) => presentHolders(census, c, new Set([agent.nodeId])).length >= R)) record.backAtRMs = Date.now() - record.at;
    await sleep(ctx.everyMs);
  }
  if (Number.isFinite(fewest)) record.fewestCopies = fewest;
  return record;
}

/**
 * Starts a new agent (a join) and watches the shards placed when it joined: how many the leader
 * moved against those whose top-R placement changed, how long until they all sat on their
 * placement, and the fewest PRESENT copies any of them that were at R had meanwhile.
 */
export async function joinNode(ctx: MembershipContext, start: () => Promise<LocalAgent>): Promise<JoinRecord> {
  const R = ctx.replicationFactor;
  const before = await placementNodes(ctx.registry, ctx.heartbeatTimeoutMs);
  const placed = await takeCensus(
    ctx.target,
    before.map((n) => n.nodeId),
  );
  const shards = new Set(placed.keys());
  const atR = [...shards].filter((c) => presentHolders(placed, c).length >= R);
  const agent = await start();
  const record: JoinRecord = { nodeId: agent.nodeId, at: Date.now(), shards: shards.size };
  let after: PlacementNode[] | undefined;
  let fewest = Infinity;
  let last: Census = placed;
  while (Date.now() - record.at < ctx.watchMs && record.settledMs === undefined) {
    const live = await placementNodes(ctx.registry, ctx.heartbeatTimeoutMs);
    if (!after && live.some((n) => n.nodeId === agent.nodeId)) after = live;
    const order = [...live.map((n) => n.nodeId).filter((n) => n !== agent.nodeId), agent.nodeId]; // the newcomer last: it only receives
    last = await takeCensus(ctx.target, order, shards);
    for (const c of atR) fewest = Math.min(fewest, presentHolders(last, c).length);
    const settled = after && [...shards].every((c) => presentHolders(last, c).join() === placeShard(c, live, R).sort().join() && holdersOf(last, c) === presentHolders(last, c).join());
    if (settled) record.settledMs = Date.now() - record.at;
    else await sleep(ctx.everyMs);
  }
  if (after) {
    record.minimum = minimumMoves(shards, before, after, R).length;
    record.moved = [...shards].filter((c) => holdersOf(placed, c) !== holdersOf(last, c)).length;
  }
  if (Number.isFinite(fewest)) record.fewestCopies = fewest;
  return record;
}
