import type { Writable } from 'node:stream';
import type { Compression } from '../chunking/chunk';
import type { RecordFormat } from '../config/pipeline-config';
import { encodeBlock } from './block-codec';
import { inlineRunner, type BlockRunner } from './block-runner';
import { decompressed } from './decompress';
import { inputLimitsOf, ObjectInputError, RECORD_TOO_LARGE } from './input-limits';
import { lineBlocks, type OversizedLine } from './line-blocks';
import type { BlockResult } from './process-block';
import type { ShardCodec } from './shard-codec';
import { DUPLICATE, type RecordPipeline } from './transforms';
import { BatchedLineWriter, writeWithBackpressure } from './write-with-backpressure';

/** One chunk to process: its bytes and what they hold. */
export interface ProcessChunkInput {
  /** The object's bytes from `bodyOffset` on (a ranged GET body); read with backpressure. */
  body: AsyncIterable<Uint8Array>;
  /** Absolute offset of the body's first byte: `start - 1` for line formats when `start > 0`, else `start`. */
  bodyOffset: number;
  /** The chunk owns the records whose first byte lies in `[start, end)`. */
  start: number;
  end: number;
  format: RecordFormat;
  /** `gzip`, `zstd`: the body is the whole object, and offsets count decompressed bytes (within the dataset's decompression limits). */
  compression: Compression;
  /** CSV only: the object's first line (see `readFirstLine`); required when `start > 0`, ignored at 0. */
  csvHeader?: string;
  /** The dataset's record pipeline (see `buildRecordPipeline`). */
  pipeline: RecordPipeline;
}

/** Where the chunk's output goes. */
export interface ProcessChunkOutputs {
  /** Accepted records, one JSON object a line, encoded with the options' codec; binary chunks: their bytes unchanged. */
  shard: Writable;
  /** Rejected records: `{"offset","index","reason","record"}` a line. */
  rejects: Writable;
}

/** How the shard is encoded and where the record path runs. */
export interface ProcessChunkOptions {
  /** Where blocks are processed (a `RecordPool` for worker threads). @default inlineRunner */
  runner?: BlockRunner;
  /** Codec of the bytes written to `outputs.shard`: one gzip member or zstd frame per block. @default 'none' (plain JSON Lines) */
  codec?: ShardCodec;
  /** Compression level. @default DEFAULT_LEVELS[codec] */
  level?: number;
  /** Block size (see `lineBlocks`). @default 2 MiB (`DEFAULT_BLOCK_BYTES`) */
  blockBytes?: number;
}

/** The chunk's exact accounting: `recordsIn = recordsOut + recordsRejected + recordsFiltered`. */
export interface ChunkResult {
  recordsIn: number;
  recordsOut: number;
  recordsRejected: number;
  recordsFiltered: number;
  /** Bytes of the lines the chunk owns (blank lines and terminators included; decompressed for gzip). */
  bytesIn: number;
  /** Filtered records by reason code. */
  filteredReasons: Record<string, number>;
  /** Rejected records by reason code. */
  rejectedReasons: Record<string, number>;
}

/**
 * Splits one chunk into records, runs them through the record pipeline and writes accepted
 * records to `outputs.shard` and rejected ones to `outputs.rejects`. The chunk is cut into
 * blocks of whole lines (`lineBlocks`), which the runner processes (on worker threads with a
 * pool, about two blocks per worker in flight); results are accounted and written in block
 * order, so the output is the same bytes whatever the runner. Reading stops right after the
 * chunk's last record. Memory stays bounded whatever the chunk or object size: input is pulled
 * only as fast as the blocks are processed and the outputs drain. The outputs are not ended here.
 */
export async function processChunk(input: ProcessChunkInput, outputs: ProcessChunkOutputs, options: ProcessChunkOptions = {}): Promise<ChunkResult> {
  if (input.compression === 'none') return input.format === 'binary' ? passBinary(input, outputs.shard) : processLines(input, outputs, options);
  // A compressed object is one chunk: offsets are over its decompressed bytes.
  const body = decompressed(input.body, input.compression, inputLimitsOf(input.pipeline.dataset));
  const whole = { ...input, body, bodyOffset: 0, start: 0, end: Infinity };
  try {
    return await (input.format === 'binary' ? passBinary(whole, outputs.shard) : processLines(whole, outputs, options));
  } finally {
    await body.return(undefined);
  }
}

