import type { DatasetConfig, PipelineConfig, RecordFormat } from '../config/pipeline-config';
import { chunkIdOf, formatOfKey, objectIdOf, type ChunkMessage, type Compression, type ObjectRef } from './chunk';

/** The chunk plan of one object version. */
export interface ChunkPlan {
  objectId: string;
  object: ObjectRef;
  format: RecordFormat;
  compression: Compression;
  chunks: ChunkMessage[];
  /** Set when the object's format or compression cannot be read: no chunks, the object is refused with this reason. */
  refused?: string;
}

/** When a compressed object is split into decompressed windows (see `splitOf`). */
export interface CompressedSplit {
  /** Compressed objects of at least this many bytes are split. */
  minBytes: number;
  /** Decompressed bytes per window. */
  windowBytes: number;
}

/** Default of `compressedSplitMinBytes`: below it an object is one chunk, as always. */
export const DEFAULT_COMPRESSED_SPLIT_MIN_BYTES = 1024 * 1024;

/** The compressed-object split a config asks for (`compressedSplitMinBytes`, `compressedWindowBytes`). */
export function splitOf(config: Pick<PipelineConfig, 'chunkSizeBytes'> & Partial<Pick<PipelineConfig, 'compressedSplitMinBytes' | 'compressedWindowBytes'>>): CompressedSplit {
  return { minBytes: config.compressedSplitMinBytes ?? DEFAULT_COMPRESSED_SPLIT_MIN_BYTES, windowBytes: config.compressedWindowBytes ?? config.chunkSizeBytes };
}

/** Formats whose compressed objects can be split into windows of lines (CSV needs its header in every window; binary is one record). */
const WINDOWED_FORMATS: ReadonlySet<RecordFormat> = new Set(['jsonl', 'text']);

/**
 * Plans the chunks of an object from its size alone (no download): byte ranges of
 * `chunkSizeBytes`, the last one shorter. Compressed (gzip, zstd) objects cannot be split by byte
 * range and are planned as one chunk; with `split`, that chunk of a JSON Lines or text object of
 * at least `split.minBytes` carries `windowBytes`, and the agent that leases it splits the object
 * into decompressed windows (`lib/windows`), so the object's chunk count grows as it is read.
 * A zero-byte object has no chunks; an object whose format or compression cannot be read (see
 * `formatOfKey`) has none either, and says why in `refused`.
 */
export function planChunks(object: ObjectRef, chunkSizeBytes: number, dataset: Pick<DatasetConfig, 'format'> = {}, split?: CompressedSplit): ChunkPlan {
  if (!Number.isSafeInteger(object.size) || object.size < 0) throw new Error(`invalid object size ${object.size}`);
  if (!Number.isSafeInteger(chunkSizeBytes) || chunkSizeBytes <= 0) throw new Error(`invalid chunk size ${chunkSizeBytes}`);
  const objectId = objectIdOf(object);
  const { format, compression, refused } = formatOfKey(object.key, dataset.format);
  if (refused) return { objectId, object, format, compression, chunks: [], refused };
  const step = compression !== 'none' ? Math.max(object.size, 1) : chunkSizeBytes;
  const chunkCount = Math.ceil(object.size / step);
  const windowBytes = split && compression !== 'none' && WINDOWED_FORMATS.has(format) && object.size >= split.minBytes ? split.windowBytes : undefined;
  const chunks: ChunkMessage[] = [];
  for (let index = 0; index < chunkCount; index++) {
    const start = index * step;
    chunks.push({
      v: 1,
      objectId,
      chunkId: chunkIdOf(objectId, index),
      index,
      chunkCount,
      bucket: object.bucket,
      key: object.key,
      ...(object.versionId ? { versionId: object.versionId } : {}),
      etag: object.etag,
      objectSize: object.size,
      start,
      end: Math.min(start + step, object.size),
      format,
      compression,
      ...(object.runId ? { runId: object.runId } : {}),
      ...(windowBytes ? { windowBytes } : {}),
    });
  }
  return { objectId, object, format, compression, chunks };
}
