import type { Message } from '@aws-sdk/client-sqs';
import type { NodeIdentity } from '../cluster/registry';
import type { PipelineConfig } from '../config/pipeline-config';
import type { Log } from '../log';
import type { ChunkReport } from './chunk-work';
import type { Clock } from './clock';
import { AdaptiveConcurrency } from './throttle-backoff';

/** How long a work loop waits after a failed receive, and between looks while leasing is paused. */
export const RECEIVE_ERROR_BACKOFF_MS = 1000;
export const PAUSED_RECHECK_MS = 200;

/** How many chunks a node works on at once: more for more GPUs, bounded by its CPUs. */
export function concurrencyFor(identity: Pick<NodeIdentity, 'gpus' | 'cpus'>, config: Pick<PipelineConfig, 'concurrencyPerNode'>): number {
  return Math.max(1, Math.min(config.concurrencyPerNode * Math.max(1, identity.gpus), Math.max(1, identity.cpus) * 2));
}

export interface WorkConsumerDeps {
  /** One long-poll receive of the work queue. */
  receive: () => Promise<Message[]>;
  /** Works one message to its end (never throws for a chunk's own failure). */
  handle: (message: Message) => Promise<ChunkReport>;
  /** Gives back a message received while leasing was paused. */
  giveBack: (message: Message) => Promise<void>;
  /** Whether the control state lets this node lease chunks now. */
  leasingAllowed: () => boolean;
  /** The concurrency the config in force allows (`concurrencyFor`). */
  configured: () => number;
  /** Called after every chunk (metrics, tests). */
  onChunk?: (report: ChunkReport) => void;
  clock: Clock;
  log: Log;
}

/**
 * The work loops: as many as the concurrency in force, each long-polling the work queue for one
 * message at a time and handing it to the chunk worker. The concurrency follows the config and is
 * lowered while S3 or DynamoDB throttle (AIMD); loops above it end by themselves.
 */
export class WorkConsumer {
  private readonly adaptive: AdaptiveConcurrency;
  private readonly loops: Promise<void>[] = [];
  private running = false;
  private stopping = false;
  private workers = 0;
  private working = 0;
  private done = 0;

  constructor(private readonly deps: WorkConsumerDeps) {
    this.adaptive = new AdaptiveConcurrency({ now: deps.clock.now });
  }

  /** Chunks being worked on right now. */
  get inFlight(): number {
    return this.working;
  }

  /** Chunks processed since start. */
  get chunksDone(): number {
    return this.done;
  }

  /** Chunks this node works on at once: the config in force, lowered while S3 or DynamoDB throttle. */
  get concurrency(): number {
    return this.adaptive.current(this.deps.configured());
  }

  start(): void {
    this.running = true;
    this.startWorkers();
  }

  /** Starts work loops up to the concurrency in force (after a config change, or growing back). */
  startWorkers(): void {
    if (!this.running || this.stopping) return;
    while (this.workers < this.concurrency) this.loops.push(this.workLoop(this.workers++));
  }

  /** A chunk met throttling: halve the concurrency (at most once per cool-down). */
  throttled(): void {
    const before = this.concurrency;
    if (this.adaptive.throttled(this.deps.configured()) < before) this.deps.log('warn', 'throttled: lowering concurrency', { from: before, to: this.concurrency });
  }

  /** Stops taking work; resolves once the chunks in flight are finished. */
  drain(): Promise<void> {
    this.stopping = true;
    return Promise.all(this.loops).then(() => undefined);
  }

  private async workLoop(slot: number): Promise<void> {
    while (!this.stopping) {
      if (slot >= this.concurrency) {
        this.workers--;
        return; // the config in force lowered concurrency
      }
      if (!this.deps.leasingAllowed()) {
        await this.deps.clock.sleep(PAUSED_RECHECK_MS);
        continue;
      }
      try {
        for (const message of await this.deps.receive()) {
          if (!this.deps.leasingAllowed()) {
            await this.giveBack(message); // paused while this receive was waiting
            continue;
          }
          await this.work(message);
        }
      } catch (err) {
        this.deps.log('error', 'work loop error', { error: (err as Error).message });
        await this.deps.clock.sleep(RECEIVE_ERROR_BACKOFF_MS);
      }
    }
  }

  private async work(message: Message): Promise<void> {
    this.working++;
    try {
      const report = await this.deps.handle(message);
      if (report.result === 'processed') {
        this.done++;
        this.adaptive.succeeded(this.deps.configured());
        this.startWorkers();
      }
      this.deps.log('info', `chunk ${report.result}`, {
        chunkId: report.chunkId,
        objectId: report.objectId,
        attempt: report.attempt,
        runId: report.runId,
        errorKind: report.errorKind,
        queueWaitMs: report.queueWaitMs,
        totalMs: report.totalMs,
        ...report.stages,
        ...report.outcome?.timings,
        ...report.outcome?.counts,
      });
      this.deps.onChunk?.(report);
    } finally {
      this.working--;
    }
  }

  private async giveBack(message: Message): Promise<void> {
    await this.deps
      .giveBack(message)
      .catch((err) => this.deps.log('warn', 'could not give back a message received while paused; it returns after its receive visibility', { error: (err as Error).message }));
  }
}
