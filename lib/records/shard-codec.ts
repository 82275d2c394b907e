/**
 * How a shard's JSON Lines are encoded. The shard key's extension says it (`.jsonl.gz`,
 * `.jsonl.zst`, `.jsonl`), and so do the manifest and the dataset index (`codec`).
 */
export type ShardCodec = 'gzip' | 'zstd' | 'none';

/** Every codec a reader must know (`none`: plain JSON Lines, and binary pass-through). */
export const SHARD_CODECS: readonly ShardCodec[] = ['gzip', 'zstd', 'none'];

const EXTENSIONS: Record<ShardCodec, string> = { gzip: 'jsonl.gz', zstd: 'jsonl.zst', none: 'jsonl' };

/** The key extension (no dot) of a JSON Lines shard written with `codec`. */
export function shardExtension(codec: ShardCodec): string {
  return EXTENSIONS[codec];
}

/** The codec a shard key's extension names: `.gz` gzip, `.zst` zstd, anything else (`.jsonl`, `.bin`) none. */
export function codecOfKey(key: string): ShardCodec {
  if (key.endsWith('.gz')) return 'gzip';
  if (key.endsWith('.zst')) return 'zstd';
  return 'none';
}
