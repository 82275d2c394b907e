import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { scanAll } from '../../aws/dynamo-pages';
import { LeaderLease } from '../../cluster/leader-lease';
import { NodeRegistry, type NodeItem } from '../../cluster/registry';
import type { Target } from '../../aws/target';
import { parsePipelineConfig, type PipelineConfig } from '../../config/pipeline-config';
import { ConfigStore, effectiveConfig, EMPTY_CONFIG_DOCUMENT } from '../../control/config-store';
import { ControlTable } from '../../control/control-state';
import type { ChunkItem, ObjectItem } from '../../ledger/items';
import { DIGEST_ATTRIBUTES, digestLedger, isLive, processedBytes } from '../../observability/ledger-digest';
import { queueDepths } from '../../observability/queue-depths';
import { nodeHealth } from '../../observability/snapshot';
import { cloudWatchFor } from '../cloudwatch-client';
import { EMPTY_METRICS, type DoctorEvidence, type MetricEvidence, type NodeEvidence } from './evidence';
import { readPipelineMetrics } from './metric-reader';

export interface CollectEvidenceOptions {
  /** Seconds of metrics to read, ending now. */
  windowSeconds: number;
  /** The metrics' `Stage` dimension (`local` for the local environment). */
  stage: string;
  /** The config the components were deployed with (version 0); defaults fill the rest. */
  deployedConfig?: unknown;
  /** Injected by tests. */
  now?: () => number;
  cloudWatch?: CloudWatchClient;
}

/**
 * Collects what doctor reasons over: the metric catalog from CloudWatch over the window, and one
 * projected scan of the ledger, one of the node registry, the control state, the config in force,
 * the leader and the four queues' depths, all read in parallel. CloudWatch being unreadable is
 * evidence too (`metrics.error`), not a failure: the ledger and queues still say a lot.
 */
export async function collectEvidence(target: Target, opts: CollectEvidenceOptions): Promise<DoctorEvidence> {
  const now = opts.now ?? Date.now;
  const collectedAt = now();
  const { doc, sqs } = target.clients;
  const { ledgerTable, nodesTable, controlTable } = target.resources;
  const cw = opts.cloudWatch ?? cloudWatchFor(target.clients);
  const percentilesCw = opts.cloudWatch ?? cloudWatchFor(target.clients, 1);
  const window = {
    stage: opts.stage,
    start: new Date(collectedAt - opts.windowSeconds * 1000),
    end: new Date(collectedAt),
    workQueueName: target.endpoint ? undefined : queueName(target.resources.workQueueUrl),
  };
  const [items, nodes, lease, queues, control, configDoc, metrics] = await Promise.all([
    scanAll<Record<string, unknown>>(doc, {
      TableName: ledgerTable,
      ProjectionExpression: DIGEST_ATTRIBUTES.map((a) => `#${a}`).join(', '),
      ExpressionAttributeNames: Object.fromEntries(DIGEST_ATTRIBUTES.map((a) => [`#${a}`, a])),
    }),
    new NodeRegistry(doc, nodesTable).list(),
    LeaderLease.read(doc, controlTable).catch(() => undefined),
    queueDepths(sqs, target.resources),
    new ControlTable(doc, controlTable).state().catch(() => undefined),
    new ConfigStore(doc, controlTable).get().catch(() => EMPTY_CONFIG_DOCUMENT),
    readPipelineMetrics(cw, window, percentilesCw).catch((err): MetricEvidence => ({ ...EMPTY_METRICS, error: (err as Error).message })),
  ]);
  const config = configInForce(opts.deployedConfig, configDoc);
  const timeoutMs = config.heartbeatTimeoutSeconds * 1000;
  const live = new Set(nodes.filter((n) => isLive(n, collectedAt, timeoutMs)).map((n) => n.nodeId));
  const digest = digestLedger(items, live, config.replicationFactor);
  const perNode = countPerNode(items);
  const objects: ObjectItem[] = digest.objects;
  return {
    collectedAt,
    windowSeconds: opts.windowSeconds,
    stage: opts.stage,
    label: target.label,
    metrics,
    queues,
    nodes: nodes.map((n) => nodeEvidence(n, collectedAt, timeoutMs, perNode)),
    replication: {
      factor: config.replicationFactor,
      shards: digest.replicas.shards,
      belowR: digest.replicas.belowR,
      pendingPulls: digest.replicas.pendingPulls,
      flaggedShort: digest.replicas.flaggedShort,
    },
    pipeline: {
      ...(control ? { desired: control.desired, reason: control.reason } : {}),
      configVersion: configDoc.version,
      concurrencyPerNode: config.concurrencyPerNode,
      chunkSizeBytes: config.chunkSizeBytes,
      heartbeatTimeoutSeconds: config.heartbeatTimeoutSeconds,
      ...(lease && lease.expiresAt > collectedAt ? { leader: lease.holder } : {}),
    },
    ledger: {
      objects: objects.length,
      incompleteObjects: objects.filter((o) => o.status !== 'COMPLETE' && o.status !== 'FAILED' && o.status !== 'QUARANTINED').length,
      chunkCount: objects.reduce((n, o) => n + (o.chunkCount ?? 0), 0),
      chunksDone: objects.reduce((n, o) => n + (o.chunksDone ?? 0), 0),
      chunksLeased: digest.chunksLeased,
      failedChunks: objects.reduce((n, o) => n + (o.failedChunks ?? 0), 0),
      bytesTotal: objects.reduce((n, o) => n + (o.size ?? 0), 0),
      bytesProcessed: objects.reduce((n, o) => n + processedBytes(o), 0),
    },
  };
}

