import type { NodeHealth } from '../../observability/snapshot';
import type { QueueDepths } from '../../observability/queue-depths';

/**
 * What `shardline doctor` reasons over: figures read from CloudWatch over a window, and the
 * ledger, node registry, control state and queues at one instant. Plain data (JSON), so recorded
 * scenarios can be replayed through `diagnose` (see test/fixtures/doctor/).
 */
export interface DoctorEvidence {
  /** Epoch ms of the collection. */
  collectedAt: number;
  /** Seconds of metrics looked at, ending at `collectedAt`. */
  windowSeconds: number;
  /** The metrics' `Stage` dimension. */
  stage: string;
  label: string;
  metrics: MetricEvidence;
  queues: QueueDepths;
  nodes: NodeEvidence[];
  replication: ReplicationEvidence;
  pipeline: PipelineEvidence;
  ledger: LedgerEvidence;
}

/** Per-chunk latency of one stage over the window. `p50`/`p90` only where CloudWatch computes percentiles (AWS; not moto). */
export interface LatencyStat {
  count: number;
  meanMs: number;
  p50Ms?: number;
  p90Ms?: number;
  maxMs?: number;
}

/** Latency metrics of the catalog, by stage of a chunk's life. */
export interface StageLatencies {
  queueWait?: LatencyStat;
  download?: LatencyStat;
  process?: LatencyStat;
  upload?: LatencyStat;
  commit?: LatencyStat;
  total?: LatencyStat;
}

/** The agent and chunker metrics of the catalog, aggregated over the window. */
export interface MetricEvidence {
  /** False when no agent metric had a data point in the window (or CloudWatch could not be read). */
  present: boolean;
  /** Why CloudWatch could not be read, if it could not. */
  error?: string;
  /** False when CloudWatch refused percentile statistics (moto), so latencies are means only. */
  percentiles: boolean;
  latency: StageLatencies;
  bytesProcessed: number;
  recordsProcessed: number;
  chunksProcessed: number;
  chunkErrors: number;
  chunkErrorsByKind: Record<string, number>;
  throttles: { s3: number; dynamodb: number };
  /** ChunksInFlight: mean per reporting node, fleet mean (sum over nodes), and how many nodes reported on average. */
  inFlight?: { meanPerNode: number; meanFleet: number; reportingNodes: number };
  healthyNodes?: { min: number; max: number; last: number };
  shardsBelowReplication?: { max: number; last: number };
  replicasPulled: number;
  leaderChanges: number;
  chunker: { objectsPlanned: number; chunksPlanned: number; bytesPlanned: number };
  /** AWS/SQS ApproximateAgeOfOldestMessage of the work queue (AWS only: emulators have no AWS/SQS metrics). */
  oldestWorkMessageAgeSeconds?: number;
}

/** One registered node as doctor sees it. */
export interface NodeEvidence {
  nodeId: string;
  status: string;
  health: NodeHealth;
  failureDomain: string;
  instanceType?: string;
  cpus?: number;
  gpus?: number;
  /** The capacity weight placement gives the node (cache GiB, at least 1), as the agents compute it. */
  placementWeight: number;
  heartbeatAgeMs: number;
  inFlight: number;
  /** Chunks the node may work on at once now (lowered while throttled). */
  concurrency: number;
  chunksDone: number;
  /** Replica items assigned to the node (ASSIGNED or PRESENT). */
  replicas: number;
  /** Chunks whose ledger lease the node holds. */
  leasesHeld: number;
  deadAt?: number;
  recoveredAt?: number;
  silentForMs?: number;
  detectedBy?: string;
}

export interface ReplicationEvidence {
  factor: number;
  shards: number;
  belowR: number;
  pendingPulls: number;
  flaggedShort: number;
}

export interface PipelineEvidence {
  /** RUNNING, PAUSED, DRAINING, STOPPED (absent without a control plane). */
  desired?: string;
  reason?: string;
  configVersion?: number;
  /** Settings in force (deployed config with the central overrides). */
  concurrencyPerNode: number;
  chunkSizeBytes: number;
  heartbeatTimeoutSeconds: number;
  leader?: string;
}

export interface LedgerEvidence {
  objects: number;
  incompleteObjects: number;
  chunkCount: number;
  chunksDone: number;
  chunksLeased: number;
  failedChunks: number;
  bytesTotal: number;
  bytesProcessed: number;
}

export const EMPTY_METRICS: MetricEvidence = {
  present: false,
  percentiles: false,
  latency: {},
  bytesProcessed: 0,
  recordsProcessed: 0,
  chunksProcessed: 0,
  chunkErrors: 0,
  chunkErrorsByKind: {},
  throttles: { s3: 0, dynamodb: 0 },
  replicasPulled: 0,
  leaderChanges: 0,
  chunker: { objectsPlanned: 0, chunksPlanned: 0, bytesPlanned: 0 },
};
