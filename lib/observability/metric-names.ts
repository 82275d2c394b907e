/**
 * The one catalog of shardline's CloudWatch metrics: agents publish them (high resolution),
 * Lambdas emit them as EMF, the CDK dashboard and alarms read them, and `doctor` reasons over
 * them. Every metric lives in one namespace; the `Stage` dimension names the deployment stage.
 */
export const METRIC_NAMESPACE = 'Shardline';

/** Agent metrics (per chunk unless stated), published every second. */
export const AgentMetric = {
  /** Time from a chunk message being sent to a worker taking it. */
  queueWaitMs: 'ChunkQueueWaitMs',
  /** Time spent waiting on S3 GETs of the chunk's byte range. */
  downloadMs: 'ChunkDownloadMs',
  /** Time spent decoding, validating and transforming records. */
  processMs: 'ChunkProcessMs',
  /** Time spent writing the shard (and rejects) to S3. */
  uploadMs: 'ChunkUploadMs',
  /** Time of the ledger commit (transaction incl. replica placement) and message delete. */
  commitMs: 'ChunkCommitMs',
  /** Lease to finalize, the whole per-chunk latency. */
  totalMs: 'ChunkTotalMs',
  bytesProcessed: 'BytesProcessed',
  recordsProcessed: 'RecordsProcessed',
  recordsRejected: 'RecordsRejected',
  chunksProcessed: 'ChunksProcessed',
  /** Dimension `ErrorKind` (e.g. s3, dynamodb, transform, lease-lost, malformed). */
  chunkErrors: 'ChunkErrors',
  /** Gauge: chunks being worked on by the node. */
  chunksInFlight: 'ChunksInFlight',
  /** Dimension `Service` (S3 | DynamoDB): throttling responses seen (SlowDown, 503, throughput exceeded). */
  throttles: 'Throttles',
  /** Gauge, published by the leader: nodes with a fresh heartbeat. */
  healthyNodes: 'HealthyNodes',
  /** Gauge, published by the leader: shards with fewer than R live replicas. */
  shardsBelowReplication: 'ShardsBelowReplication',
  /** Count of leadership acquisitions. */
  leaderChanges: 'LeaderChanges',
  /** Shards copied into a node's cache by the replica puller. */
  replicasPulled: 'ReplicasPulled',
  /** Shards evicted from a node's cache to make room (placement no longer assigned them there). */
  cacheEvictions: 'CacheEvictions',
  /** Shards a node's cache refused for lack of room (replica REFUSED). */
  cacheRefusals: 'CacheRefusals',
  /** Objects completed (manifest written), counted once by the node that completed each. */
  objectsCompleted: 'ObjectsCompleted',
  /** Objects quarantined (a chunk failed on every receive), counted once: the circuit breaker's failure rate. */
  objectsQuarantined: 'ObjectsQuarantined',
} as const;

/** Chunker Lambda metrics (EMF through Powertools Metrics). */
export const ChunkerMetric = {
  objectsPlanned: 'ObjectsPlanned',
  chunksPlanned: 'ChunksPlanned',
  bytesPlanned: 'BytesPlanned',
  malformedEvents: 'MalformedIngestEvents',
  /** Objects refused (FAILED: a format or compression shardline cannot read): finished badly, for the circuit breaker's failure rate. */
  objectsRefused: 'ObjectsRefused',
} as const;

/** Task-stopped Lambda metrics (EMF through Powertools Metrics). */
export const TaskStoppedMetric = {
  /** Nodes declared DEAD from an ECS task-stopped event (before their heartbeat aged out). */
  nodesMarkedDead: 'NodesMarkedDeadOnTaskStop',
} as const;

/** Dimension every shardline metric carries. */
export const STAGE_DIMENSION = 'Stage';
/** Dimension of `ChunkErrors` naming the kind of failure. */
export const ERROR_KIND_DIMENSION = 'ErrorKind';
/** Dimension of `Throttles` naming the throttling service (S3 | DynamoDB). */
export const SERVICE_DIMENSION = 'Service';

/**
 * What the CDK dashboard and alarms read, so publishers must emit it: every metric with the
 * dimension set {Stage} alone (a per-node dimension would split the fleet-wide series), except
 * `Throttles`, read as {Stage, Service}. `ChunkErrors` is read both as {Stage} (the total the
 * error-rate alarm divides) and as {Stage, ErrorKind} (the breakdown), so it is emitted with both
 * sets. Gauges (`ChunksInFlight`) are summed across nodes and divided by the period, which
 * relies on each node publishing them once a second.
 */
export const DIMENSION_SETS_READ = {
  default: [[STAGE_DIMENSION]],
  [AgentMetric.chunkErrors]: [[STAGE_DIMENSION], [STAGE_DIMENSION, ERROR_KIND_DIMENSION]],
  [AgentMetric.throttles]: [[STAGE_DIMENSION, SERVICE_DIMENSION]],
} as const;

/** Host-leaving Lambda metrics (EMF through Powertools Metrics). */
export const HostLeavingMetric = {
  /** Nodes asked to leave (DRAINING) because their host got a Spot interruption notice or is scaled in. */
  nodesMarkedLeaving: 'NodesMarkedLeaving',
} as const;
