/** One line record: its bytes and where its first byte lies in the object. */
export interface LineRecord {
  /**
   * The record's bytes without its trailing `\n` and without one trailing `\r`. May share
   * memory with the input buffers: copy it if it must outlive them.
   */
  bytes: Buffer;
  /** Absolute offset of the record's first byte in the (decompressed) object. */
  offset: number;
}

/** Bytes accounted while splitting (updated as records are yielded). */
export interface SplitStats {
  /**
   * Bytes of the lines the chunk owns, terminators and blank lines included. Summed over every
   * chunk of an object, this is the object's size.
   */
  ownedBytes: number;
  /** Blank lines (empty or only `\r`) the chunk owns; they are not records. */
  blankLines: number;
}

/** Where the body starts and which records the chunk owns. */
export interface SplitOptions {
  /** Absolute offset of the body's first byte: `start - 1` when `start > 0`, else 0. */
  bodyOffset: number;
  /** The chunk owns every record whose first byte lies in `[start, end)`. */
  start: number;
  /** Exclusive; `Infinity` for "to the end of the body". */
  end: number;
  /** Filled in while splitting, if given. */
  stats?: SplitStats;
}

const LF = 0x0a;

/**
 * Checks a chunk range against where its body begins, and returns the earliest byte the chunk
 * needs: `start - 1` when `start > 0` (to tell whether `start` begins a record), else 0.
 */
export function earliestByteOf({ bodyOffset, start, end }: Pick<SplitOptions, 'bodyOffset' | 'start' | 'end'>): number {
  if (!(start >= 0) || !(end >= start)) throw new RangeError(`invalid chunk range [${start}, ${end})`);
  const earliest = start > 0 ? start - 1 : 0;
  if (bodyOffset > earliest) throw new RangeError(`body starts at ${bodyOffset}, but the chunk [${start}, ${end}) needs bytes from ${earliest}`);
  return earliest;
}

/**
 * Where the chunk's first record begins in `buf` (which starts at absolute `bufOffset`): just
 * past the first `\n` at or after `earliest`, or -1 when this buffer holds none.
 */
export function firstRecordIndex(buf: Buffer, bufOffset: number, earliest: number): number {
  const from = Math.max(0, earliest - bufOffset);
  const nl = from < buf.length ? buf.indexOf(LF, from) : -1;
  return nl < 0 ? -1 : nl + 1;
}

const CR = 0x0d;

/**
 * Splits a byte stream into the line records one chunk owns, following the line-record rule:
 * a record starts at offset 0 and right after every `\n`, and the chunk `[start, end)` owns
 * every record whose first byte lies in it. The body must begin at `start - 1` (or earlier)
 * when `start > 0` so the reader can tell whether `start` begins a record; it reads past `end`
 * only to finish its last record, then returns, which ends (and so aborts) the body iterator.
 * Blank lines are skipped and never counted as records. At most one record plus one input
 * buffer is held at a time.
 */
export async function* splitLines(body: AsyncIterable<Uint8Array>, options: SplitOptions): AsyncGenerator<LineRecord, void, undefined> {
  const { bodyOffset, start, end } = options;
  const stats = options.stats ?? { ownedBytes: 0, blankLines: 0 };
  const earliest = earliestByteOf(options);
  if (start >= end) return;

  // Absolute offset where the next record begins; unknown (-1) until the first '\n' at or after
  // start - 1 has been seen.
  let recordStart = start === 0 ? 0 : -1;
  let pieces: Buffer[] = [];
  let pieceBytes = 0;
  let bufOffset = bodyOffset;

  for await (const chunk of body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    let i = 0;
    if (recordStart < 0) {
      i = firstRecordIndex(buf, bufOffset, earliest);
      if (i < 0) {
        bufOffset += buf.length;
        continue;
      }
      recordStart = bufOffset + i;
      if (recordStart >= end) return;
    }
    while (i < buf.length) {
      const nl = buf.indexOf(LF, i);
      if (nl < 0) {
        if (i < buf.length) {
          pieces.push(i === 0 ? buf : buf.subarray(i));
          pieceBytes += buf.length - i;
        }
        break;
      }
      const line = pieces.length === 0 ? buf.subarray(i, nl) : joinPieces(pieces, pieceBytes, buf.subarray(i, nl));
      const lineStart = recordStart;
      stats.ownedBytes += line.length + 1;
      pieces = [];
      pieceBytes = 0;
      recordStart = bufOffset + nl + 1;
      const bytes = withoutCr(line);
      if (bytes.length === 0) stats.blankLines++;
      else yield { bytes, offset: lineStart };
      if (recordStart >= end) return;
      i = nl + 1;
    }
    bufOffset += buf.length;
  }

  // End of body: a last record without a final newline.
  if (recordStart >= 0 && pieceBytes > 0) {
    const line = joinPieces(pieces, pieceBytes);
    stats.ownedBytes += line.length;
    const bytes = withoutCr(line);
    if (bytes.length === 0) stats.blankLines++;
    else yield { bytes, offset: recordStart };
  }
}

function withoutCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === CR ? line.subarray(0, line.length - 1) : line;
}

function joinPieces(pieces: Buffer[], pieceBytes: number, last?: Buffer): Buffer {
  if (last) return Buffer.concat([...pieces, last], pieceBytes + last.length);
  return pieces.length === 1 ? pieces[0] : Buffer.concat(pieces, pieceBytes);
}
