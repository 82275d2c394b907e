import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Readable } from 'node:stream';
import type { ChunkMessage } from '../chunking/chunk';
import { enqueueChunks } from '../chunker/chunker';
import type { ChunkLedger } from '../ledger/chunk-ledger';
import type { DatasetConfig, PipelineConfig } from '../config/pipeline-config';
import type { OutputFile, RecordCounts } from '../ledger/items';
import { recordRunner } from '../records/pool/record-pool';
import { processChunk, type ChunkResult, type ProcessChunkOptions, type ProcessChunkOutputs } from '../records/process-chunk';
import { decompressed } from '../records/decompress';
import { splitIntoWindows } from '../windows/split-compressed';
import { readFirstLine } from '../records/read-first-line';
import { shardExtension } from '../records/shard-codec';
import { createShardOutput } from '../records/shard-output';
import { buildRecordPipeline } from '../records/transforms';
import { inputLimitsOf, ObjectInputError } from '../records/input-limits';
import { layout } from '../storage/layout';
import { deferredUpload } from './deferred-upload';

/** The config fields the chunk processor reads (codec fields default as in `PipelineConfig`). */
export type ChunkProcessorConfig = Pick<PipelineConfig, 'dataset'> & Partial<Pick<PipelineConfig, 'shardCodec' | 'gzipLevel' | 'zstdLevel' | 'recordWorkers'>>;

/** What processing one chunk produced (not yet committed). */
export interface ChunkOutcome {
  counts: RecordCounts;
  shard: OutputFile;
  rejects?: OutputFile;
  /**
   * Milliseconds: `downloadMs` awaiting S3 GETs of the chunk's range (and the CSV header),
   * `processMs` decoding, validating, transforming and writing records (download excluded),
   * `uploadMs` finishing the shard and rejects uploads after the last record.
   */
  timings: { downloadMs: number; processMs: number; uploadMs: number };
}

const pipelines = new WeakMap<DatasetConfig, ReturnType<typeof buildRecordPipeline>>();
function pipelineFor(dataset: DatasetConfig) {
  let pipeline = pipelines.get(dataset);
  if (!pipeline) pipelines.set(dataset, (pipeline = buildRecordPipeline(dataset)));
  return pipeline;
}

/** The worker's dependencies; with the ledger, the queue and the node id, chunk 0 of a large compressed object is split into windows. */
export interface ChunkProcessorDeps {
  s3: S3Client;
  processedBucket: string;
  config: ChunkProcessorConfig;
  abandoned?: () => boolean;
  chunks?: Pick<ChunkLedger, 'growChunkCount'>;
  sqs?: SQSClient;
  workQueueUrl?: string;
  /** The lease owner (the worker leases chunks as its node id). */
  nodeId?: string;
}

/**
 * Streams one chunk from S3 through the record pipeline into its shard and rejects files in the
 * processed bucket. Chunk 0 of a large compressed object (`windowBytes`) is split as it is read:
 * its own records are the first window's, and the other windows become chunks of their own
 * (see `splitIntoWindows`); a window chunk reads its staged window as an uncompressed chunk. The record path runs on the process's record workers (`recordWorkers`, see
 * `recordRunner`); the shard is encoded with `shardCodec`, which its key's extension names.
 * Memory is bounded by the stream buffers and the blocks in flight, never by the chunk or object
 * size: the ranged GET is read with backpressure and abandoned once the last owned record ends.
 */
