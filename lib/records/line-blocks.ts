import { REJECT_PREFIX_BYTES } from './input-limits';
import { earliestByteOf, firstRecordIndex, type SplitOptions } from './split-lines';

/** A run of whole lines the chunk owns, at the start of a buffer of its own (safe to transfer to a worker). */
export interface LineBlock {
  /** The lines with their terminators; only the object's last line may lack its `\n`. Empty for an oversized line. */
  bytes: Buffer;
  /** Absolute offset of `bytes[0]` (of the oversized line) in the (decompressed) object. */
  offset: number;
  /** Set instead of `bytes` for one line longer than `maxRecordBytes`, which was skipped, not held. */
  oversized?: OversizedLine;
}

/** A line longer than `maxRecordBytes`: what is known of it without holding it. */
export interface OversizedLine {
  /** Its length in bytes without the `\n` (at least this much when `lengthAtLeast`). */
  length: number;
  /** The line runs past the chunk's end and was not read to its end. */
  lengthAtLeast: boolean;
  /** Its first {@link REJECT_PREFIX_BYTES} bytes (fewer when `maxRecordBytes` is smaller), a copy. */
  prefix: Buffer;
  /** The bytes read of it, its `\n` included (what it adds to the chunk's `bytesIn`). */
  ownedBytes: number;
}

/** Options of {@link lineBlocks}: the chunk's range, and the block size. */
export interface LineBlockOptions extends Omit<SplitOptions, 'stats'> {
  /** A block ends at the first `\n` at or after this many bytes from its start. @default 2 MiB ({@link DEFAULT_BLOCK_BYTES}) */
  blockBytes?: number;
  /** Where a block's buffer comes from (a runner may recycle them). @default a new unpooled buffer */
  allocate?: (size: number) => Buffer;
  /** Longest line (without its `\n`) yielded in a block; a longer one is skipped and yielded as {@link OversizedLine}. @default no limit */
  maxRecordBytes?: number;
}

const LF = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Default block size: large enough that per-block costs (a task's messages and wake-ups, its
 * buffers for the garbage collector) stay small next to the record path (1 MiB blocks cost the
 * threads around the workers about 40% more; `bench:processing --block-kib`), small enough to
 * spread a 4 MiB chunk over two workers.
 */
export const DEFAULT_BLOCK_BYTES = 2 * 1024 * 1024;

/** Room a block's buffer starts with: the block and, most often, the rest of the line that holds its cut. */
export const blockRoom = (blockBytes: number): number => blockBytes + Math.ceil(blockBytes / 4);

/**
 * Cuts a chunk's byte stream into blocks of whole lines, following the line-record rule of
 * `splitLines`: the chunk `[start, end)` owns every line whose first byte lies in it, the body
 * must begin at `start - 1` (or earlier) when `start > 0`, and reading stops (ending the body
 * iterator) right after the last owned line. Block boundaries depend on the data only — a block
 * ends at the first `\n` at or after `blockBytes - 1` bytes past its start — never on how the
 * body was cut into buffers, so the blocks (and a shard encoded block by block) are the same on
 * every attempt. Each block is copied into a buffer of its own (`allocate`, by default a new
 * unpooled one), never shared with the input, as the input arrives: no input buffer is held once
 * the next one is asked for, so a body may refill the same buffers.
 *
 * A line longer than `maxRecordBytes` ends the block before it and is yielded on its own as an
 * {@link OversizedLine}: skipped while it streams by, never held. Reading never goes further than
 * `end`, unless to finish a last line no longer than `maxRecordBytes`: a chunk that starts inside
 * a long line stops at `end` when no line starts in its range, and an oversized last line is given
 * up at `end` (or once it is known to be oversized, past `end`). Memory: one block plus one input
 * buffer; a block is at most `max(blockBytes, maxRecordBytes)` plus a line's terminator.
 *
 * The blocks' lengths (and the oversized lines' `ownedBytes`) add up to the chunk's owned bytes
 * (`bytesIn`), less the unread rest of an oversized last line.
 */
