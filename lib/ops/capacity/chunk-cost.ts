/**
 * What one chunk costs in AWS requests, counted from the code that does the work, so `plan` and
 * `doctor` reason about the same figures. Revisit these counts when that code changes:
 *
 * DynamoDB (lib/ledger/chunk-ledger.ts, lib/agent/chunk-worker.ts, lib/agent/replica-puller.ts),
 * with every item at most 1 KB (1 write unit; a transactional write costs 2 per item):
 * - lease: one conditional UpdateItem                                   → 1 WCU
 * - keep-alive: one UpdateItem per third of the lease while it works    → 1 WCU each
 * - commit: TransactWriteItems of the chunk, its object and R replicas  → 2 × (2 + R) WCU
 * - finalize: a consistent GetItem of the object after each commit       → 1 RCU
 * - replica puller: one UpdateItem per replica marked PRESENT            → R WCU
 * So 5 + 3R (+ keep-alives) write units: 11 for R = 2. The commit's object update lands on the
 * object's own item, so all chunks of one object share one item's 1,000 WCU/s.
 *
 * S3 (lib/agent/chunk-processor.ts, lib/agent/replica-puller.ts):
 * - source: one ranged GET per chunk (a second only when the last record runs past the 1 MiB tail)
 * - processed: the shard upload (one PUT up to 8 MiB, else multipart: create + 8 MiB parts +
 *   complete) and the rejects file (one PUT); R GETs when the replicas are pulled
 *
 * SQS (lib/chunker/chunker.ts, lib/agent/agent.ts, lib/agent/chunk-worker.ts): a tenth of a
 * SendMessageBatch, one ReceiveMessage (one message per receive), one ChangeMessageVisibility at
 * lease and one per keep-alive, one DeleteMessage.
 */
export interface ChunkCost {
  ddbWriteUnits: number;
  ddbReadUnits: number;
  /** Write units on the object's item (the commit's object update, transactional). */
  ddbWriteUnitsOnObjectItem: number;
  s3SourceGets: number;
  s3ProcessedPuts: number;
  s3ReplicaGets: number;
  sqsRequests: number;
  keepAlives: number;
}

/** Part size of the shard uploads (lib/agent/chunk-processor.ts). */
export const UPLOAD_PART_BYTES = 8 * 1024 * 1024;

export interface ChunkCostInput {
  replicationFactor: number;
  /** Bytes of the shard written for the chunk. */
  shardBytes: number;
  /** Seconds a chunk is worked on (lease to commit). */
  chunkSeconds: number;
  /** The lease (visibility timeout): keep-alives run every third of it, at least every second. */
  visibilityTimeoutSeconds: number;
}

/** Requests and capacity units of one chunk (see the counts above). */
export function chunkCost(input: ChunkCostInput): ChunkCost {
  const r = input.replicationFactor;
  const keepAliveEvery = Math.max(1, input.visibilityTimeoutSeconds / 3);
  const keepAlives = Math.floor(input.chunkSeconds / keepAliveEvery);
  const shardPuts = input.shardBytes <= UPLOAD_PART_BYTES ? 1 : Math.ceil(input.shardBytes / UPLOAD_PART_BYTES) + 2;
  return {
    ddbWriteUnits: 1 + keepAlives + 2 * (2 + r) + r,
    ddbReadUnits: 1,
    ddbWriteUnitsOnObjectItem: 2,
    s3SourceGets: 1,
    s3ProcessedPuts: shardPuts + 1,
    s3ReplicaGets: r,
    sqsRequests: 0.1 + 1 + 1 + keepAlives + 1,
    keepAlives,
  };
}

/** Per object (not per chunk): the chunker's HEAD, plan put and enqueue update; the manifest PUT, completion update and the lists of the clean-up. */
export const PER_OBJECT = { ddbWriteUnits: 3, s3Heads: 1, s3Puts: 1, s3Lists: 2 } as const;