export async function processChunkFromS3(deps: ChunkProcessorDeps, msg: ChunkMessage, attempt: number): Promise<ChunkOutcome> {
  // Binary data passes through as it is (a compressed object arrives decompressed): no gzip, a .bin key.
  const binary = msg.format === 'binary';
  const lineAligned = !binary && msg.compression === 'none';
  const bodyOffset = lineAligned && msg.start > 0 ? msg.start - 1 : msg.start;
  const lastByte = lineAligned || msg.compression !== 'none' ? msg.objectSize - 1 : msg.end - 1;
  const headerStarted = Date.now();
  const csvHeader = msg.format === 'csv' && msg.start > 0 && lineAligned ? await fetchHeader(deps.s3, msg, inputLimitsOf(deps.config.dataset).maxRecordBytes) : undefined;
  const headerMs = Date.now() - headerStarted;
  const download = { ms: 0 }; // time the record pipeline waits on the body's GETs

  // Ranged reads in windows: the chunk's own range first, then small windows only while the last
  // record runs on, so neither side ever materialises the rest of a large object.
  const body = rangedReads(deps.s3, msg, bodyOffset, msg.end + TAIL_WINDOW_BYTES, lastByte + 1, download, deps.abandoned, msg.window?.base ?? 0);
  const codec = deps.config.shardCodec ?? 'gzip';
  const level = codec === 'zstd' ? (deps.config.zstdLevel ?? 1) : (deps.config.gzipLevel ?? 1);
  const shardKey = layout.shardKey(msg.objectId, msg.index, attempt, binary ? 'bin' : shardExtension(codec));
  const rejectsKey = layout.rejectsKey(msg.objectId, msg.index, attempt);
  // Line shards arrive encoded block by block; binary bytes pass through as they are.
  const shardOut = createShardOutput(binary ? { compress: false } : { encoded: true });
  const rejectsOut = createShardOutput({ level: 1 });
  const shardUpload = upload(deps.s3, deps.processedBucket, shardKey, shardOut.readable);
  shardUpload.catch(() => undefined); // awaited below; until then a failure must not be unhandled
  // A chunk without rejects writes no rejects object: its upload starts only once a record is rejected.
  const rejectsUpload = deferredUpload(rejectsOut, (b) => upload(deps.s3, deps.processedBucket, rejectsKey, b));
  const t0 = Date.now();
  try {
    const outputs = { shard: shardOut.writable, rejects: rejectsOut.writable };
    const options = { runner: recordRunner(deps.config.recordWorkers), codec, level };
    const splitting = splitterOf(deps, msg, attempt);
    const result = splitting
      ? await processSplitting(splitting, body, outputs, options)
      : await processChunk(
          { body, bodyOffset, start: msg.start, end: msg.end, format: msg.format, compression: msg.compression, csvHeader, pipeline: pipelineFor(deps.config.dataset) },
          outputs,
          options,
        );
    shardOut.writable.end();
    rejectsOut.writable.end();
    const t1 = Date.now();
    const [, rejected] = await Promise.all([shardUpload, rejectsUpload.finish(result.recordsRejected > 0)]);
    const [shard, rejects] = await Promise.all([shardOut.finished(), rejectsOut.finished()]);
    const { recordsIn, recordsOut, recordsRejected, recordsFiltered, bytesIn } = result;
    return {
      counts: { recordsIn, recordsOut, recordsRejected, recordsFiltered, bytesIn },
      // An encoded shard's lines are its records, which the record path counted.
      shard: { key: shardKey, ...shard, lines: binary ? shard.lines : recordsOut },
      rejects: rejected ? { key: rejectsKey, ...rejects } : undefined,
      timings: { downloadMs: headerMs + download.ms, processMs: Math.max(0, t1 - t0 - download.ms), uploadMs: Date.now() - t1 },
    };
  } catch (err) {
    shardOut.writable.destroy(err as Error);
    rejectsOut.writable.destroy(err as Error);
    await Promise.all([shardUpload, rejectsUpload.finish(false)]).catch(() => undefined);
    throw err;
  } finally {
    await body.return(undefined); // stop reading once the last owned record has been read
  }
}

const TAIL_WINDOW_BYTES = 1024 * 1024;

type Splitting = { deps: Required<Pick<ChunkProcessorDeps, 'chunks' | 'sqs' | 'workQueueUrl' | 'nodeId'>> & ChunkProcessorDeps; msg: ChunkMessage & { windowBytes: number }; attempt: number };

/** The split of chunk 0 of a large compressed object, when this worker can register and enqueue windows. */
function splitterOf(deps: ChunkProcessorDeps, msg: ChunkMessage, attempt: number): Splitting | undefined {
  if (msg.windowBytes === undefined || msg.compression === 'none' || msg.index !== 0 || msg.format === 'binary' || msg.format === 'csv') return undefined;
  if (!deps.chunks || !deps.sqs || !deps.workQueueUrl || !deps.nodeId) return undefined; // one chunk, as before the split existed
  return { deps: deps as Splitting['deps'], msg: msg as Splitting['msg'], attempt };
}

/**
 * Chunk 0 of a split object: decompresses the whole object, processes its first window here at
 * once, and stages, registers and enqueues the others while doing so (`splitIntoWindows`).
 * Resolves with the first window's records once every window is enqueued.
 */
