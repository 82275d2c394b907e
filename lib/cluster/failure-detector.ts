import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChunkLedger } from '../ledger/chunk-ledger';
import type { PlacementNode } from './placement';
import type { NodeItem, NodeRegistry } from './registry';
import { repairReplicasOf, topUpShortShards } from './replica-repair';
import type { Log } from '../log';

export interface FailureDetectorDeps {
  registry: NodeRegistry;
  chunks: ChunkLedger;
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  workQueueUrl: string;
  replicationFactor: number;
  /** A node silent for longer than this is declared DEAD. */
  timeoutMs: number;
  /** Who is detecting (the leader's node id). */
  detectorId: string;
  log: Log;
  /** Tells nodes given replicas by a repair or top-up to look at once (`NodeRegistry.nudge`); absent: they find them at their next pass. */
  nudge?: (nodeIds: string[]) => Promise<void>;
}

/** What recovering one failed node did. */
export interface Recovery {
  nodeId: string;
  silentForMs: number;
  leasesRevoked: number;
  replicasMoved: number;
  recoveryMs: number;
}

/** A registry node as a placement target: its weight is its cache capacity in GiB. */
export const placementOf = (n: NodeItem): PlacementNode => ({ nodeId: n.nodeId, failureDomain: n.failureDomain, capacity: Math.max(1, n.cacheCapacityBytes / 1024 ** 3) });

/** Recoveries running on this node, by dead node id. */
export type RecoveriesInProgress = Map<string, Promise<void>>;

/**
 * One sweep of the leader's failure detector: every node whose heartbeat is older than the
 * timeout is declared DEAD first, then each dead node not yet recovered is recovered: the chunks
 * it leased are revoked and made visible on the queue at once (not after the visibility
 * timeout), and the shard replicas it held are placed on other healthy nodes. Recoveries run
 * apart from the sweep (tracked in `inProgress`, one per dead node), so a slow recovery never
 * delays the detection of the next failure. Returns the nodes this sweep declared dead.
 */
export async function detectFailures(deps: FailureDetectorDeps, inProgress: RecoveriesInProgress, now = Date.now()): Promise<string[]> {
  const nodes = await deps.registry.list();
  const healthy = nodes.filter((n) => n.status === 'ACTIVE' && now - n.lastHeartbeat <= deps.timeoutMs).map(placementOf);
  const declared: string[] = [];
  const toRecover: Array<{ nodeId: string; silentForMs: number }> = [];
  for (const node of nodes) {
    const silent = now - node.lastHeartbeat > deps.timeoutMs && node.status !== 'DEAD';
    if (silent && (await deps.registry.markDead(node, deps.detectorId, now))) {
      deps.log('warn', 'node declared dead', { deadNode: node.nodeId, silentForMs: now - node.lastHeartbeat });
      declared.push(node.nodeId);
      toRecover.push({ nodeId: node.nodeId, silentForMs: now - node.lastHeartbeat });
    } else if (node.status === 'DEAD' && node.recoveredAt === undefined) {
      // Declared earlier and not recovered yet (or a previous leader died half-way through): finish it.
      toRecover.push({ nodeId: node.nodeId, silentForMs: node.silentForMs ?? 0 });
    }
  }
  for (const { nodeId, silentForMs } of toRecover) {
    if (inProgress.has(nodeId)) continue;
    const running = recover(deps, nodeId, silentForMs, healthy)
      .then(() => undefined)
      .catch((err) => deps.log('error', 'recovery failed; the next sweep retries it', { deadNode: nodeId, error: (err as Error).message }))
      .finally(() => inProgress.delete(nodeId));
    inProgress.set(nodeId, running);
  }
  const toppedUp = await topUpShortShards(deps, healthy);
  if (toppedUp > 0) await deps.nudge?.(healthy.map((n) => n.nodeId)).catch(() => undefined);
  if (toppedUp > 0) deps.log('info', 'under-replicated shards topped up', { replicasAdded: toppedUp });
  return declared;
}

async function recover(deps: FailureDetectorDeps, nodeId: string, silentForMs: number, healthy: PlacementNode[]): Promise<Recovery> {
  const started = Date.now();
  const leasesRevoked = await handBackLeases(deps, nodeId);
  const replicasMoved = await repairReplicasOf(deps, nodeId, healthy);
  if (replicasMoved > 0) await deps.nudge?.(healthy.filter((n) => n.nodeId !== nodeId).map((n) => n.nodeId)).catch(() => undefined);
  const recovery = { nodeId, silentForMs, leasesRevoked, replicasMoved, recoveryMs: Date.now() - started };
  await deps.registry.markRecovered(nodeId, { leasesRevoked, replicasMoved, silentForMs }).catch(() => undefined);
  deps.log('info', 'failed node recovered', { ...recovery });
  return recovery;
}

/**
 * Revokes every lease a node holds and makes the chunks' messages visible now, with the
 * receipt handle stored at lease time. Also used by a restarted node for its former self.
 */
export async function handBackLeases(deps: Pick<FailureDetectorDeps, 'chunks' | 'sqs' | 'workQueueUrl' | 'log'>, nodeId: string): Promise<number> {
  let revoked = 0;
  const leases = await deps.chunks.leasesOf(nodeId);
  if (leases.length > 0) deps.log('info', 'handing back leases', { holder: nodeId, chunks: leases.map((c) => c.chunkId) });
  for (const chunk of leases) {
    if (!(await deps.chunks.revoke(chunk))) continue;
    revoked++;
    if (!chunk.receiptHandle) continue;
    await deps.sqs
      .send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.workQueueUrl, ReceiptHandle: chunk.receiptHandle, VisibilityTimeout: 0 }))
      .catch((err) => deps.log('warn', 'could not make message visible; it returns after its visibility timeout', { chunkId: chunk.chunkId, error: (err as Error).message }));
  }
  return revoked;
}
