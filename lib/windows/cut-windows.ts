import { ObjectInputError } from '../records/input-limits';

/** One window of a decompressed object: whole lines, cut right after a `\n` (the last window may lack it). */
export interface DecompressedWindow {
  /** 0, 1, 2, …: the chunk index the window becomes. */
  index: number;
  /** Absolute offset of the window's first byte in the decompressed object. */
  offset: number;
  /** The window's length in bytes. */
  length: number;
  /**
   * The bytes `[offset - lead, offset + length)`: `lead` is 1 for every window but the first, whose
   * extra first byte is the `\n` that ends the previous window. A chunk reader that follows the
   * line-record rule (it reads from `start - 1`) then finds the window exactly where it is.
   */
  body: Buffer;
  lead: 0 | 1;
}

const LF = 0x0a;

/**
 * Cuts a decompressed byte stream into windows of whole lines: a window ends at the first `\n` at
 * or after `windowBytes - 1` bytes past its start, so every window but the last holds at least
 * `windowBytes` bytes, and the cuts depend on the data and `windowBytes` only (never on how the
 * stream was cut into buffers): every attempt at the same object yields the same windows. Every
 * line lies in exactly one window. Memory: one window and one input buffer.
 *
 * A window's line that runs on for more than `maxLineBytes` past the window's nominal end is
 * longer than any record may be; holding it would take unbounded memory, so the object fails
 * with an {@link ObjectInputError} (see docs/datasets.md).
 */
export async function* cutWindows(body: AsyncIterable<Uint8Array>, windowBytes: number, maxLineBytes: number): AsyncGenerator<DecompressedWindow, void, undefined> {
  if (!Number.isSafeInteger(windowBytes) || windowBytes < 1) throw new RangeError(`invalid windowBytes ${windowBytes}`);
  let pieces: Buffer[] = [];
  let held = 0;
  let index = 0;
  let offset = 0;
  // The search for the cut resumes at this held piece, which starts at held byte `scanBase`.
  let scanPiece = 0;
  let scanBase = 0;
  const take = (length: number): DecompressedWindow => {
    const lead = index === 0 ? 0 : 1;
    const out = Buffer.allocUnsafe(length + lead);
    if (lead) out[0] = LF;
    let at = lead;
    const rest: Buffer[] = [];
    let need = length;
    for (const piece of pieces) {
      if (need === 0) rest.push(piece);
      else if (piece.length <= need) {
        piece.copy(out, at);
        at += piece.length;
        need -= piece.length;
      } else {
        piece.copy(out, at, 0, need);
        at += need;
        rest.push(piece.subarray(need));
        need = 0;
      }
    }
    const window: DecompressedWindow = { index, offset, length, body: out, lead };
    pieces = rest;
    held -= length;
    offset += length;
    index++;
    scanPiece = 0;
    scanBase = 0;
    return window;
  };
  /** The length of the window to cut from the held bytes, once its `\n` has arrived. */
  const cutAt = (): number | undefined => {
    if (held < windowBytes) return undefined;
    for (; scanPiece < pieces.length; scanPiece++) {
      const piece = pieces[scanPiece];
      if (windowBytes - 1 < scanBase + piece.length) {
        const at = piece.indexOf(LF, Math.max(0, windowBytes - 1 - scanBase));
        if (at >= 0) return scanBase + at + 1;
      }
      scanBase += piece.length;
    }
    if (held - windowBytes > maxLineBytes + 1)
      throw new ObjectInputError(`a line runs on for more than maxRecordBytes (${maxLineBytes} bytes) across a window cut at decompressed offset ${offset + windowBytes}`);
    return undefined;
  };
  for await (const bytes of body) {
    if (bytes.length === 0) continue;
    pieces.push(Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    held += bytes.length;
    for (let length = cutAt(); length !== undefined; length = cutAt()) yield take(length);
  }
  if (held > 0) yield take(held);
}