export async function* lineBlocks(body: AsyncIterable<Uint8Array>, options: LineBlockOptions): AsyncGenerator<LineBlock, void, undefined> {
  const { bodyOffset, start, end } = options;
  const maxRecordBytes = options.maxRecordBytes ?? Infinity;
  if (!(maxRecordBytes >= 1)) throw new RangeError(`invalid maxRecordBytes ${maxRecordBytes}`);
  // Lines before a block's cut are shorter than a block: only the line holding the cut can be oversized.
  const blockBytes = Math.max(1, Math.min(options.blockBytes ?? DEFAULT_BLOCK_BYTES, maxRecordBytes));
  const allocate = options.allocate ?? ((size: number) => Buffer.allocUnsafeSlow(size));
  const earliest = earliestByteOf(options);
  if (start >= end) return;

  // Absolute offset of the current block's first byte; -1 until the chunk's first line is found.
  let blockStart = start === 0 ? 0 : -1;
  const block = new BlockBuffer(allocate, blockRoom(blockBytes));
  let bufOffset = bodyOffset;
  // Where the line holding the block's cut starts, once needed (-1: not yet known).
  let cutLineStart = -1;
  // The oversized line being skipped.
  let skipping: { offset: number; prefix: Buffer; seen: number } | undefined;

  /** Ends the block before the oversized line at `lineStart`, which is skipped from now on. */
  function* enterSkip(lineStart: number, seen: number): Generator<LineBlock> {
    const before = lineStart - blockStart;
    // Always the same bytes: `seen` (more than maxRecordBytes) varies with the input's buffers.
    const prefixBytes = Math.min(REJECT_PREFIX_BYTES, maxRecordBytes + 1);
    const prefix = block.copyOf(before, before + prefixBytes);
    const bytes = block.take(before);
    skipping = { offset: lineStart, prefix, seen };
    cutLineStart = -1;
    if (before > 0) yield { bytes, offset: blockStart };
  }
  const skipped = (lengthAtLeast: boolean, terminator: number): LineBlock => {
    const line = skipping as NonNullable<typeof skipping>;
    skipping = undefined;
    // Given up past `end`: how far the input's buffers went varies, this lower bound does not.
    const length = lengthAtLeast ? Math.max(end - line.offset, maxRecordBytes + 1) : line.seen;
    return { bytes: EMPTY, offset: line.offset, oversized: { length, lengthAtLeast, prefix: line.prefix, ownedBytes: length + terminator } };
  };

  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    if (blockStart < 0) {
      i = firstRecordIndex(buf, bufOffset, earliest);
      if (i < 0) {
        bufOffset += buf.length;
        // A line starting from here on would start at `end` or later: the chunk owns none.
        if (bufOffset + 1 >= end) return;
        continue;
      }
      blockStart = bufOffset + i;
      if (blockStart >= end) return;
    }
    while (i < buf.length) {
      if (skipping) {
        const nl = buf.indexOf(LF, i);
        if (nl < 0) {
          skipping.seen += buf.length - i;
          if (bufOffset + buf.length >= end) {
            yield skipped(true, 0);
            return;
          }
          break;
        }
        skipping.seen += nl - i;
        yield skipped(false, 1);
        blockStart = bufOffset + nl + 1;
        if (blockStart >= end) return;
        i = nl + 1;
        continue;
      }
      // The block ends with the line holding byte `cut`; the chunk with the line holding `end - 1`.
      const cut = Math.min(blockStart + blockBytes - 1, end - 1);
      const nl = buf.indexOf(LF, Math.max(i, cut - bufOffset));
      const lineEnd = nl < 0 ? bufOffset + buf.length : bufOffset + nl;
      block.append(buf.subarray(i, nl < 0 ? buf.length : nl + 1), end - blockStart);
      if (lineEnd - blockStart > maxRecordBytes) {
        if (cutLineStart < 0) cutLineStart = blockStart + block.lineStartBefore(cut - blockStart);
        if (lineEnd - cutLineStart > maxRecordBytes) {
          yield* enterSkip(cutLineStart, lineEnd - cutLineStart);
          if (nl >= 0) {
            yield skipped(false, 1);
            blockStart = lineEnd + 1;
            if (blockStart >= end) return;
            i = nl + 1;
            continue;
          }
          if (lineEnd >= end) {
            yield skipped(true, 0);
            return;
          }
          break;
        }
      }
      if (nl < 0) break;
      yield { bytes: block.take(block.size), offset: blockStart };
      cutLineStart = -1;
      blockStart = bufOffset + nl + 1;
      if (blockStart >= end) return;
      i = nl + 1;
    }
    bufOffset += buf.length;
  }
  // End of body: the object's last line, without a final newline.
  if (skipping) yield skipped(false, 0);
  else if (blockStart >= 0 && block.size > 0) yield { bytes: block.take(block.size), offset: blockStart };
}

