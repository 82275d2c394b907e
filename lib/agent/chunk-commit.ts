import type { ChunkMessage } from '../chunking/chunk';
import { placeShard, type PlacementNode } from '../cluster/placement';
import type { ChunkLease, CommitResult } from '../ledger/chunk-ledger';
import { keys, type ReplicaItem } from '../ledger/items';
import type { ChunkOutcome } from './chunk-processor';
import type { ChunkWorkerDeps } from './chunk-work';
import { withThrottleRetries } from './throttle-backoff';

/**
 * Commits a processed chunk in the ledger, conditional on still holding its lease, with the
 * replicas its shard is placed on (over `opts.nodes`, fetched while the chunk was worked on);
 * throttling is waited out with the lease kept. Says whether the object is now complete.
 */
export async function commitChunk(
  deps: ChunkWorkerDeps,
  msg: ChunkMessage,
  lease: ChunkLease,
  outcome: ChunkOutcome,
  opts: { durationMs: () => number; now: number; backOff: { onThrottle: (err: unknown, retry: number) => void }; nodes?: Promise<PlacementNode[]> },
): Promise<CommitResult> {
  const replicas = replicaItems(msg, outcome, await (opts.nodes ?? deps.placementNodes()), deps.config.replicationFactor, opts.now);
  return withThrottleRetries(
    () =>
      deps.chunks.commit(lease, {
        counts: outcome.counts,
        shard: outcome.shard,
        rejects: outcome.rejects,
        replicas,
        replicationFactor: deps.config.replicationFactor,
        durationMs: opts.durationMs(),
        chunkCount: msg.chunkCount,
      }),
    opts.backOff,
  );
}

function replicaItems(msg: ChunkMessage, outcome: ChunkOutcome, nodes: PlacementNode[], replicas: number, now: number): ReplicaItem[] {
  const assignedAt = new Date(now).toISOString();
  return placeShard(msg.chunkId, nodes, replicas).map((nodeId) => ({
    ...keys.replica(nodeId, msg.chunkId),
    nodeId,
    chunkId: msg.chunkId,
    objectId: msg.objectId,
    shardKey: outcome.shard.key,
    sha256: outcome.shard.sha256,
    bytes: outcome.shard.bytes,
    records: outcome.counts.recordsOut,
    status: 'ASSIGNED',
    assignedAt,
  }));
}
