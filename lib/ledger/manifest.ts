import { DeleteObjectsCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { codecOfKey, type ShardCodec } from '../records/shard-codec';
import { listKeys } from '../storage/list-keys';
import { layout } from '../storage/layout';
import type { ChunkItem, ObjectItem, OutputFile, RecordCounts } from './items';
import type { ObjectLedger } from './object-ledger';
import type { OnObjectOutcome } from './object-outcome';

/** The manifest of one processed object version, written next to its shards. */
export interface ObjectManifest {
  version: 1;
  source: { bucket: string; key: string; versionId?: string; etag: string; size: number };
  objectId: string;
  format: string;
  compression: string;
  chunkCount: number;
  totals: RecordCounts;
  balanced: boolean;
  /**
   * `codec`: how the shard's bytes are encoded (`none` for plain JSON Lines and binary), as its
   * key's extension says; absent in manifests written before shards had a choice (gzip).
   */
  shards: Array<OutputFile & { chunk: number; records: number; replicas: string[]; codec?: ShardCodec }>;
  rejects: Array<OutputFile & { chunk: number }>;
  completedAt: string;
}

/** Builds the manifest from the ledger's committed chunks (never from files in the bucket). */
export function buildManifest(object: ObjectItem, chunks: ChunkItem[], now = new Date()): ObjectManifest {
  const done = chunks.filter((c) => c.status === 'PROCESSED').sort((a, b) => a.index - b.index);
  const sum = (f: keyof RecordCounts) => done.reduce((n, c) => n + (c[f] ?? 0), 0);
  const totals: RecordCounts = {
    recordsIn: sum('recordsIn'),
    recordsOut: sum('recordsOut'),
    recordsRejected: sum('recordsRejected'),
    recordsFiltered: sum('recordsFiltered'),
    bytesIn: sum('bytesIn'),
  };
  return {
    version: 1,
    source: { bucket: object.bucket, key: object.key, ...(object.versionId ? { versionId: object.versionId } : {}), etag: object.etag, size: object.size },
    objectId: object.objectId,
    format: object.format,
    compression: object.compression,
    chunkCount: object.chunkCount,
    totals,
    balanced: done.length === object.chunkCount && totals.recordsIn === totals.recordsOut + totals.recordsRejected + totals.recordsFiltered,
    shards: done.map((c) => ({ ...(c.shard as OutputFile), chunk: c.index, records: c.recordsOut ?? 0, replicas: c.replicas ?? [], codec: codecOfKey((c.shard as OutputFile).key) })),
    rejects: done.filter((c) => c.rejects && c.rejects.lines > 0).map((c) => ({ ...(c.rejects as OutputFile), chunk: c.index })),
    completedAt: now.toISOString(),
  };
}

/** What finalizing an object needs: the ledger, the processed bucket, and who is told it completed. */
export interface FinalizeDeps {
  objects: ObjectLedger;
  s3: S3Client;
  processedBucket: string;
  onObjectOutcome?: OnObjectOutcome;
}

/**
 * Writes the manifest (`manifests/<object id>.json`) and its by-key entry, and marks the object
 * complete once every chunk is committed. Safe to call from every worker that commits a chunk: it
 * does nothing until the last one, and two finishers write the same manifest. A QUARANTINED
 * object whose failed chunks were all redone (its DLQ messages redriven by any means) completes too.
 */
export async function finalizeObjectIfComplete(deps: FinalizeDeps, objectId: string): Promise<ObjectManifest | undefined> {
  const object = await deps.objects.get(objectId);
  if (!object || object.status === 'COMPLETE' || object.status === 'PLANNING' || object.chunksDone < object.chunkCount) return undefined;
  const chunks = await deps.objects.chunks(objectId);
  const manifest = buildManifest(object, chunks);
  const key = layout.manifestKey(objectId);
  const entry = JSON.stringify({ objectId, manifestKey: key, source: manifest.source });
  await Promise.all([
    deps.s3.send(new PutObjectCommand({ Bucket: deps.processedBucket, Key: key, Body: JSON.stringify(manifest, null, 2), ContentType: 'application/json' })),
    deps.s3.send(new PutObjectCommand({ Bucket: deps.processedBucket, Key: layout.byKeyEntry(object.key, objectId), Body: entry, ContentType: 'application/json' })),
  ]);
  if (await deps.objects.markComplete(objectId, key)) {
    await removeAbandonedOutputs(deps, objectId, chunks);
    await Promise.resolve(deps.onObjectOutcome?.({ outcome: 'complete', objectId, bucket: object.bucket, key: object.key, manifestKey: key })).catch(() => undefined);
  }
  return manifest;
}

/** How long after an object's last commit the leader's sweep steps in for its committer. */
export const FINALIZE_GRACE_MS = 5000;

/**
 * The leader's sweep: finalizes every object whose chunks are all committed but which nobody
 * finalized (its last committer died or failed between commit and finalize). Returns their ids.
 */
export async function finalizeFinishedObjects(deps: FinalizeDeps, settledMs = FINALIZE_GRACE_MS): Promise<string[]> {
  const finalized: string[] = [];
  for (const objectId of await deps.objects.awaitingFinalize(settledMs)) {
    if (await finalizeObjectIfComplete(deps, objectId)) finalized.push(objectId);
  }
  return finalized;
}

/**
 * Deletes the outputs of attempts the ledger never committed (a crash between upload and
 * commit, a zombie's late upload) and the staged windows of a split object: they are never in a
 * manifest and should not linger.
 */
export async function removeAbandonedOutputs(deps: { s3: S3Client; processedBucket: string }, objectId: string, chunks: ChunkItem[]): Promise<number> {
  const committed = new Set(chunks.flatMap((c) => [c.shard?.key, c.rejects?.key]).filter(Boolean));
  // Staged windows of a split compressed object (`lib/windows`) are never committed outputs: all go.
  const keys = await listKeys(deps.s3, deps.processedBucket, [`shards/${objectId}/`, `rejects/${objectId}/`, layout.stagingPrefix(objectId)]);
  const abandoned = keys.filter((k) => !committed.has(k));
  for (let i = 0; i < abandoned.length; i += 1000) {
    await deps.s3.send(new DeleteObjectsCommand({ Bucket: deps.processedBucket, Delete: { Objects: abandoned.slice(i, i + 1000).map((Key) => ({ Key })), Quiet: true } }));
  }
  return abandoned.length;
}