async function processLines(input: ProcessChunkInput, outputs: ProcessChunkOutputs, options: ProcessChunkOptions): Promise<ChunkResult> {
  if (input.format === 'binary') throw new Error('binary chunks are not split into lines');
  // The chunk at 0 reads its header from its own first record; any other CSV chunk needs it given.
  if (input.format === 'csv' && input.start > 0 && input.csvHeader === undefined) throw new Error('csvHeader is required for a CSV chunk that does not start at 0');
  const format = input.format;
  const runner = options.runner ?? inlineRunner;
  const codec = options.codec ?? 'none';
  const level = options.level ?? DEFAULT_LEVELS[codec];
  const seen = input.pipeline.dataset.dedupe ? new Set<string>() : undefined;
  const limits = inputLimitsOf(input.pipeline.dataset);
  let csvHeader = format === 'csv' && input.start > 0 ? input.csvHeader : undefined;
  const result = emptyResult();
  const rejects = new BatchedLineWriter(outputs.rejects);
  let shardBytes = 0;

  // Blocks run in parallel, but are accounted (rejects' indexes, dedupe, the CSV header) and
  // written strictly in block order.
  const account = async (block: BlockResult): Promise<{ encoded: Promise<Uint8Array> }> => {
    const base = result.recordsIn;
    addCounts(result, block);
    for (const r of block.rejects) {
      const raw = {
        record: r.record,
        ...(r.recordBase64 === undefined ? {} : { recordBase64: r.recordBase64 }),
        ...(r.length === undefined ? {} : { length: r.length }),
        ...(r.lengthAtLeast ? { lengthAtLeast: true } : {}),
      };
      if (rejects.add(JSON.stringify({ offset: r.offset, index: base + r.index, reason: r.reason, ...raw }))) await rejects.flush();
    }
    if (block.csvHeader !== undefined) csvHeader = block.csvHeader;
    if (!seen) return { encoded: Promise.resolve(block.output) };
    return { encoded: runner.encode({ bytes: dropDuplicates(block, seen, result), codec, level }) };
  };
  const inFlight: Array<Promise<Uint8Array>> = [];
  let ordered: Promise<unknown> = Promise.resolve();
  const writeNext = async (): Promise<void> => {
    const encoded = await (inFlight.shift() as Promise<Uint8Array>);
    if (encoded.length === 0) return;
    shardBytes += encoded.length;
    await writeWithBackpressure(outputs.shard, Buffer.from(encoded.buffer, encoded.byteOffset, encoded.byteLength));
  };

  const allocate = runner.allocate?.bind(runner);
  const blocks = lineBlocks(input.body, { bodyOffset: input.bodyOffset, start: input.start, end: input.end, blockBytes: options.blockBytes, allocate, maxRecordBytes: limits.maxRecordBytes });
  for await (const block of blocks) {
    result.bytesIn += block.oversized ? block.oversized.ownedBytes : block.bytes.length;
    const headerPending = format === 'csv' && csvHeader === undefined;
    if (block.oversized && headerPending) throw new ObjectInputError(`the CSV header is longer than maxRecordBytes (${limits.maxRecordBytes} bytes)`);
    const processed = block.oversized
      ? Promise.resolve(oversizedResult(block.offset, block.oversized, limits.maxRecordBytes))
      : runner.process({ bytes: block.bytes, offset: block.offset, format, csvHeader, codec, level, forDedupe: seen !== undefined, maxDepth: limits.maxRecordDepth }, input.pipeline);
    processed.catch(() => undefined); // awaited in order below: an early failure is not unhandled
    const accounted = ordered.then(() => processed).then(account);
    ordered = accounted;
    const encoded = accounted.then((a) => a.encoded);
    encoded.catch(() => undefined);
    inFlight.push(encoded);
    // Until the CSV header has been read, the next block cannot be parsed: one block at a time.
    if (headerPending) await accounted;
    while (inFlight.length >= 2 * runner.parallelism) await writeNext();
  }
  while (inFlight.length > 0) await writeNext();
  // A chunk without output still writes a valid (empty) gzip or zstd stream.
  if (shardBytes === 0 && codec !== 'none') await writeWithBackpressure(outputs.shard, encodeBlock(new Uint8Array(0), codec, level));
  await rejects.flush();
  return result;
}

