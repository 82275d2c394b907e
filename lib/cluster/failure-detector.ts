import { ChangeMessageVisibilityCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChunkLedger } from '../ledger/chunk-ledger';
import type { PlacementNode } from './placement';
import type { NodeItem, NodeRegistry } from './registry';
import { repairReplicasOf, topUpShortShards } from './replica-repair';

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
  log: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** What recovering one failed node did. */
export interface Recovery {
  nodeId: string;
  silentForMs: number;
  leasesRevoked: number;
  replicasMoved: number;
  recoveryMs: number;
}

const placementOf = (n: NodeItem): PlacementNode => ({ nodeId: n.nodeId, failureDomain: n.failureDomain, capacity: Math.max(1, n.cacheCapacityBytes / 1024 ** 3) });

/**
 * The leader's failure detector: a node whose heartbeat is older than the timeout is declared
 * DEAD; the chunks it leased are revoked and made visible on the queue at once (not after the
 * visibility timeout), and the shard replicas it held are placed on other healthy nodes.
 */
export async function detectFailures(deps: FailureDetectorDeps, now = Date.now()): Promise<Recovery[]> {
  const nodes = await deps.registry.list();
  const healthy = nodes.filter((n) => n.status === 'ACTIVE' && now - n.lastHeartbeat <= deps.timeoutMs).map(placementOf);
  const recoveries: Recovery[] = [];
  for (const node of nodes) {
    const silent = now - node.lastHeartbeat > deps.timeoutMs && node.status !== 'DEAD';
    if (silent && (await deps.registry.markDead(node, deps.detectorId, now))) {
      deps.log('warn', 'node declared dead', { deadNode: node.nodeId, silentForMs: now - node.lastHeartbeat });
      recoveries.push(await recover(deps, node.nodeId, now - node.lastHeartbeat, healthy));
    } else if (node.status === 'DEAD' && node.recoveredAt === undefined) {
      // A previous leader died half-way through a recovery: finish it.
      recoveries.push(await recover(deps, node.nodeId, node.silentForMs ?? 0, healthy));
    }
  }
  const toppedUp = await topUpShortShards(deps, healthy);
  if (toppedUp > 0) deps.log('info', 'under-replicated shards topped up', { replicasAdded: toppedUp });
  return recoveries;
}

async function recover(deps: FailureDetectorDeps, nodeId: string, silentForMs: number, healthy: PlacementNode[]): Promise<Recovery> {
  const started = Date.now();
  const leasesRevoked = await handBackLeases(deps, nodeId);
  const replicasMoved = await repairReplicasOf(deps, nodeId, healthy);
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
