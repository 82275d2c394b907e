import type { DatasetConfig, RecordFormat } from '../config/pipeline-config';
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

/**
 * Plans the chunks of an object from its size alone (no download): byte ranges of
 * `chunkSizeBytes`, the last one shorter. Compressed (gzip, zstd) objects are not splittable and
 * become one chunk; a zero-byte object has no chunks; an object whose format or compression
 * cannot be read (see `formatOfKey`) has none either, and says why in `refused`.
 */
export function planChunks(object: ObjectRef, chunkSizeBytes: number, dataset: Pick<DatasetConfig, 'format'> = {}): ChunkPlan {
  if (!Number.isSafeInteger(object.size) || object.size < 0) throw new Error(`invalid object size ${object.size}`);
  if (!Number.isSafeInteger(chunkSizeBytes) || chunkSizeBytes <= 0) throw new Error(`invalid chunk size ${chunkSizeBytes}`);
  const objectId = objectIdOf(object);
  const { format, compression, refused } = formatOfKey(object.key, dataset.format);
  if (refused) return { objectId, object, format, compression, chunks: [], refused };
  const step = compression !== 'none' ? Math.max(object.size, 1) : chunkSizeBytes;
  const chunkCount = Math.ceil(object.size / step);
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
    });
  }
  return { objectId, object, format, compression, chunks };
}
