import { createHash } from 'node:crypto';
import type { RecordFormat } from '../config/pipeline-config';

/** One version of one object in S3, as the chunker saw it in HeadObject. */
export interface ObjectRef {
  bucket: string;
  key: string;
  /** S3 version id when the bucket is versioned. */
  versionId?: string;
  /** ETag without quotes. */
  etag: string;
  size: number;
  /** Set when the object is processed by a run over a prefix: the run has its own object ids. */
  runId?: string;
}

/** How an object's bytes are stored. Gzip objects cannot be split and travel as one chunk. */
export type Compression = 'none' | 'gzip';

/** The message an agent receives from the work queue for one chunk. */
export interface ChunkMessage {
  v: 1;
  objectId: string;
  chunkId: string;
  index: number;
  chunkCount: number;
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
  objectSize: number;
  /** The chunk owns every record whose first byte lies in [start, end). */
  start: number;
  end: number;
  format: RecordFormat;
  compression: Compression;
  /** The run over a prefix this chunk belongs to, if any. */
  runId?: string;
}

/**
 * Deterministic id of one object version: the same (bucket, key, version or ETag) always
 * yields the same id, so duplicate events re-plan nothing.
 */
export function objectIdOf(ref: Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag' | 'runId'>): string {
  const version = ref.versionId && ref.versionId !== 'null' ? `v:${ref.versionId}` : `e:${ref.etag}`;
  // A run processes the object again (e.g. with a new config): its own id, its own outputs.
  const run = ref.runId ? `\0run:${ref.runId}` : '';
  return createHash('sha256').update(`${ref.bucket}\0${ref.key}\0${version}${run}`).digest('hex').slice(0, 32);
}

/** Deterministic id of chunk `index` of an object. */
export function chunkIdOf(objectId: string, index: number): string {
  return `${objectId}-${String(index).padStart(6, '0')}`;
}

/** Infers compression and record format from a key's extension (`.jsonl.gz` → gzip + jsonl). */
export function formatOfKey(key: string, forced?: RecordFormat): { format: RecordFormat; compression: Compression } {
  const lower = key.toLowerCase();
  const compression: Compression = lower.endsWith('.gz') || lower.endsWith('.gzip') ? 'gzip' : 'none';
  const base = compression === 'gzip' ? lower.replace(/\.gz(ip)?$/, '') : lower;
  if (forced) return { format: forced, compression };
  if (/\.(jsonl|ndjson|json)$/.test(base)) return { format: 'jsonl', compression };
  if (/\.(csv|tsv)$/.test(base)) return { format: 'csv', compression };
  if (/\.(txt|text|log)$/.test(base)) return { format: 'text', compression };
  return { format: 'binary', compression };
}
