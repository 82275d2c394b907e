import { createHash } from 'node:crypto';

/** A node as a placement target. */
export interface PlacementNode {
  nodeId: string;
  failureDomain: string;
  /** Weight, e.g. cache capacity in GiB; must be > 0. */
  capacity: number;
}

/** Uniform value in (0, 1) from the pair (shard, node): 52 bits of sha256. */
function unitHash(shardId: string, nodeId: string): number {
  const digest = createHash('sha256').update(shardId).update('\0').update(nodeId).digest();
  const hi = digest.readUInt32BE(0) >>> 12; // 20 bits
  const lo = digest.readUInt32BE(4); // 32 bits
  return (hi * 2 ** 32 + lo + 0.5) / 2 ** 52;
}

/** Weighted rendezvous score: the node with the highest score for a shard ranks first. */
function score(shardId: string, node: PlacementNode): number {
  return -node.capacity / Math.log(unitHash(shardId, node.nodeId));
}

/**
 * Places a shard on `replicas` nodes by capacity-weighted rendezvous hashing, preferring distinct
 * failure domains: the best-scoring node of each domain first, then the next best of any domain.
 * Deterministic and independent of the order of `nodes`; when a node leaves, only the shards it
 * held move.
 */
export function placeShard(shardId: string, nodes: PlacementNode[], replicas: number): string[] {
  const ranked = nodes
    .filter((n) => n.capacity > 0)
    .map((n) => ({ node: n, score: score(shardId, n) }))
    .sort((a, b) => b.score - a.score || a.node.nodeId.localeCompare(b.node.nodeId));
  const chosen: string[] = [];
  const domains = new Set<string>();
  for (const { node } of ranked) {
    if (chosen.length >= replicas) break;
    if (!domains.has(node.failureDomain)) {
      chosen.push(node.nodeId);
      domains.add(node.failureDomain);
    }
  }
  for (const { node } of ranked) {
    if (chosen.length >= replicas) break;
    if (!chosen.includes(node.nodeId)) chosen.push(node.nodeId);
  }
  return chosen;
}

/** What moves between two placements of one shard. */
export function diffPlacement(before: string[], after: string[]): { add: string[]; remove: string[] } {
  return { add: after.filter((n) => !before.includes(n)), remove: before.filter((n) => !after.includes(n)) };
}