/**
 * The block being gathered, copied out of the input as it arrives, so no input buffer is held
 * once the next one is read (a body may refill its buffers). Bytes go to one buffer from
 * `allocate` with room for a block and the line holding its cut; a longer line's further bytes are
 * kept as copies of the input pieces and joined only if the block is yielded. So a line that turns
 * out longer than `maxRecordBytes` never costs more than that and one piece, and is never copied
 * twice (growing one buffer would hold an old and a new one at once).
 */
class BlockBuffer {
  private buffer: Buffer = EMPTY;
  /** Bytes of `buffer` in use. */
  private filled = 0;
  /** Copies of what did not fit in `buffer`, in order. */
  private overflow: Buffer[] = [];
  /** The block's bytes so far. */
  size = 0;

  constructor(
    private readonly allocate: (size: number) => Buffer,
    /** A new block's room. */
    private readonly capacity: number,
  ) {}

  /** Copies `bytes` to the block's end; `owned`: the bytes the chunk has left from the block's start (a small chunk gets a small buffer). */
  append(bytes: Buffer, owned: number): void {
    if (bytes.length === 0) return;
    if (this.size === 0) {
      this.buffer = this.allocate(Math.max(1, Math.min(this.capacity, owned + 1)));
      this.filled = 0;
    }
    const copied = this.overflow.length === 0 ? bytes.copy(this.buffer, this.filled) : 0;
    this.filled += copied;
    if (copied < bytes.length) this.overflow.push(Buffer.from(bytes.subarray(copied)));
    this.size += bytes.length;
  }

  /** Bytes `[from, to)` of the block, a copy. */
  copyOf(from: number, to: number): Buffer {
    return this.join(Buffer.alloc(Math.max(0, Math.min(to, this.size) - from)), from);
  }

  /** Where the line holding byte `at` of the block starts: past the last `\n` before it, else 0. */
  lineStartBefore(at: number): number {
    let end = Math.min(at, this.size);
    for (const { bytes, offset } of this.pieces().reverse()) {
      if (offset >= end) continue;
      const k = bytes.lastIndexOf(LF, end - offset - 1);
      if (k >= 0) return offset + k + 1;
      end = offset;
    }
    return 0;
  }

  /** The block's first `length` bytes in a buffer of their own (the block's buffer when they fit it); the block starts again empty. */
  take(length: number): Buffer {
    const taken = length <= this.filled ? this.buffer.subarray(0, length) : this.join(this.allocate(length), 0);
    this.buffer = EMPTY;
    this.filled = 0;
    this.overflow = [];
    this.size = 0;
    return taken;
  }

  private pieces(): Array<{ bytes: Buffer; offset: number }> {
    const pieces = [{ bytes: this.buffer.subarray(0, this.filled), offset: 0 }];
    for (const bytes of this.overflow) pieces.push({ bytes, offset: pieces[pieces.length - 1].offset + pieces[pieces.length - 1].bytes.length });
    return pieces;
  }

  /** Fills `out` with the block's bytes from `from` on. */
  private join(out: Buffer, from: number): Buffer {
    for (const { bytes, offset } of this.pieces()) {
      const a = Math.max(from - offset, 0);
      const b = Math.min(from + out.length - offset, bytes.length);
      if (b > a) bytes.copy(out, offset + a - from, a, b);
    }
    return out;
  }
}
