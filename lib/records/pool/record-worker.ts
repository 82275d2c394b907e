/**
 * The record path's worker thread (piscina loads this file in each worker of a `RecordPool`):
 * one block or one encode per task, results moved back as transferable buffers.
 */
import { move, transferableSymbol, valueSymbol } from 'piscina';
import type { DatasetConfig } from '../../config/pipeline-config';
import { encodeBlock } from '../block-codec';
import { processBlock, type BlockResult, type BlockTask } from '../process-block';
import type { EncodeTask } from '../block-runner';
import { buildRecordPipeline, type RecordPipeline } from '../transforms';

/** A task as posted to a worker. */
export type WorkerTask = { kind: 'block'; task: BlockTask; dataset: DatasetConfig; datasetKey: string } | { kind: 'encode'; task: EncodeTask };

/** A worker's answer to a block: its result, and the block's buffer back when the output does not use it (for the next block). */
export type BlockWorkerResult = BlockResult & { spare?: ArrayBuffer };

/** Compiled pipelines by dataset config (JSON): a schema is compiled once per worker, not per block. */
const pipelines = new Map<string, RecordPipeline>();

function pipelineFor(dataset: DatasetConfig, key: string): RecordPipeline {
  let pipeline = pipelines.get(key);
  if (!pipeline) {
    if (pipelines.size >= 16) pipelines.clear(); // config versions come and go; keep a few
    pipelines.set(key, (pipeline = buildRecordPipeline(dataset)));
  }
  return pipeline;
}

/** Handles one task (piscina's default export). */
export default function recordWorker(message: WorkerTask): unknown {
  if (message.kind === 'encode') {
    const { bytes, codec, level } = message.task;
    const out = movableView(bytes.length > 0 ? encodeBlock(bytes, codec, level) : bytes);
    return movable(out, [out.buffer as ArrayBuffer]);
  }
  const result = processBlock(message.task, pipelineFor(message.dataset, message.datasetKey).perRecord);
  const output = movableView(result.output);
  const input = message.task.bytes.buffer;
  const spare = input instanceof ArrayBuffer && input !== output.buffer && input.byteLength > Buffer.poolSize ? input : undefined;
  const answer: BlockWorkerResult = { ...result, output, spare };
  return movable(answer, spare ? [output.buffer as ArrayBuffer, spare] : [output.buffer as ArrayBuffer]);
}

/**
 * A view whose whole ArrayBuffer may be moved: the view itself when it covers most of a buffer
 * of its own, else a copy (a small view may sit in Node's shared Buffer pool, and moving a big
 * buffer for a small view would keep the big one alive).
 */
function movableView(view: Uint8Array): Uint8Array {
  const buffer = view.buffer;
  if (buffer instanceof ArrayBuffer && buffer.byteLength > Buffer.poolSize && view.byteLength * 2 >= buffer.byteLength) return view;
  return new Uint8Array(view);
}

/** Marks a value for piscina to post with its buffers moved, not copied. */
function movable<T>(value: T, buffers: ArrayBuffer[]): unknown {
  return move({
    get [transferableSymbol]() {
      return buffers;
    },
    get [valueSymbol]() {
      return value;
    },
  } as unknown as Parameters<typeof move>[0]);
}
