import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { inlineRunner, type BlockRunner, type EncodeTask } from '../block-runner';
import type { BlockResult, BlockTask } from '../process-block';
import type { RecordPipeline } from '../transforms';
import { BlockBuffers } from '../block-buffers';
import type { BlockWorkerResult, WorkerTask } from './record-worker';

/**
 * Set (as `true`) by the agent bundle's build (scripts/build-agent.cjs): the worker is then
 * `worker.js` beside the bundle, piscina's own worker and this pool's handler in one file, so
 * both share piscina's module (its `move()` marks results for transfer).
 */
declare const SHARDLINE_AGENT_BUNDLE: boolean | undefined;

/**
 * Record workers when neither the config nor the agent's flag says: a quarter of the cores the
 * process may use, at least one, so most cores stay with training on a GPU host.
 */
export function defaultRecordWorkers(cpus = availableParallelism()): number {
  return Math.max(1, Math.floor(cpus / 4));
}

/** Where piscina finds the handler: the bundle's worker, compiled JavaScript, or the TypeScript source through tsx. */
function workerEntry(): { filename: string; execArgv?: string[] } {
  if (typeof SHARDLINE_AGENT_BUNDLE !== 'undefined' && SHARDLINE_AGENT_BUNDLE) return { filename: join(__dirname, 'worker.js') };
  const compiled = join(__dirname, 'record-worker.js');
  if (existsSync(compiled)) return { filename: compiled };
  // From the sources (jest, tsx): tsx's loader is inherited from a tsx process, else required here.
  const underTsx = process.execArgv.some((arg) => arg.includes('tsx'));
  return { filename: join(__dirname, 'record-worker.ts'), execArgv: underTsx ? undefined : [...process.execArgv, '--require', 'tsx/cjs'] };
}

/**
 * The record path on a pool of worker threads (piscina), a fixed number of them. Block bytes
 * are moved to the worker and the output moved back (transfer, not copy). Idle workers do not
 * keep the process alive.
 */
export class RecordPool implements BlockRunner {
  readonly parallelism: number;
  private readonly piscina: Piscina;
  private pending = 0;
  /** Block buffers, back from the workers for the next blocks. */
  private readonly buffers: BlockBuffers;
  /** Set when retired: later tasks go there, and the workers stop once their tasks are done. */
  private successor?: BlockRunner;
  private closing?: Promise<void>;

  constructor(workers: number) {
    if (!Number.isInteger(workers) || workers < 1) throw new RangeError(`a record pool needs at least one worker, not ${workers}`);
    this.parallelism = workers;
    this.buffers = new BlockBuffers(2 * workers + 2);
    const entry = workerEntry();
    this.piscina = new Piscina({ ...entry, minThreads: workers, maxThreads: workers, idleTimeout: Infinity, concurrentTasksPerWorker: 1 });
  }

  async process(task: BlockTask, pipeline: RecordPipeline): Promise<BlockResult> {
    if (this.successor) return this.successor.process(task, pipeline);
    const message: WorkerTask = { kind: 'block', task, dataset: pipeline.dataset, datasetKey: datasetKey(pipeline) };
    const { spare, ...result } = (await this.run(message, task.bytes)) as BlockWorkerResult;
    if (spare) this.buffers.reuse(spare);
    return result;
  }

  /** A block buffer: one the workers handed back when one is large enough, else a new one. */
  allocate(size: number): Buffer {
    return this.buffers.allocate(size);
  }

  async encode(task: EncodeTask): Promise<Uint8Array> {
    if (this.successor) return this.successor.encode(task);
    return (await this.run({ kind: 'encode', task }, task.bytes)) as Uint8Array;
  }

  /**
   * Hands over to `successor` (a new worker count): tasks of chunks still running here go there
   * (every runner gives the same bytes, so a chunk may switch between blocks), and the workers
   * stop once the tasks already sent are done.
   */
  retire(successor: BlockRunner): void {
    this.successor = successor;
    this.closeWhenIdle();
  }

  /** Stops the workers once their tasks are done. */
  async close(): Promise<void> {
    this.closing ??= this.piscina.close();
    await this.closing;
  }

  private async run(message: WorkerTask, bytes: Uint8Array): Promise<unknown> {
    this.pending++;
    try {
      return await this.piscina.run(message, { transferList: this.transferable(bytes) });
    } finally {
      this.pending--;
      this.closeWhenIdle();
    }
  }

  /** The buffer to move with a task: a block buffer of this pool, or one the bytes own whole (a shared one is copied instead). */
  private transferable(bytes: Uint8Array): ArrayBuffer[] {
    const buffer = bytes.buffer;
    if (!(buffer instanceof ArrayBuffer) || bytes.byteOffset !== 0) return [];
    return this.buffers.has(buffer) || (bytes.byteLength === buffer.byteLength && buffer.byteLength > Buffer.poolSize) ? [buffer] : [];
  }

  private closeWhenIdle(): void {
    if (this.successor && this.pending === 0) void this.close().catch(() => undefined);
  }
}

const keys = new WeakMap<RecordPipeline, string>();
function datasetKey(pipeline: RecordPipeline): string {
  let key = keys.get(pipeline);
  if (key === undefined) keys.set(pipeline, (key = JSON.stringify(pipeline.dataset)));
  return key;
}

let shared: RecordPool | undefined;
let override: number | undefined;

/** Fixes the process's record workers (the agent's `--record-workers`), whatever the config says. */
export function setRecordWorkers(workers: number | undefined): void {
  override = workers;
}

/**
 * The process's block runner for a configured worker count: `0` runs blocks on the calling
 * thread; otherwise one shared pool (the agent's `--record-workers`, else `configured`, else
 * {@link defaultRecordWorkers}). A new count (a new config version) replaces the pool; the old
 * one hands its later tasks over and stops (see {@link RecordPool.retire}).
 */
export function recordRunner(configured?: number): BlockRunner {
  const workers = override ?? configured ?? defaultRecordWorkers();
  if (shared?.parallelism === workers || (shared === undefined && workers === 0)) return shared ?? inlineRunner;
  const next = workers === 0 ? undefined : new RecordPool(workers);
  shared?.retire(next ?? inlineRunner);
  shared = next;
  return next ?? inlineRunner;
}
