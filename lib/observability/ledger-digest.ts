import type { NodeItem } from '../cluster/registry';
import type { ChunkItem, ObjectItem, ReplicaItem } from '../ledger/items';

/** The ledger attributes a live view needs (a projection keeps every scan page small). */
export const DIGEST_ATTRIBUTES = [
  'pk',
  'sk',
  'objectId',
  'key',
  'status',
  'size',
  'chunkCount',
  'chunksDone',
  'recordsIn',
  'recordsOut',
  'recordsRejected',
  'recordsFiltered',
  'bytesIn',
  'manifestKey',
  'failedChunks',
  'lastError',
  'createdAt',
  'completedAt',
  'index',
  'attempt',
  'leaseOwner',
  'shortOfReplicas',
  'nodeId',
  'chunkId',
] as const;

/** One error the ledger remembers: a FAILED chunk, a chunk being retried, or a failed object. */
export interface LedgerError {
  objectId: string;
  objectKey: string;
  /** The chunk index, when the error belongs to one chunk. */
  chunk?: number;
  /** FAILED: dead-lettered, needs a redrive after a fix; RETRYING: an attempt failed, the chunk is leased again. */
  kind: 'FAILED' | 'RETRYING' | 'OBJECT';
  attempt?: number;
  message: string;
}

/** Replication as the ledger's replica items show it. */
export interface ReplicaSummary {
  /** Processed shards. */
  shards: number;
  /** Processed shards with fewer than R replicas PRESENT on live nodes. */
  belowR: number;
  /** Replicas ASSIGNED to a live node but not pulled yet. */
  pendingPulls: number;
  /** Replicas a live node's cache refused for lack of room (REFUSED). */
  refused: number;
  /** Shards placed on fewer than R nodes (the leader tops them up as nodes join). */
  flaggedShort: number;
  /** A few of the shards below R, fewest live replicas first. */
  worst: Array<{ chunkId: string; objectKey: string; live: number }>;
}

/** What one ledger scan says, beyond the object rows. */
export interface LedgerDigest {
  objects: ObjectItem[];
  replicas: ReplicaSummary;
  errors: LedgerError[];
  /** Chunks whose lease is held right now. */
  chunksLeased: number;
}

const MAX_ERRORS = 20;
const MAX_WORST = 10;

/**
 * Sorts the items of one ledger scan into objects, replica health and errors. `liveNodes` are the
 * nodes whose replicas count (ACTIVE or DRAINING with a fresh heartbeat).
 */
export function digestLedger(items: Array<Record<string, unknown>>, liveNodes: ReadonlySet<string>, replicationFactor: number): LedgerDigest {
  const objects: ObjectItem[] = [];
  const chunks: ChunkItem[] = [];
  const replicas: ReplicaItem[] = [];
  for (const item of items) {
    const pk = String(item.pk ?? '');
    const sk = String(item.sk ?? '');
    if (pk.startsWith('OBJ#') && sk === 'OBJECT') objects.push(item as unknown as ObjectItem);
    else if (pk.startsWith('OBJ#') && sk.startsWith('CHUNK#')) chunks.push(item as unknown as ChunkItem);
    else if (pk.startsWith('REPLICAS#')) replicas.push(item as unknown as ReplicaItem);
  }
  objects.sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  const keyOf = new Map(objects.map((o) => [o.objectId, o.key]));

  const present = new Map<string, number>();
  let pendingPulls = 0;
  let refused = 0;
  for (const r of replicas) {
    if (!liveNodes.has(r.nodeId)) continue;
    if (r.status === 'PRESENT') present.set(r.chunkId, (present.get(r.chunkId) ?? 0) + 1);
    else if (r.status === 'REFUSED') refused++;
    else pendingPulls++;
  }
  const processed = chunks.filter((c) => c.status === 'PROCESSED');
  const below = processed
    .map((c) => ({ chunkId: c.chunkId, objectKey: keyOf.get(c.objectId) ?? c.objectId, live: present.get(c.chunkId) ?? 0 }))
    .filter((s) => s.live < replicationFactor)
    .sort((a, b) => a.live - b.live || a.chunkId.localeCompare(b.chunkId));

  return {
    objects,
    replicas: {
      shards: processed.length,
      belowR: below.length,
      pendingPulls,
      refused,
      flaggedShort: processed.filter((c) => (c as { shortOfReplicas?: string }).shortOfReplicas).length,
      worst: below.slice(0, MAX_WORST),
    },
    errors: ledgerErrors(objects, chunks, keyOf),
    chunksLeased: chunks.filter((c) => c.status === 'LEASED').length,
  };
}

/** FAILED chunks first, then chunks retrying after an error, then failed objects not explained by a chunk. */
function ledgerErrors(objects: ObjectItem[], chunks: ChunkItem[], keyOf: Map<string, string>): LedgerError[] {
  const chunkErrors = (kind: 'FAILED' | 'RETRYING', status: string): LedgerError[] =>
    chunks
      .filter((c) => c.status === status && c.lastError)
      .map((c) => ({ objectId: c.objectId, objectKey: keyOf.get(c.objectId) ?? c.objectId, chunk: c.index, kind, attempt: c.attempt, message: String(c.lastError) }));
  const failed = chunkErrors('FAILED', 'FAILED');
  const explained = new Set(failed.map((e) => e.objectId));
  const objectErrors: LedgerError[] = objects
    .filter((o) => o.lastError && !explained.has(o.objectId))
    .map((o) => ({ objectId: o.objectId, objectKey: o.key, kind: 'OBJECT', message: String(o.lastError) }));
  return [...failed, ...chunkErrors('RETRYING', 'LEASED'), ...objectErrors].slice(0, MAX_ERRORS);
}

/** Bytes of an object processed so far: the ledger's exact count, or an estimate from chunks done. */
export function processedBytes(o: Pick<ObjectItem, 'bytesIn' | 'size' | 'chunksDone' | 'chunkCount'>): number {
  if (typeof o.bytesIn === 'number' && (o.bytesIn > 0 || o.chunksDone === 0)) return o.bytesIn;
  return o.chunkCount > 0 ? Math.round((o.size * o.chunksDone) / o.chunkCount) : 0;
}

/** Whether a node counts as live for replicas and in-flight work. */
export function isLive(n: Pick<NodeItem, 'status' | 'lastHeartbeat'>, now: number, heartbeatTimeoutMs: number): boolean {
  return (n.status === 'ACTIVE' || n.status === 'DRAINING') && now - n.lastHeartbeat <= heartbeatTimeoutMs;
}
