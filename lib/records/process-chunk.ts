import { Readable, pipeline as pipeStreams, type Writable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type { Compression } from '../chunking/chunk';
import type { RecordFormat } from '../config/pipeline-config';
import { decodeLine } from './decode-line';
import { createLineReader } from './readers';
import { splitLines, type SplitStats } from './split-lines';
import type { RecordOutcome, RecordPipeline } from './transforms';
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
  /** `gzip`: the body is the whole object, and offsets count decompressed bytes. */
  compression: Compression;
  /** CSV only: the object's first line (see `readFirstLine`); required when `start > 0`, ignored at 0. */
  csvHeader?: string;
  /** The dataset's record pipeline (see `buildRecordPipeline`). */
  pipeline: RecordPipeline;
}

/** Where the chunk's output goes: plain-text JSON Lines (or raw bytes for binary). */
export interface ProcessChunkOutputs {
  /** Accepted records, one JSON object a line; binary chunks: their bytes unchanged. */
  shard: Writable;
  /** Rejected records: `{"offset","index","reason","record"}` a line. */
  rejects: Writable;
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
 * records to `outputs.shard` and rejected ones to `outputs.rejects`. Reading stops right after
 * the chunk's last record. Memory stays bounded whatever the chunk or object size: input is
 * pulled only as fast as the outputs drain. The outputs are not ended here.
 */
export async function processChunk(input: ProcessChunkInput, outputs: ProcessChunkOutputs): Promise<ChunkResult> {
  if (input.compression !== 'gzip') return input.format === 'binary' ? passBinary(input, outputs.shard) : processLines(input, outputs);
  // A gzip object is one chunk: offsets are over its decompressed bytes.
  const gunzip = pipeStreams(Readable.from(input.body), createGunzip(), () => undefined);
  const whole = { ...input, body: gunzip, bodyOffset: 0, start: 0, end: Infinity };
  try {
    return await (input.format === 'binary' ? passBinary(whole, outputs.shard) : processLines(whole, outputs));
  } finally {
    gunzip.destroy();
  }
}

async function processLines(input: ProcessChunkInput, outputs: ProcessChunkOutputs): Promise<ChunkResult> {
  if (input.format === 'binary') throw new Error('binary chunks are not split into lines');
  const result = emptyResult();
  const stats: SplitStats = { ownedBytes: 0, blankLines: 0 };
  // The chunk at 0 reads its header from its own first record; any other CSV chunk needs it given.
  if (input.format === 'csv' && input.start > 0 && input.csvHeader === undefined) throw new Error('csvHeader is required for a CSV chunk that does not start at 0');
  const reader = createLineReader(input.format, { csvHeader: input.start === 0 ? undefined : input.csvHeader });
  const transform = input.pipeline.forChunk();
  const shard = new BatchedLineWriter(outputs.shard);
  const rejects = new BatchedLineWriter(outputs.rejects);

  for await (const { bytes, offset } of splitLines(input.body, { bodyOffset: input.bodyOffset, start: input.start, end: input.end, stats })) {
    const text = decodeLine(bytes, offset);
    let outcome: RecordOutcome;
    if (text === undefined) {
      outcome = { kind: 'rejected', code: 'invalid-utf8', reason: 'the line is not valid UTF-8' };
    } else {
      const parsed = reader.read(text);
      if (parsed.kind === 'header') continue;
      outcome = parsed.kind === 'record' ? transform.apply(parsed.value) : parsed;
    }
    const index = result.recordsIn++;
    if (outcome.kind === 'out') {
      result.recordsOut++;
      if (shard.add(JSON.stringify(outcome.value))) await shard.flush();
    } else if (outcome.kind === 'filtered') {
      result.recordsFiltered++;
      bump(result.filteredReasons, outcome.code);
    } else {
      result.recordsRejected++;
      bump(result.rejectedReasons, outcome.code);
      const raw = text === undefined ? { record: bytes.toString('utf8'), recordBase64: bytes.toString('base64') } : { record: text };
      if (rejects.add(JSON.stringify({ offset, index, reason: outcome.reason, ...raw }))) await rejects.flush();
    }
  }
  await shard.flush();
  await rejects.flush();
  result.bytesIn = stats.ownedBytes;
  return result;
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