/** The block result of a line longer than `maxRecordBytes`: one record, rejected with its offset, length and first bytes. */
function oversizedResult(offset: number, line: OversizedLine, maxRecordBytes: number): BlockResult {
  const size = line.lengthAtLeast ? `at least ${line.length} bytes (not read to its end)` : `${line.length} bytes`;
  const reason = `the line is ${size}, more than maxRecordBytes (${maxRecordBytes}); its first ${line.prefix.length} bytes are kept`;
  const reject = { offset, index: 0, reason, record: line.prefix.toString('utf8'), length: line.length, ...(line.lengthAtLeast ? { lengthAtLeast: true } : {}) };
  return { recordsIn: 1, recordsOut: 0, recordsRejected: 1, recordsFiltered: 0, filteredReasons: {}, rejectedReasons: { [RECORD_TOO_LARGE]: 1 }, rejects: [reject], output: new Uint8Array(0) };
}

/** Default levels: gzip 1 (level 6 costs about 3× the CPU for a few percent smaller shards), zstd 1. */
export const DEFAULT_LEVELS: Record<ShardCodec, number> = { gzip: 1, zstd: 1, none: 0 };

/** Drops the block's output lines whose record the chunk has already written; counts them as filtered. */
function dropDuplicates(block: BlockResult, seen: Set<string>, result: ChunkResult): Uint8Array {
  const digests = block.digests ?? [];
  const ends = block.lineEnds ?? [];
  const plain = Buffer.from(block.output.buffer, block.output.byteOffset, block.output.byteLength);
  const kept: Buffer[] = [];
  let runStart = 0;
  for (let i = 0; i < digests.length; i++) {
    if (!seen.has(digests[i])) {
      seen.add(digests[i]);
      continue;
    }
    const lineStart = i === 0 ? 0 : ends[i - 1];
    if (lineStart > runStart) kept.push(plain.subarray(runStart, lineStart));
    runStart = ends[i];
    result.recordsOut--;
    result.recordsFiltered++;
    bump(result.filteredReasons, DUPLICATE.code);
  }
  if (runStart === 0) return plain;
  if (runStart < plain.length) kept.push(plain.subarray(runStart));
  return Buffer.concat(kept);
}

function addCounts(result: ChunkResult, block: BlockResult): void {
  result.recordsIn += block.recordsIn;
  result.recordsOut += block.recordsOut;
  result.recordsRejected += block.recordsRejected;
  result.recordsFiltered += block.recordsFiltered;
  for (const [code, n] of Object.entries(block.filteredReasons)) result.filteredReasons[code] = (result.filteredReasons[code] ?? 0) + n;
  for (const [code, n] of Object.entries(block.rejectedReasons)) result.rejectedReasons[code] = (result.rejectedReasons[code] ?? 0) + n;
}

/** Binary chunks are not split: the bytes of `[start, end)` pass through unchanged, as one record. */
async function passBinary(input: ProcessChunkInput, shard: Writable): Promise<ChunkResult> {
  const result = emptyResult();
  let offset = input.bodyOffset;
  for await (const chunk of input.body) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    const from = Math.max(0, input.start - offset);
    const to = Math.min(buf.length, input.end - offset);
    offset += buf.length;
    if (to > from) {
      await writeWithBackpressure(shard, from === 0 && to === buf.length ? buf : buf.subarray(from, to));
      result.bytesIn += to - from;
    }
    if (offset >= input.end) break;
  }
  result.recordsIn = 1;
  result.recordsOut = 1;
  return result;
}

function emptyResult(): ChunkResult {
  return { recordsIn: 0, recordsOut: 0, recordsRejected: 0, recordsFiltered: 0, bytesIn: 0, filteredReasons: {}, rejectedReasons: {} };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}
