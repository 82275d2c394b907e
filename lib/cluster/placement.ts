import { createHash } from 'node:crypto';

/** A node as a placement target. */
export interface PlacementNode {
  nodeId: string;
  /** AZ, rack or placement group: replicas of a shard go to distinct domains when possible. */
  failureDomain: string;
  /** Weight, e.g. free cache bytes or GPUs; must be a finite number > 0 (other nodes are skipped). */
  capacity: number;
}

/** The replicas to add and to drop when a shard's placement changes. */
export interface PlacementDiff {
  add: string[];
  remove: string[];
}

/**
 * Uniform value in (0, 1) for the pair (shard, node), from 52 bits of sha256: a cryptographic hash
 * so that similar ids (`shard-1`, `shard-2`) do not give correlated scores, and 52 bits so that the
 * value is exact in a double. The `\0` separator keeps (`ab`,`c`) and (`a`,`bc`) apart.
 */
function unitHash(shardId: string, nodeId: string): number {
  const digest = createHash('sha256').update(shardId).update('\0').update(nodeId).digest();
  const high = digest.readUInt32BE(0) >>> 12; // 20 bits
  const low = digest.readUInt32BE(4); // 32 bits
  return (high * 2 ** 32 + low + 0.5) / 2 ** 52; // + 0.5: never 0, never 1, so ln(u) < 0
}

/**
 * Logarithmic weighted rendezvous score (Schindelhauer & Schomaker): -w / ln(u) is distributed so
 * that the top node is node i with probability w_i / Σw, and a node's score never depends on the
 * other nodes, so membership changes only move what they must.
 */
function score(shardId: string, node: PlacementNode): number {
  return -node.capacity / Math.log(unitHash(shardId, node.nodeId));
}

/** Total order on equal scores (practically never), so the result never depends on input order. */
function byRank(a: { node: PlacementNode; score: number }, b: { node: PlacementNode; score: number }): number {
  if (a.score !== b.score) return b.score - a.score;
  const [x, y] = [a.node.nodeId + '\0' + a.node.failureDomain, b.node.nodeId + '\0' + b.node.failureDomain];
  return x < y ? -1 : x > y ? 1 : 0;
}

/**
 * Chooses the nodes that hold a shard, best first, by capacity-weighted rendezvous hashing:
 * the best-scoring node of each failure domain in score order, then, when there are fewer domains
 * than replicas, the next best nodes of any domain. Returns every usable node when there are no
 * more than `replicas`. Deterministic and independent of the order of `nodes`.
 *
 * Movement is minimal, failure domains included: when a node leaves, a shard that it did not hold
 * keeps its exact placement, and one that it held swaps it for one other node (if any is left);
 * when a node joins, the only shards that change are those it joins, each dropping at most one.
 */
export function placeShard(shardId: string, nodes: PlacementNode[], replicas: number): string[] {
  const wanted = Math.max(0, Math.floor(replicas));
  const ranked = nodes
    .filter((n) => Number.isFinite(n.capacity) && n.capacity > 0)
    .map((node) => ({ node, score: score(shardId, node) }))
    .sort(byRank);
  const chosen = new Set<string>();
  const domains = new Set<string>();
  for (const { node } of ranked) {
    if (chosen.size >= wanted) break;
    if (domains.has(node.failureDomain) || chosen.has(node.nodeId)) continue;
    chosen.add(node.nodeId);
    domains.add(node.failureDomain);
  }
  for (const { node } of ranked) {
    if (chosen.size >= wanted) break;
    chosen.add(node.nodeId);
  }
  return [...chosen];
}

/** What moves between two placements of one shard: nodes to copy it to and to drop it from. */
export function diffPlacement(before: string[], after: string[]): PlacementDiff {
  const was = new Set(before);
  const now = new Set(after);
  return { add: after.filter((n) => !was.has(n)), remove: before.filter((n) => !now.has(n)) };
}
