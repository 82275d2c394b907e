import type { Compression } from '../chunking/chunk';
import type { RecordFormat } from '../config/pipeline-config';

/**
 * Item shapes and keys of the ledger table (generic `pk`/`sk`). Every object version owns its
 * own partition (`OBJ#<objectId>`), so load spreads across objects; chunk items live beside
 * their object item. Replica assignments live in one partition per node (`REPLICAS#<nodeId>`)
 * so an agent finds its work with one query.
 */
export const keys = {
  object: (objectId: string) => ({ pk: `OBJ#${objectId}`, sk: 'OBJECT' }),
  chunk: (objectId: string, index: number) => ({ pk: `OBJ#${objectId}`, sk: `CHUNK#${String(index).padStart(6, '0')}` }),
  chunkPrefix: 'CHUNK#',
  replica: (nodeId: string, chunkId: string) => ({ pk: `REPLICAS#${nodeId}`, sk: `SHARD#${chunkId}` }),
};

/** Ledger GSI over `leasedBy` (present only while a chunk is LEASED). */
export const LEASES_BY_HOLDER_INDEX = 'byLeaseHolder';
/** Ledger GSI over `shortOfReplicas` (present only on shards placed on fewer than R nodes). */
export const SHORT_OF_REPLICAS_INDEX = 'byReplicaShortfall';
export const SHORT = 'SHORT';
/** Ledger GSI over `unfinished` (present only on objects not yet COMPLETE). */
export const UNFINISHED_OBJECTS_INDEX = 'byUnfinished';
export const UNFINISHED = 'OPEN';

/**
 * QUARANTINED: a chunk of the object failed on every receive (it dead-lettered); the object is
 * set aside with the reason while the rest of the pipeline runs on, until `shardline redrive`
 * releases it after a fix. FAILED: the object itself was refused (nothing to retry).
 */
export type ObjectStatus = 'PLANNING' | 'ENQUEUED' | 'COMPLETE' | 'QUARANTINED' | 'FAILED';
export type ChunkStatus = 'LEASED' | 'PROCESSED' | 'FAILED';

/** Record counts; always `recordsIn = recordsOut + recordsRejected + recordsFiltered`. */
export interface RecordCounts {
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  bytesIn: number;
}

export interface ObjectItem extends RecordCounts {
  pk: string;
  sk: 'OBJECT';
  objectId: string;
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
  size: number;
  format: RecordFormat;
  compression: Compression;
  chunkCount: number;
  chunkSizeBytes: number;
  chunksDone: number;
  status: ObjectStatus;
  planStartedAt: number;
  createdAt: string;
  completedAt?: string;
  manifestKey?: string;
  /** Chunks that dead-lettered after maxReceiveCount failures. */
  failedChunks?: number;
  lastError?: string;
  /** Why the object was quarantined (its first chunk to fail for good), while QUARANTINED. */
  quarantineReason?: string;
  /** When it was quarantined (ISO 8601), while QUARANTINED. */
  quarantinedAt?: string;
  /** The run over a prefix that planned this object, if any. */
  runId?: string;
  /** When the latest chunk commit landed (epoch ms). */
  lastCommitAt?: number;
  /** {@link UNFINISHED} until the object is COMPLETE (sparse index key). */
  unfinished?: typeof UNFINISHED;
}

/** One written output file (a shard or a rejects file) of a chunk. */
export interface OutputFile {
  key: string;
  sha256: string;
  bytes: number;
  lines: number;
}

export interface ChunkItem extends Partial<RecordCounts> {
  pk: string;
  sk: string;
  objectId: string;
  chunkId: string;
  index: number;
  status: ChunkStatus;
  leaseOwner: string;
  /** Set only while LEASED, for the by-holder index. */
  leasedBy?: string;
  leaseExpiresAt: number;
  attempt: number;
  /** Attempts that failed (a node's death is not a failure of the chunk). */
  failures?: number;
  receiptHandle?: string;
  shard?: OutputFile;
  rejects?: OutputFile;
  replicas?: string[];
  processedAt?: string;
  durationMs?: number;
  lastError?: string;
  /** The chunk's work message, kept while FAILED so that a redrive can send it again. */
  message?: string;
}

/** REFUSED: the node's cache has no room for it (see `refusedReason`); it is pulled once room is made. */
export type ReplicaStatus = 'ASSIGNED' | 'PRESENT' | 'REFUSED';

/** One shard assigned to one node's cache. */
export interface ReplicaItem {
  pk: string;
  sk: string;
  nodeId: string;
  chunkId: string;
  objectId: string;
  shardKey: string;
  sha256: string;
  bytes: number;
  /** Records in the shard (the chunk's `recordsOut`); absent on items written before it was recorded. */
  records?: number;
  status: ReplicaStatus;
  assignedAt: string;
  presentAt?: string;
  localPath?: string;
  /** Why the node's cache refused the shard, while REFUSED. */
  refusedReason?: string;
  refusedAt?: string;
}

export const ZERO_COUNTS: RecordCounts = { recordsIn: 0, recordsOut: 0, recordsRejected: 0, recordsFiltered: 0, bytesIn: 0 };
