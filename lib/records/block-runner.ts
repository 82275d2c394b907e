import { BlockBuffers } from './block-buffers';
import { encodeBlock } from './block-codec';
import { processBlock, type BlockResult, type BlockTask } from './process-block';
import type { ShardCodec } from './shard-codec';
import type { RecordPipeline } from './transforms';

/** Bytes to encode as one gzip member or zstd frame (the deduped output of a block). */
export interface EncodeTask {
  bytes: Uint8Array;
  codec: ShardCodec;
  level: number;
}

/**
 * Where blocks are processed: on the calling thread ({@link inlineRunner}) or on a pool of
 * worker threads (`RecordPool`). Both give the same bytes for the same task.
 */
export interface BlockRunner {
  /** Blocks worked on at once (a chunk keeps about twice this many in flight). */
  readonly parallelism: number;
  /** Runs the record path of one block. The task's bytes may be moved to another thread: do not use them after. */
  process(task: BlockTask, pipeline: RecordPipeline): Promise<BlockResult>;
  /** Encodes plain JSON Lines (the task's bytes may be moved too). */
  encode(task: EncodeTask): Promise<Uint8Array>;
  /** A buffer for a block of `size` bytes, which the runner may recycle once the block is processed. */
  allocate?(size: number): Buffer;
}

const inlineBuffers = new BlockBuffers(4);

/**
 * Runs blocks on the calling thread, one at a time. A block buffer it handed out is reused once
 * the block's output does not point into it (an encoded block's output never does).
 */
export const inlineRunner: BlockRunner = {
  parallelism: 1,
  process: async (task, pipeline) => {
    const result = processBlock(task, pipeline.perRecord);
    const buffer = task.bytes.buffer;
    if (inlineBuffers.has(buffer) && result.output.buffer !== buffer) inlineBuffers.reuse(buffer as ArrayBuffer);
    return result;
  },
  encode: async ({ bytes, codec, level }) => (bytes.length > 0 ? encodeBlock(bytes, codec, level) : bytes),
  allocate: (size) => inlineBuffers.allocate(size),
};
