import { scanAll } from '../aws/dynamo-pages';
import { LeaderLease } from '../cluster/leader-lease';
import { NodeRegistry, type NodeItem } from '../cluster/registry';
import { leaderRow, nodeRow, objectRow, type ObjectStatusRow, type PipelineStatus } from './status';
import type { Target } from '../aws/target';
import { ConfigStore } from '../control/config-store';
import { ControlTable, type ControlState } from '../control/control-state';
import { DIGEST_ATTRIBUTES, digestLedger, isLive, processedBytes, type LedgerError, type ReplicaSummary } from './ledger-digest';
import { queueDepths, type QueueDepths } from './queue-depths';
import { checkpointRows, withCheckpointAttributes } from './checkpoint-rows';

/** Health of a node as a live view shows it. */
export type NodeHealth = 'healthy' | 'stale' | 'draining' | 'joining' | 'dead';

export interface SnapshotNode extends Omit<PipelineStatus['nodes'][number], 'load'> {
  load?: { inFlight: number; chunksDone: number; concurrency: number; configVersion?: number };
  health: NodeHealth;
  /** The config version the node runs, when its heartbeat reports one. */
  configVersion?: number;
}

export interface SnapshotObject extends ObjectStatusRow {
  /** Bytes processed so far (exact from the ledger, or estimated from chunks done). */
  bytesDone: number;
}

/** Totals over every object in the ledger, and the work in flight on live nodes. */
export interface SnapshotTotals {
  objects: number;
  bytesTotal: number;
  bytesProcessed: number;
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  chunkCount: number;
  chunksDone: number;
  /** Sum of `load.inFlight` over live nodes' heartbeats. */
  chunksInFlight: number;
  /** Chunks whose ledger lease is held. */
  chunksLeased: number;
}

/** Everything a live view shows at one instant; a superset of `shardline status --json`. */
export interface PipelineSnapshot extends PipelineStatus {
  /** The pipeline's desired state and the central config version (absent if they cannot be read). */
  control?: ControlState & { configVersion: number };
  /** Epoch ms when collection started. */
  collectedAt: number;
  /** How long the collection took (ms). */
  collectMs: number;
  label: string;
  replicationFactor: number;
  objects: SnapshotObject[];
  nodes: SnapshotNode[];
  queues: QueueDepths;
  replicas: ReplicaSummary;
  errors: LedgerError[];
  totals: SnapshotTotals;
}

export interface SnapshotOptions {
  /** R, the replicas every shard should have. @default 2 */
  replicationFactor?: number;
  /** Heartbeat silence after which a node no longer counts as live. @default 3500 */
  heartbeatTimeoutMs?: number;
  /** Clock (injected by tests). */
  now?: () => number;
}

/**
 * Collects one snapshot with ten requests or so, whatever the size of the pipeline: one
 * projected scan of the ledger (objects, chunks and replica items together, paged), the node
 * registry by key (its membership item, then 100 nodes to a BatchGetItem), three reads of the control table (leader lease, desired state, config
 * version) and one GetQueueAttributes per queue. At one snapshot a second that is well under what
 * an emulator serves (about 200 DynamoDB ops/s).
 */
export async function collectSnapshot(target: Target, opts: SnapshotOptions = {}): Promise<PipelineSnapshot> {
  const now = opts.now ?? Date.now;
  const replicationFactor = opts.replicationFactor ?? 2;
  const heartbeatTimeoutMs = opts.heartbeatTimeoutMs ?? 3500;
  const { doc, sqs } = target.clients;
  const { ledgerTable, nodesTable, controlTable } = target.resources;
  const started = now();
  const [items, nodes, lease, queues, control] = await Promise.all([
    scanAll<Record<string, unknown>>(doc, {
      TableName: ledgerTable,
      ProjectionExpression: withCheckpointAttributes(DIGEST_ATTRIBUTES)
        .map((a) => `#${a}`)
        .join(', '),
      ExpressionAttributeNames: Object.fromEntries(withCheckpointAttributes(DIGEST_ATTRIBUTES).map((a) => [`#${a}`, a])),
    }),
    new NodeRegistry(doc, nodesTable).list(),
    LeaderLease.read(doc, controlTable),
    queueDepths(sqs, target.resources),
    Promise.all([new ControlTable(doc, controlTable).state(), new ConfigStore(doc, controlTable).get()]).then(
      ([state, config]) => ({ ...state, configVersion: config.version }),
      () => undefined, // a deployment without a control plane still gets its view
    ),
  ]);
  const at = now();
  const live = nodes.filter((n) => isLive(n, at, heartbeatTimeoutMs));
  const digest = digestLedger(items, new Set(live.map((n) => n.nodeId)), replicationFactor);
  const objects = digest.objects.map((o) => ({ ...objectRow(o), bytesDone: processedBytes(o) }));
  return {
    collectedAt: started,
    collectMs: at - started,
    label: target.label,
    replicationFactor,
    ...(control ? { control } : {}),
    leader: leaderRow(lease, at),
    objects,
    nodes: nodes.map((n) => snapshotNode(n, at, heartbeatTimeoutMs)),
    queues,
    replicas: digest.replicas,
    errors: digest.errors,
    checkpoints: checkpointRows(items, at),
    totals: {
      objects: objects.length,
      bytesTotal: sum(objects, (o) => o.size),
      bytesProcessed: sum(objects, (o) => o.bytesDone),
      recordsIn: sum(objects, (o) => o.recordsIn),
      recordsOut: sum(objects, (o) => o.recordsOut),
      recordsRejected: sum(objects, (o) => o.recordsRejected),
      recordsFiltered: sum(objects, (o) => o.recordsFiltered),
      chunkCount: sum(objects, (o) => o.chunkCount),
      chunksDone: sum(objects, (o) => o.chunksDone),
      chunksInFlight: sum(live, (n) => n.load?.inFlight ?? 0),
      chunksLeased: digest.chunksLeased,
    },
  };
}

function snapshotNode(n: NodeItem, now: number, heartbeatTimeoutMs: number): SnapshotNode {
  const row = nodeRow(n, now);
  const configVersion = n.load?.configVersion;
  return {
    ...row,
    health: nodeHealth(n, now, heartbeatTimeoutMs),
    ...(typeof configVersion === 'number' ? { configVersion } : {}),
  };
}

/** DEAD and DRAINING as registered; otherwise healthy while the heartbeat is fresh, else stale. */
export function nodeHealth(n: Pick<NodeItem, 'status' | 'lastHeartbeat'>, now: number, heartbeatTimeoutMs: number): NodeHealth {
  if (n.status === 'DEAD') return 'dead';
  if (now - n.lastHeartbeat > heartbeatTimeoutMs) return 'stale';
  if (n.status === 'DRAINING') return 'draining';
  if (n.status === 'JOINING') return 'joining';
  return 'healthy';
}

const sum = <T>(xs: T[], f: (x: T) => number) => xs.reduce((acc, x) => acc + (Number(f(x)) || 0), 0);
