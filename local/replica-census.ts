import { queryAll } from '../lib/aws/dynamo-pages';
import type { Target } from '../lib/aws/target';
import { placementOf } from '../lib/cluster/failure-detector';
import type { PlacementNode } from '../lib/cluster/placement';
import type { NodeRegistry } from '../lib/cluster/registry';
import { keys, type ReplicaItem, type ReplicaStatus } from '../lib/ledger/items';

/** Every shard's replica items, by holder: what the ledger says at one moment. */
export type Census = Map<string, Map<string, ReplicaStatus>>;

/**
 * Reads the replica items of the given nodes, one strongly consistent query each, in the order
 * given. Moves drop a copy only after the new one is PRESENT, so listing the nodes that may drop
 * before those that may receive never misses a copy in flight between two reads.
 */
export async function takeCensus(target: Target, nodeIds: string[], chunkIds?: ReadonlySet<string>): Promise<Census> {
  const census: Census = new Map();
  for (const nodeId of nodeIds) {
    const items = await queryAll<ReplicaItem>(target.clients.doc, {
      TableName: target.resources.ledgerTable,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.replica(nodeId, '').pk },
      ConsistentRead: true,
    });
    for (const r of items) {
      if (chunkIds && !chunkIds.has(r.chunkId)) continue;
      census.set(r.chunkId, (census.get(r.chunkId) ?? new Map()).set(nodeId, r.status));
    }
  }
  return census;
}

/** The nodes holding a shard PRESENT, sorted, leaving out `except`. */
export function presentHolders(census: Census, chunkId: string, except: ReadonlySet<string> = new Set()): string[] {
  return [...(census.get(chunkId) ?? new Map<string, ReplicaStatus>())]
    .filter(([n, s]) => s === 'PRESENT' && !except.has(n))
    .map(([n]) => n)
    .sort();
}

/** The fewest PRESENT copies any of `chunkIds` has (leaving out `except`). */
export function fewestPresent(census: Census, chunkIds: Iterable<string>, except?: ReadonlySet<string>): number {
  let fewest = Infinity;
  for (const c of chunkIds) fewest = Math.min(fewest, presentHolders(census, c, except).length);
  return fewest;
}

/** The healthy nodes as placement sees them now (ACTIVE, heartbeating within `timeoutMs`). */
export async function placementNodes(registry: NodeRegistry, timeoutMs: number): Promise<PlacementNode[]> {
  return (await registry.healthy(timeoutMs)).map(placementOf);
}

/**
 * Samples the census every `everyMs` until stopped: the fewest PRESENT copies any shard had in
 * any sample, counting every listed node (a leaving node still holds its copies until it drops
 * them). `order` is read each time, droppers first (see `takeCensus`).
 */
export function sampleCopies(target: Target, order: () => string[], chunkIds: ReadonlySet<string>, everyMs = 200): { stop: () => Promise<{ samples: number; fewest: number }> } {
  let stopped = false;
  let samples = 0;
  let fewest = Infinity;
  const loop = (async () => {
    while (!stopped) {
      const census = await takeCensus(target, order(), chunkIds);
      fewest = Math.min(fewest, fewestPresent(census, chunkIds));
      samples++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    stop: async () => {
      stopped = true;
      await loop;
      return { samples, fewest };
    },
  };
}
