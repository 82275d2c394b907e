/**
 * Where shardline writes in the processed bucket. Keys are deterministic per chunk attempt, so a
 * retried or duplicated attempt never collides with the committed one, and only the attempt the
 * ledger committed is ever listed in a manifest. Every key stays within S3's 1,024 bytes whatever
 * the source key: outputs and manifests are named by object id, and the one key that carries the
 * source key (the by-key entry) cuts it to fit.
 */
const part = (index: number) => `part-${String(index).padStart(6, '0')}`;

/** S3's limit on a key, in bytes of UTF-8. */
export const MAX_S3_KEY_BYTES = 1024;
/** Where the by-key entries live: `manifests/by-key/<source key, cut to fit>/<object id>`. */
export const BY_KEY_PREFIX = 'manifests/by-key/';
/** Where decompressed windows of split compressed objects are staged in the processed bucket. */
export const STAGING_PREFIX = 'staging/';
/** Object ids are 32 hex digits (`objectIdOf`). */
const OBJECT_ID = /^[0-9a-f]{32}$/;
/** The longest source key (bytes) kept whole in a by-key entry: the rest of the limit is the prefix, `/` and the id. */
export const BY_KEY_SOURCE_BYTES = MAX_S3_KEY_BYTES - BY_KEY_PREFIX.length - 1 - 32;

export const layout = {
  /** The output shard of one attempt at one chunk; its extension names the codec (`jsonl.gz`, `jsonl.zst`, `jsonl`; `bin` for binary). */
  shardKey: (objectId: string, index: number, attempt: number, extension = 'jsonl.gz') => `shards/${objectId}/${part(index)}-a${attempt}.${extension}`,
  /** The rejected records of one attempt at one chunk. */
  rejectsKey: (objectId: string, index: number, attempt: number) => `rejects/${objectId}/${part(index)}-a${attempt}.jsonl.gz`,
  /**
   * A decompressed window of a split compressed object (see `lib/windows`), staged for the agent
   * that processes it; everything under {@link STAGING_PREFIX} is deleted once its object completes
   * and expires by a lifecycle rule otherwise.
   */
  stagingKey: (objectId: string, index: number) => `${STAGING_PREFIX}${objectId}/${part(index)}`,
  /** Every staged window of one object. */
  stagingPrefix: (objectId: string) => `${STAGING_PREFIX}${objectId}/`,
  /** The manifest of one object version, named by its id (the source key is inside it). */
  manifestKey: (objectId: string) => `manifests/${objectId}.json`,
  /**
   * The by-key entry of an object version: lists objects by source key or prefix without a table
   * scan. A source key longer than {@link BY_KEY_SOURCE_BYTES} is cut (whole characters), so a
   * listing finds candidates and the ledger's full key decides.
   */
  byKeyEntry: (sourceKey: string, objectId: string) => `${BY_KEY_PREFIX}${cutToBytes(sourceKey, BY_KEY_SOURCE_BYTES)}/${objectId}`,
  /** The listing prefix that finds every by-key entry whose source key starts with `prefix`. */
  byKeyPrefix: (prefix: string) => `${BY_KEY_PREFIX}${cutToBytes(prefix, BY_KEY_SOURCE_BYTES)}`,
};

/** A by-key entry's parts; `cut` when its source key was too long to keep whole (only a prefix of it is there). */
export function parseByKeyEntry(key: string): { sourceKey: string; objectId: string; cut: boolean } | undefined {
  const slash = key.lastIndexOf('/');
  if (!key.startsWith(BY_KEY_PREFIX) || slash < BY_KEY_PREFIX.length) return undefined;
  const objectId = key.slice(slash + 1);
  if (!OBJECT_ID.test(objectId)) return undefined;
  const sourceKey = key.slice(BY_KEY_PREFIX.length, slash);
  return { sourceKey, objectId, cut: Buffer.byteLength(sourceKey) >= BY_KEY_SOURCE_BYTES - 3 };
}

/** The longest prefix of `s` of at most `maxBytes` UTF-8 bytes that ends on a whole character. */
export function cutToBytes(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let bytes = 0;
  let end = 0;
  for (const ch of s) {
    const n = Buffer.byteLength(ch);
    if (bytes + n > maxBytes) break;
    bytes += n;
    end += ch.length;
  }
  return s.slice(0, end);
}
