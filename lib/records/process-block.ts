import { isUtf8 } from 'node:buffer';
import { ObjectInputError, RECORD_TOO_LARGE, REJECT_PREFIX_BYTES, TOO_DEEP } from './input-limits';
import { encodeBlock } from './block-codec';
import { recordDigest } from './canonical-json';
import { BlockOutputBuilder } from './block-output';
import { createLineReader, type LineFormat } from './readers';
import type { ShardCodec } from './shard-codec';
import type { ChunkTransformer } from './transforms';

/** One block of a chunk's lines to process (see `lineBlocks`), and how to encode its output. */
export interface BlockTask {
  /** Whole lines the chunk owns, terminators included. */
  bytes: Uint8Array;
  /** Absolute offset of `bytes[0]` in the (decompressed) object. */
  offset: number;
  format: LineFormat;
  /** CSV: the object's header line. Absent only for the chunk at 0 before its header was read: this block reads it. */
  csvHeader?: string;
  codec: ShardCodec;
  level: number;
  /** Leave the output plain, with each output line's digest and end, for the chunk-wide dedupe. */
  forDedupe: boolean;
  /** JSON records nested deeper are rejected as `too-deep`. @default no limit */
  maxDepth?: number;
}

/** A rejected line, as written to the rejects file (its `index` counts records within the block). */
export interface RejectedLine {
  offset: number;
  index: number;
  reason: string;
  record: string;
  recordBase64?: string;
  /** Set when `record` holds only the line's first bytes: the line's length in bytes. */
  length?: number;
  /** Set when the line was not read to its end: its length is at least `length`. */
  lengthAtLeast?: boolean;
}

/** What one block produced: counts, rejects and the encoded (or, for dedupe, plain) output. */
export interface BlockResult {
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  filteredReasons: Record<string, number>;
  rejectedReasons: Record<string, number>;
  rejects: RejectedLine[];
  /** CSV: the header line this block read (the chunk at 0). */
  csvHeader?: string;
  /** The accepted lines, encoded with the task's codec (empty when there are none); plain when `forDedupe`. */
  output: Uint8Array;
  /** `forDedupe`: each output line's record digest. */
  digests?: string[];
  /** `forDedupe`: the end (past its `\n`) of each output line in `output`. */
  lineEnds?: number[];
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The record path of one block, synchronously and without a per-line async step: split lines,
 * decode (the whole block is checked as UTF-8 once; a line only when the block fails), parse,
 * validate and transform, then encode the accepted lines as one gzip member or zstd frame.
 * A JSON Lines record that no step changed is written as its original bytes (line terminator
 * normalized to `\n`, BOM dropped), and runs of such records are copied as one piece: the output
 * of a block of valid records is the block itself. The same task always gives the same bytes,
 * on whichever thread it runs.
 */
export function processBlock(task: BlockTask, transform: ChunkTransformer): BlockResult {
  const bytes = Buffer.from(task.bytes.buffer, task.bytes.byteOffset, task.bytes.byteLength);
  const result: BlockResult = { recordsIn: 0, recordsOut: 0, recordsRejected: 0, recordsFiltered: 0, filteredReasons: {}, rejectedReasons: {}, rejects: [], output: EMPTY };
  const allUtf8 = isUtf8(bytes);
  const reader = createLineReader(task.format, { csvHeader: task.csvHeader, maxDepth: task.maxDepth });
  const keepOriginal = task.format === 'jsonl';
  const out = new BlockOutputBuilder(bytes, task.forDedupe);
  const digests: string[] | undefined = task.forDedupe ? [] : undefined;

  for (let p = 0; p < bytes.length;) {
    const nl = bytes.indexOf(LF, p);
    const lineEnd = nl < 0 ? bytes.length : nl;
    const next = nl < 0 ? bytes.length : nl + 1;
    const end = lineEnd > p && bytes[lineEnd - 1] === CR ? lineEnd - 1 : lineEnd;
    const start = p;
    p = next;
    if (end === start) continue; // a blank line: not a record
    const offset = task.offset + start;
    // The object's first line may begin with a UTF-8 byte order mark: not part of the record.
    const from = offset === 0 && end - start >= 3 && bytes[start] === 0xef && bytes[start + 1] === 0xbb && bytes[start + 2] === 0xbf ? start + 3 : start;
    if (!allUtf8 && !isUtf8(bytes.subarray(from, end))) {
      const index = result.recordsIn++;
      reject(result, 'invalid-utf8', { offset, index, reason: 'the line is not valid UTF-8', record: bytes.toString('utf8', start, end), recordBase64: bytes.toString('base64', start, end) });
      continue;
    }
    let text: string | undefined;
    let index = -1;
    // Whatever goes wrong with one record (a stack overflow on deep nesting, a string too long to
    // build) rejects that record only; nothing is written for it before every step has passed.
    try {
      text = bytes.toString('utf8', from, end);
      const parsed = reader.read(text);
      if (parsed.kind === 'header') {
        result.csvHeader = text;
        continue;
      }
      index = result.recordsIn++;
      const outcome = parsed.kind === 'record' ? transform.apply(parsed.value) : parsed;
      if (outcome.kind === 'out') {
        const original = keepOriginal && parsed.kind === 'record' && outcome.value === parsed.value;
        const line = original ? undefined : JSON.stringify(outcome.value);
        const digest = digests ? recordDigest(outcome.value) : undefined;
        result.recordsOut++;
        if (line === undefined) out.original(from, end, end === nl);
        else out.serialized(line);
        if (digest !== undefined) digests?.push(digest);
      } else if (outcome.kind === 'filtered') {
        result.recordsFiltered++;
        bump(result.filteredReasons, outcome.code);
      } else {
        reject(result, outcome.code, { offset, index, reason: outcome.reason, record: text });
      }
    } catch (err) {
      if (err instanceof ObjectInputError) throw err;
      if (index < 0) index = result.recordsIn++;
      const { code, reason } = recordFailure(err);
      const record = text !== undefined && text.length <= MAX_REJECT_CHARS ? { record: text } : { record: bytes.toString('utf8', from, Math.min(end, from + REJECT_PREFIX_BYTES)), length: end - from };
      reject(result, code, { offset, index, reason, ...record });
    }
  }

  const plain = out.finish();
  if (task.forDedupe) return { ...result, output: plain, digests, lineEnds: out.lineEnds };
  return { ...result, output: plain.length > 0 ? encodeBlock(plain, task.codec, task.level) : EMPTY };
}

const EMPTY = new Uint8Array(0);

/** A failed record's text is kept whole in its reject up to this length, else its first bytes. */
const MAX_REJECT_CHARS = 1024 * 1024;

/** The reason code of an error thrown while working one record. */
export function recordFailure(err: unknown): { code: string; reason: string } {
  const message = err instanceof Error ? err.message : String(err);
  if (err instanceof RangeError && /call stack/i.test(message)) return { code: TOO_DEEP, reason: `the record is nested too deeply to process: ${message}` };
  if (/string length|string longer than|Array buffer allocation failed/i.test(message)) return { code: RECORD_TOO_LARGE, reason: `the record is too large to process: ${message}` };
  return { code: 'record-error', reason: `the record could not be processed: ${message}` };
}

function reject(result: BlockResult, code: string, line: RejectedLine): void {
  result.recordsRejected++;
  bump(result.rejectedReasons, code);
  result.rejects.push(line);
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
