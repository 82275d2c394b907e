import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ObjectInputError, RATIO_FLOOR_BYTES, type InputLimits } from './input-limits';

/** Compressed input formats an object may arrive in (see `formatOfKey`). */
export type InputCompression = 'gzip' | 'zstd';

type ZstdBinding = typeof import('zstd-napi/binding');
let binding: ZstdBinding | undefined;

/** zstd-napi's low-level binding, loaded on first use (as for zstd shards: a host without it fails the chunk with this reason). */
function zstdBinding(): ZstdBinding {
  if (!binding) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded on first use (see above)
      binding = require('zstd-napi/binding') as ZstdBinding;
    } catch (err) {
      throw new Error(`zstd input needs the native zstd-napi binding, which did not load: ${(err as Error).message}`, { cause: err });
    }
  }
  return binding;
}

/** zstd frames asking for a larger window (`--long`) than 2^27 bytes (128 MiB, zstd's own default limit) are refused. */
const ZSTD_WINDOW_LOG_MAX = 27;

/**
 * The decompressed bytes of a gzip (every member) or zstd (every frame) stream, pulled only as
 * fast as the consumer reads them. The object fails with an {@link ObjectInputError} when it is
 * not valid for its compression, when it decompresses to more than `maxDecompressedBytes`, or
 * when, past {@link RATIO_FLOOR_BYTES}, it has grown more than `maxCompressionRatio` times the
 * compressed bytes read so far (a decompression bomb is stopped early, whatever its final size).
 */
export async function* decompressed(
  body: AsyncIterable<Uint8Array>,
  compression: InputCompression,
  limits: Pick<InputLimits, 'maxDecompressedBytes' | 'maxCompressionRatio'>,
): AsyncGenerator<Buffer, void, undefined> {
  const counts = { in: 0, out: 0 };
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const bytes of body) {
      counts.in += bytes.length;
      yield bytes;
    }
  }
  const source = compression === 'zstd' ? zstdFrames(counted()) : gunzipped(counted());
  for await (const bytes of source) {
    counts.out += bytes.length;
    if (counts.out > limits.maxDecompressedBytes) {
      throw new ObjectInputError(`the ${compression} object decompresses to more than maxDecompressedBytes (${limits.maxDecompressedBytes} bytes)`);
    }
    if (counts.out > RATIO_FLOOR_BYTES && counts.out > limits.maxCompressionRatio * counts.in) {
      throw new ObjectInputError(
        `the ${compression} object decompresses more than maxCompressionRatio (${limits.maxCompressionRatio}) times its size: ${counts.out} bytes from ${counts.in} (a decompression bomb?)`,
      );
    }
    yield bytes;
  }
}

/** zlib's codes for input that is not valid gzip (as opposed to an error of the input stream itself). */
const ZLIB_DATA_ERRORS = new Set(['Z_DATA_ERROR', 'Z_BUF_ERROR', 'Z_STREAM_ERROR', 'Z_NEED_DICT']);

async function* gunzipped(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const gunzip = createGunzip();
  const source = Readable.from(body);
  source.on('error', (err) => gunzip.destroy(err));
  source.pipe(gunzip);
  try {
    for await (const bytes of gunzip as AsyncIterable<Buffer>) yield bytes;
  } catch (err) {
    if (ZLIB_DATA_ERRORS.has((err as { code?: string }).code ?? '')) throw new ObjectInputError(`invalid gzip input: ${(err as Error).message}`);
    throw err;
  } finally {
    source.destroy();
    gunzip.destroy();
  }
}

/**
 * Decompresses zstd with the binding's streaming context directly: zstd-napi's `DecompressStream`
 * pushes all the output of an input buffer at once, which for a bomb is gigabytes.
 */
async function* zstdFrames(body: AsyncIterable<Uint8Array>): AsyncGenerator<Buffer> {
  const zstd = zstdBinding();
  const dctx = new zstd.DCtx();
  dctx.setParameter(zstd.DParameter.windowLogMax, ZSTD_WINDOW_LOG_MAX);
  const outSize = zstd.dStreamOutSize();
  let inFrame = false;
  for await (const bytes of body) {
    let src = bytes;
    for (;;) {
      const dst = Buffer.allocUnsafe(outSize);
      let ret: number, produced: number, consumed: number;
      try {
        [ret, produced, consumed] = dctx.decompressStream(dst, src);
      } catch (err) {
        throw new ObjectInputError(`invalid zstd input: ${(err as Error).message}`);
      }
      src = src.subarray(consumed);
      if (produced > 0) yield dst.subarray(0, produced);
      if (src.length === 0 && (produced < dst.length || ret === 0)) {
        inFrame = ret !== 0;
        break;
      }
    }
  }
  if (inFrame) throw new ObjectInputError('invalid zstd input: the stream ends in the middle of a frame');
}
