import { earliestByteOf, firstRecordIndex, type SplitOptions } from './split-lines';

/** A run of whole lines the chunk owns, in a buffer of its own (safe to transfer to a worker). */
export interface LineBlock {
  /** The lines with their terminators; only the object's last line may lack its `\n`. */
  bytes: Buffer;
  /** Absolute offset of `bytes[0]` in the (decompressed) object. */
  offset: number;
}

/** Options of {@link lineBlocks}: the chunk's range, and the block size. */
export interface LineBlockOptions extends Omit<SplitOptions, 'stats'> {
  /** A block ends at the first `\n` at or after this many bytes from its start. @default 1 MiB */
  blockBytes?: number;
  /** Where a block's buffer comes from (a runner may recycle them). @default a new unpooled buffer */
  allocate?: (size: number) => Buffer;
}

const LF = 0x0a;

/** Default block size: large enough that per-block costs vanish, small enough to spread a 4 MiB chunk over workers. */
export const DEFAULT_BLOCK_BYTES = 1024 * 1024;

/**
 * Cuts a chunk's byte stream into blocks of whole lines, following the line-record rule of
 * `splitLines`: the chunk `[start, end)` owns every line whose first byte lies in it, the body
 * must begin at `start - 1` (or earlier) when `start > 0`, and reading stops (ending the body
 * iterator) right after the last owned line. Block boundaries depend on the data only — a block
 * ends at the first `\n` at or after `blockBytes - 1` bytes past its start — never on how the
 * body was cut into buffers, so the blocks (and a shard encoded block by block) are the same on
 * every attempt. Each block is copied into a buffer of its own (`allocate`, by default a new
 * unpooled one), never shared with the input. Memory: one block plus one input buffer; a line
 * longer than a block makes its block as long as the line.
 *
 * The blocks' lengths add up to the chunk's owned bytes (`bytesIn`).
 */
export async function* lineBlocks(body: AsyncIterable<Uint8Array>, options: LineBlockOptions): AsyncGenerator<LineBlock, void, undefined> {
  const { bodyOffset, start, end } = options;
  const blockBytes = Math.max(1, options.blockBytes ?? DEFAULT_BLOCK_BYTES);
  const allocate = options.allocate ?? ((size: number) => Buffer.allocUnsafeSlow(size));
  const earliest = earliestByteOf(options);
  if (start >= end) return;

  // Absolute offset of the current block's first byte; -1 until the chunk's first line is found.
  let blockStart = start === 0 ? 0 : -1;
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let bufOffset = bodyOffset;

  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    if (blockStart < 0) {
      i = firstRecordIndex(buf, bufOffset, earliest);
      if (i < 0) {
        bufOffset += buf.length;
        continue;
      }
      blockStart = bufOffset + i;
      if (blockStart >= end) return;
    }
    while (i < buf.length) {
      // The block ends with the line holding byte `cut`; the chunk with the line holding `end - 1`.
      const cut = Math.min(blockStart + blockBytes - 1, end - 1);
      const nl = buf.indexOf(LF, Math.max(i, cut - bufOffset));
      if (nl < 0) {
        pieces.push(i === 0 ? buf : buf.subarray(i));
        pieceBytes += buf.length - i;
        break;
      }
      pieces.push(buf.subarray(i, nl + 1));
      pieceBytes += nl + 1 - i;
      yield { bytes: join(pieces, allocate(pieceBytes)), offset: blockStart };
      pieces = [];
      pieceBytes = 0;
      blockStart = bufOffset + nl + 1;
      if (blockStart >= end) return;
      i = nl + 1;
    }
    bufOffset += buf.length;
  }
  // End of body: the object's last line, without a final newline.
  if (blockStart >= 0 && pieceBytes > 0) yield { bytes: join(pieces, allocate(pieceBytes)), offset: blockStart };
}

/** The pieces copied into `out` (their total size). */
function join(pieces: Buffer[], out: Buffer): Buffer {
  let at = 0;
  for (const piece of pieces) {
    piece.copy(out, at);
    at += piece.length;
  }
  return out;
}
