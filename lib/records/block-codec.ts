import { PassThrough, type Transform } from 'node:stream';
import { createGunzip, gzipSync } from 'node:zlib';
import type { ShardCodec } from './shard-codec';

type Zstd = typeof import('zstd-napi');
let zstd: Zstd | undefined;

/**
 * The native zstd binding, loaded on first use: a host whose image lacks it still writes gzip,
 * and a zstd config fails on its first chunk with this reason rather than the agent at start.
 */
function zstdBinding(): Zstd {
  if (!zstd) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
      zstd = require('zstd-napi') as Zstd;
    } catch (err) {
      throw new Error(`zstd shards need the native zstd-napi binding, which did not load: ${(err as Error).message}`, { cause: err });
    }
  }
  return zstd;
}

/**
 * Encodes one block of JSON Lines as one self-contained gzip member or zstd frame. A shard is
 * its blocks' encodings back to back: multi-member gzip and multi-frame zstd are valid streams
 * that every gunzip / zstd reader decodes as one text. The output depends only on the bytes and
 * the level (gzip headers hold no mtime), so a shard is the same bytes on every attempt.
 */
export function encodeBlock(bytes: Uint8Array, codec: ShardCodec, level: number): Buffer {
  switch (codec) {
    case 'gzip':
      return gzipSync(bytes, { level });
    case 'zstd':
      return zstdBinding().compress(bytes, { compressionLevel: level });
    case 'none':
      return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    default:
      throw new Error(`unknown shard codec "${codec as string}"`);
  }
}

/** A stream decoding a whole shard written with `codec` (every member or frame of it). */
export function createShardDecoder(codec: ShardCodec): Transform {
  switch (codec) {
    case 'gzip':
      return createGunzip();
    case 'zstd':
      return new (zstdBinding().DecompressStream)();
    case 'none':
      return new PassThrough();
    default:
      throw new Error(`unknown shard codec "${codec as string}"`);
  }
}

/** Decodes a whole shard held in memory (tests, small tools). */
export function decodeShard(bytes: Uint8Array, codec: ShardCodec): Promise<Buffer> {
  const decoder = createShardDecoder(codec);
  const parts: Buffer[] = [];
  return new Promise((resolve, reject) => {
    decoder.on('data', (b: Buffer) => parts.push(b));
    decoder.on('end', () => resolve(Buffer.concat(parts)));
    decoder.on('error', reject);
    decoder.end(bytes);
  });
}
