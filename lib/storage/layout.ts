/**
 * Where shardline writes in the processed bucket. Keys are deterministic per chunk attempt, so a
 * retried or duplicated attempt never collides with the committed one, and only the attempt the
 * ledger committed is ever listed in a manifest.
 */
const part = (index: number) => `part-${String(index).padStart(6, '0')}`;

export const layout = {
  /** The output shard of one attempt at one chunk; its extension names the codec (`jsonl.gz`, `jsonl.zst`, `jsonl`; `bin` for binary). */
  shardKey: (objectId: string, index: number, attempt: number, extension = 'jsonl.gz') => `shards/${objectId}/${part(index)}-a${attempt}.${extension}`,
  /** The rejected records of one attempt at one chunk. */
  rejectsKey: (objectId: string, index: number, attempt: number) => `rejects/${objectId}/${part(index)}-a${attempt}.jsonl.gz`,
  /** The manifest of one object version, under its source key so users can find it. */
  manifestKey: (sourceKey: string, objectId: string) => `manifests/${sourceKey}/${objectId}.json`,
};
