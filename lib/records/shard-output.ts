import { createHash } from 'node:crypto';
import { PassThrough, Transform, pipeline, type Readable, type Writable } from 'node:stream';
import { createGzip } from 'node:zlib';

/** What was written: checksum and size of the bytes on the readable side, and the line count. */
export interface ShardSummary {
  /** Hex sha256 of the output (compressed) bytes. */
  sha256: string;
  /** Byte count of the output (compressed) bytes. */
  bytes: number;
  /** `\n`-terminated lines written (for binary data, simply its `\n` bytes). */
  lines: number;
}

/** Options of {@link createShardOutput}. */
export interface ShardOutputOptions {
  /** Gzip the output (false for binary passthrough). @default true */
  compress?: boolean;
  /** zlib compression level. @default 6 */
  level?: number;
  /**
   * The bytes written are already encoded (a shard from `processChunk` with a codec): they pass
   * through unchanged and are hashed, but their lines cannot be counted (`lines` is 0: the
   * caller knows them). Implies no compression. @default false
   */
  encoded?: boolean;
}

/** A shard being written: write JSON Lines (or raw bytes) in, stream output bytes out. */
export interface ShardOutput {
  /** Write the shard's text or bytes here, then `end()` it. */
  readonly writable: Writable;
  /** The (gzip-compressed) output, e.g. the `Body` of an S3 `Upload`. Must be consumed. */
  readonly readable: Readable;
  /** Resolves once the readable side has produced every byte; rejects if either side failed. */
  finished(): Promise<ShardSummary>;
}

/**
 * Creates a streaming shard writer: lines in, gzip bytes out, with the sha256 and size of the
 * output bytes computed on the way. Output is deterministic: the same input always gives the
 * same bytes (zlib writes no mtime or file name into the gzip header).
 */
export function createShardOutput(options: ShardOutputOptions = {}): ShardOutput {
  const compress = !options.encoded && (options.compress ?? true);
  let lines = 0;
  let bytes = 0;
  const hash = createHash('sha256');

  const counter = new Transform({
    transform(chunk: Buffer, _enc, done) {
      if (options.encoded) return done(null, chunk);
      let i = chunk.indexOf(0x0a);
      while (i >= 0) {
        lines++;
        i = chunk.indexOf(0x0a, i + 1);
      }
      done(null, chunk);
    },
  });
  const hasher = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      bytes += chunk.length;
      done(null, chunk);
    },
  });
  const readable = new PassThrough();

  const done = new Promise<ShardSummary>((resolve, reject) => {
    const onDone = (err?: Error | null): void => {
      if (err) reject(err);
      else resolve({ sha256: hash.digest('hex'), bytes, lines });
    };
    // pipeline() destroys every stage when one fails, so an error on the writable side also
    // fails the reader of the readable side (an S3 upload is aborted, never completed short).
    if (compress) pipeline(counter, createGzip({ level: options.level ?? 6 }), hasher, readable, onDone);
    else pipeline(counter, hasher, readable, onDone);
  });
  // Callers usually await the upload first; keep an early failure from being "unhandled".
  done.catch(() => undefined);

  return { writable: counter, readable, finished: () => done };
}