async function processSplitting({ deps, msg, attempt }: Splitting, body: AsyncIterable<Uint8Array>, outputs: ProcessChunkOutputs, options: ProcessChunkOptions): Promise<ChunkResult> {
  const limits = inputLimitsOf(deps.config.dataset);
  const plain = decompressed(body, msg.compression as 'gzip' | 'zstd', limits);
  const pipeline = pipelineFor(deps.config.dataset);
  const lease = { objectId: msg.objectId, index: msg.index, chunkId: msg.chunkId, owner: deps.nodeId, attempt, failures: 0 };
  const stager = {
    s3: deps.s3,
    processedBucket: deps.processedBucket,
    grow: (chunkCount: number) => deps.chunks.growChunkCount(lease, chunkCount),
    enqueue: (window: ChunkMessage) => enqueueChunks(deps.sqs, deps.workQueueUrl, [window]),
  };
  let first: Promise<ChunkResult> | undefined;
  let failed = false;
  try {
    await splitIntoWindows(
      stager,
      msg,
      plain,
      limits.maxRecordBytes,
      (window) => {
        first = processChunk({ body: once(window.body), bodyOffset: 0, start: 0, end: window.length, format: msg.format, compression: 'none', pipeline }, outputs, options);
        first.catch(() => (failed = true));
      },
      () => failed,
    );
  } finally {
    await plain.return(undefined);
  }
  // An object that decompresses to nothing has no window: an empty chunk 0.
  return first ?? processChunk({ body: once(Buffer.alloc(0)), bodyOffset: 0, start: 0, end: 1, format: msg.format, compression: 'none', pipeline }, outputs, options);
}

async function* once(bytes: Buffer): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/**
 * Streams bytes [from, limit) of the object through successive ranged GETs. `download.ms` grows by
 * the time spent waiting on S3 (the GET and each body read): the time between being resumed by
 * the consumer and handing it the next bytes; time the consumer spends with the bytes is not in it.
 */
async function* rangedReads(
  s3: S3Client,
  msg: ChunkMessage,
  from: number,
  firstEnd: number,
  limit: number,
  download: { ms: number },
  abandoned?: () => boolean,
  /** The object's first byte is byte `base` of the data (a staged window). */
  base = 0,
): AsyncGenerator<Uint8Array> {
  let position = from;
  let end = Math.min(firstEnd, limit);
  let waitingSince = Date.now();
  while (position < limit) {
    const get = await s3.send(new GetObjectCommand({ Bucket: msg.bucket, Key: msg.key, VersionId: msg.versionId, IfMatch: `"${msg.etag}"`, Range: `bytes=${position - base}-${end - 1 - base}` }));
    const stream = get.Body as Readable;
    try {
      for await (const bytes of stream as AsyncIterable<Uint8Array>) {
        if (abandoned?.()) throw new ChunkAbandonedError(msg.chunkId);
        position += bytes.length;
        download.ms += Date.now() - waitingSince;
        yield bytes;
        waitingSince = Date.now();
      }
    } finally {
      stream.destroy();
    }
    end = Math.min(position + TAIL_WINDOW_BYTES, limit);
  }
}

/** The chunk was given up mid-read (an emergency stop): its lease is already back on the queue. */
export class ChunkAbandonedError extends Error {
  constructor(chunkId: string) {
    super(`chunk ${chunkId} abandoned: emergency stop`);
    this.name = 'ChunkAbandonedError';
  }
}

async function upload(s3: S3Client, bucket: string, key: string, body: Readable): Promise<void> {
  await new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body }, queueSize: 2, partSize: 8 * 1024 * 1024 }).done();
}

/**
 * The CSV header (the object's first line) for chunks that do not start at 0: a ranged read of
 * at most `maxRecordBytes` and room for a byte order mark and a line terminator, so a header
 * without an end fails the chunk with the reason instead of reading the whole object.
 */
async function fetchHeader(s3: S3Client, msg: ChunkMessage, maxRecordBytes: number): Promise<string> {
  const bytes = Math.min(msg.objectSize, maxRecordBytes + 5);
  const get = await s3.send(new GetObjectCommand({ Bucket: msg.bucket, Key: msg.key, VersionId: msg.versionId, IfMatch: `"${msg.etag}"`, Range: `bytes=0-${bytes - 1}` }));
  const body = get.Body as Readable;
  try {
    const header = await readFirstLine(body);
    if (Buffer.byteLength(header) > maxRecordBytes) throw new ObjectInputError(`the CSV header is longer than maxRecordBytes (${maxRecordBytes} bytes)`);
    return header;
  } finally {
    body.destroy();
  }
}
