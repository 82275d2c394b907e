import { z } from 'zod';
import { RecordFormat } from '../config/pipeline-config';
import { chunkIdOf, type ChunkMessage } from '../chunking/chunk';

/**
 * Object ids are the first 32 hex digits of a sha256 (`objectIdOf`), chunk ids `<objectId>-NNNNNN`
 * (`chunkIdOf`). Both name files and directories in the agent's cache, so nothing else is taken.
 */
const OBJECT_ID = /^[0-9a-f]{32}$/;
const CHUNK_ID = /^[0-9a-f]{32}-[0-9]{6,}$/;

const ChunkMessageSchema = z.object({
  v: z.literal(1),
  objectId: z.string().regex(OBJECT_ID, 'must be 32 lowercase hex digits'),
  chunkId: z.string().regex(CHUNK_ID, 'must be <objectId>-NNNNNN'),
  index: z.number().int().nonnegative(),
  chunkCount: z.number().int().positive(),
  bucket: z.string().min(1),
  key: z.string().min(1),
  versionId: z.string().optional(),
  etag: z.string(),
  objectSize: z.number().int().nonnegative(),
  start: z.number().int().nonnegative(),
  end: z.number().int().positive(),
  format: RecordFormat,
  compression: z.enum(['none', 'gzip', 'zstd']),
  /** Optional: the run over a prefix the chunk belongs to (kept for log correlation). */
  runId: z.string().min(1).optional(),
  /** Optional: chunk 0 of a large compressed object splits it into windows of this size. */
  windowBytes: z.number().int().positive().optional(),
  /** Optional: a staged decompressed window, holding the object's bytes from `base` on. */
  window: z.object({ base: z.number().int().nonnegative() }).strict().optional(),
});

/** Parses a work-queue message body; throws with the reason for anything that is not a chunk. */
export function parseChunkMessage(body: string | undefined): ChunkMessage {
  let json: unknown;
  try {
    json = JSON.parse(body ?? '');
  } catch {
    throw new Error('malformed chunk message: body is not JSON');
  }
  const result = ChunkMessageSchema.safeParse(json);
  if (!result.success) {
    throw new Error(`malformed chunk message: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  }
  if (result.data.end <= result.data.start) throw new Error('malformed chunk message: end must be after start');
  if (result.data.chunkId !== chunkIdOf(result.data.objectId, result.data.index)) {
    throw new Error('malformed chunk message: chunkId is not the id of chunk `index` of `objectId`');
  }
  return result.data as ChunkMessage;
}