/** The default group's config: deployed config (defaults fill it), then the central overrides. */
function configInForce(deployed: unknown, doc: typeof EMPTY_CONFIG_DOCUMENT): PipelineConfig {
  const base = parsePipelineConfig(deployed ?? {});
  try {
    return effectiveConfig(base, doc);
  } catch {
    return base; // an override this version cannot parse: the nodes refuse it too
  }
}

/** Replica items and held leases per node, from the ledger scan. */
function countPerNode(items: Array<Record<string, unknown>>): Map<string, { replicas: number; leases: number }> {
  const out = new Map<string, { replicas: number; leases: number }>();
  const entry = (id: string) => out.get(id) ?? (out.set(id, { replicas: 0, leases: 0 }).get(id) as { replicas: number; leases: number });
  for (const item of items) {
    const pk = String(item.pk ?? '');
    if (pk.startsWith('REPLICAS#') && item.nodeId) entry(String(item.nodeId)).replicas++;
    else if (pk.startsWith('OBJ#') && String(item.sk).startsWith('CHUNK#')) {
      const chunk = item as unknown as ChunkItem;
      if (chunk.status === 'LEASED' && chunk.leaseOwner) entry(chunk.leaseOwner).leases++;
    }
  }
  return out;
}

function nodeEvidence(n: NodeItem, now: number, timeoutMs: number, perNode: Map<string, { replicas: number; leases: number }>): NodeEvidence {
  const counts = perNode.get(n.nodeId) ?? { replicas: 0, leases: 0 };
  return {
    nodeId: n.nodeId,
    status: n.status,
    health: nodeHealth(n, now, timeoutMs),
    failureDomain: n.failureDomain,
    instanceType: n.instanceType,
    cpus: n.cpus,
    gpus: n.gpus,
    // The weight the agents place by (see Agent.placementNodes): cache GiB, at least 1.
    placementWeight: Math.max(1, (n.cacheCapacityBytes ?? 0) / 1024 ** 3),
    heartbeatAgeMs: Math.max(0, now - n.lastHeartbeat),
    inFlight: n.load?.inFlight ?? 0,
    concurrency: n.load?.concurrency ?? 0,
    chunksDone: n.load?.chunksDone ?? 0,
    replicas: counts.replicas,
    leasesHeld: counts.leases,
    ...(n.deadAt !== undefined ? { deadAt: n.deadAt } : {}),
    ...(n.recoveredAt !== undefined ? { recoveredAt: n.recoveredAt } : {}),
    ...(n.silentForMs !== undefined ? { silentForMs: n.silentForMs } : {}),
    ...(n.detectedBy !== undefined ? { detectedBy: n.detectedBy } : {}),
  };
}

/** `https://sqs.../123/name` → `name`. */
function queueName(url: string): string | undefined {
  return url.split('/').pop() || undefined;
}
