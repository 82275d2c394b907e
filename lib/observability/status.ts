/** The pipeline's status as data: each object's progress, the leader and the nodes (rendered by the CLI). */
import { LeaderLease, type LeaderLeaseItem } from '../cluster/leader-lease';
import { NodeRegistry, type NodeCacheLoad, type NodeItem } from '../cluster/registry';
import type { ObjectItem } from '../ledger/items';
import { ObjectLedger } from '../ledger/object-ledger';
import { ConfigStore } from '../control/config-store';
import { ControlTable, type ControlState } from '../control/control-state';
import type { Target } from '../aws/target';
import { collectCheckpointRows, type CheckpointStatusRow } from './checkpoint-rows';

/** One object's progress as the ledger sees it. */
export interface ObjectStatusRow {
  key: string;
  objectId: string;
  status: string;
  size: number;
  chunksDone: number;
  chunkCount: number;
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  balanced: boolean;
  manifestKey?: string;
  failedChunks: number;
  lastError?: string;
  /** Why it was QUARANTINED (its first chunk to fail on every receive), and when; `shardline redrive` releases it. */
  quarantineReason?: string;
  quarantinedAt?: string;
  /** The run over a prefix that planned it, if any. */
  runId?: string;
}

/** One node as status shows it: health, load, the host's metadata and its cache. */
export type NodeStatusRow = Pick<NodeItem, 'nodeId' | 'status' | 'failureDomain' | 'instanceType' | 'load'> &
  Partial<
    Pick<
      NodeItem,
      'region' | 'availabilityZone' | 'instanceId' | 'cpus' | 'memoryMiB' | 'gpus' | 'gpuModel' | 'gpuMemoryMiB' | 'networkBandwidth' | 'networkGbps' | 'cacheCapacityBytes' | 'drainReason'
    >
  > & {
    heartbeatAgeMs: number;
    /** The cache as the last heartbeat reported it. */
    cache?: NodeCacheLoad;
  };

export interface PipelineStatus {
  /** The desired state the control plane recorded, and the central config version. */
  control?: ControlState & { configVersion: number };
  leader?: { holder: string; token: number; expiresInMs: number };
  objects: ObjectStatusRow[];
  nodes: NodeStatusRow[];
  /** Each job's training checkpoints: the last complete step and the uploads in flight. */
  checkpoints?: CheckpointStatusRow[];
}

/** Reads every object's progress and the node registry. */
export async function collectStatus(target: Target, now = Date.now()): Promise<PipelineStatus> {
  const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  const registry = new NodeRegistry(target.clients.doc, target.resources.nodesTable);
  const [objects, nodes, lease, control, config, checkpoints] = await Promise.all([
    ledger.list(),
    registry.list(),
    LeaderLease.read(target.clients.doc, target.resources.controlTable),
    new ControlTable(target.clients.doc, target.resources.controlTable).state(),
    new ConfigStore(target.clients.doc, target.resources.controlTable).get(),
    collectCheckpointRows(target.clients.doc, target.resources.ledgerTable, now),
  ]);
  return { control: { ...control, configVersion: config.version }, leader: leaderRow(lease, now), objects: objects.map(objectRow), nodes: nodes.map((n) => nodeRow(n, now)), checkpoints };
}

/** The leader as status shows it. */
export function leaderRow(lease: LeaderLeaseItem | undefined, now: number): PipelineStatus['leader'] {
  return lease ? { holder: lease.holder, token: lease.token, expiresInMs: lease.expiresAt - now } : undefined;
}

/** One object item as a status row. */
export function objectRow(o: ObjectItem): ObjectStatusRow {
  return {
    key: o.key,
    objectId: o.objectId,
    status: o.status,
    size: o.size,
    chunksDone: o.chunksDone,
    chunkCount: o.chunkCount,
    recordsIn: o.recordsIn,
    recordsOut: o.recordsOut,
    recordsRejected: o.recordsRejected,
    recordsFiltered: o.recordsFiltered,
    balanced: o.recordsIn === o.recordsOut + o.recordsRejected + o.recordsFiltered,
    manifestKey: o.manifestKey,
    failedChunks: o.failedChunks ?? 0,
    lastError: o.lastError,
    ...(o.status === 'QUARANTINED' ? { quarantineReason: o.quarantineReason ?? o.lastError, quarantinedAt: o.quarantinedAt } : {}),
    runId: o.runId,
  };
}

/** One node item as a status row (heartbeat age clamped at 0 against clock skew). */
export function nodeRow(n: NodeItem, now: number): NodeStatusRow {
  const row: NodeStatusRow = {
    nodeId: n.nodeId,
    status: n.status,
    failureDomain: n.failureDomain,
    instanceType: n.instanceType,
    load: n.load,
    heartbeatAgeMs: Math.max(0, now - n.lastHeartbeat),
    region: n.region,
    availabilityZone: n.availabilityZone,
    instanceId: n.instanceId,
    cpus: n.cpus,
    memoryMiB: n.memoryMiB,
    gpus: n.gpus,
    gpuModel: n.gpuModel,
    gpuMemoryMiB: n.gpuMemoryMiB,
    networkBandwidth: n.networkBandwidth,
    networkGbps: n.networkGbps,
    cacheCapacityBytes: n.cacheCapacityBytes,
    drainReason: n.drainReason,
    cache: n.load?.cache,
  };
  // Absent fields stay absent in `status --json`.
  return Object.fromEntries(Object.entries(row).filter(([, v]) => v !== undefined)) as NodeStatusRow;
}
