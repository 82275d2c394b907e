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

/** How one receive waits: long polling for `waitSeconds`, cut short by `signal` (a drain). */
export interface ReceiveOptions {
  waitSeconds: number;
  signal: AbortSignal;
}

/** How long a receive long-polls (SQS's maximum): an idle node asks the queue three times a minute. */
export const RECEIVE_WAIT_SECONDS = 20;

export interface WorkConsumerDeps {
  /** One long-poll receive of the work queue. */
  receive: (opts: ReceiveOptions) => Promise<Message[]>;
  /** Seconds one receive waits for a message. @default RECEIVE_WAIT_SECONDS */
  waitSeconds?: number;
  /** Works one message to its end (never throws for a chunk's own failure). */
  handle: (message: Message) => Promise<ChunkReport>;
  /** Resolves once work a chunk left running past its report has ended (its message delete, its object's finalize); awaited by `drain()`. */
  settled?: () => Promise<void>;
  /** Gives back a message received while leasing was paused. */
  giveBack: (message: Message) => Promise<void>;
  /** Whether the control state lets this node lease chunks now. */
  leasingAllowed: () => boolean;
  /** Called when a receive brought messages, before `leasingAllowed` is asked (an idle node's control view may be old). */
  beforeLeasing?: () => Promise<void>;
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
 * lowered while S3 or DynamoDB throttle (AIMD); loops above it end by themselves. While the queue
 * is empty only one loop long-polls (20 s), the others wait for it to receive a message, so an
 * idle node costs one receive per 20 s whatever its concurrency; a drain cuts that poll short.
 */
export class WorkConsumer {
  private readonly adaptive: AdaptiveConcurrency;
  private readonly loops: Promise<void>[] = [];
  private running = false;
  private stopping = false;
  private workers = 0;
  private working = 0;
  private done = 0;
  /** The last receive came back empty: one loop polls, the others wait for it. */
  private idle = true;
  private idlePoller = false;
  private waiting: Array<() => void> = [];
  private lastWork = -Infinity;
  private readonly polls = new Set<AbortController>();

  constructor(private readonly deps: WorkConsumerDeps) {
    this.adaptive = new AdaptiveConcurrency({ now: deps.clock.now });
  }

  /** Chunks being worked on right now. */
  get inFlight(): number {
    return this.working;
  }

  /** When this node last received or finished a chunk (epoch ms). */
  get lastWorkAt(): number {
    return this.lastWork;
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
    for (const poll of this.polls) poll.abort(); // a message a cut poll received returns after its receive visibility
    this.wakeWaiting();
    return Promise.all(this.loops).then(() => this.deps.settled?.());
  }

  private async workLoop(slot: number): Promise<void> {
    while (!this.stopping) {
      if (slot >= this.concurrency) {
        this.workers--;
        this.wakeWaiting(); // if this loop was the one polling, another takes over
        return; // the config in force lowered concurrency
      }
      if (!this.deps.leasingAllowed()) {
        await this.deps.clock.sleep(PAUSED_RECHECK_MS);
        continue;
      }
      if (this.idle && this.idlePoller) {
        await new Promise<void>((resolve) => this.waiting.push(resolve));
        continue;
      }
      const idlePoll = this.idle;
      if (idlePoll) this.idlePoller = true;
      try {
        const messages = await this.receive();
        this.idle = messages.length === 0;
        if (!this.idle) {
          this.lastWork = this.deps.clock.now();
          this.wakeWaiting(); // work has come: every loop receives again
          await this.deps.beforeLeasing?.();
        }
        for (const message of messages) {
          if (!this.deps.leasingAllowed()) {
            await this.giveBack(message); // paused while this receive was waiting
            continue;
          }
          await this.work(message);
        }
      } catch (err) {
        if (this.stopping) break;
        this.deps.log('error', 'work loop error', { error: (err as Error).message });
        await this.deps.clock.sleep(RECEIVE_ERROR_BACKOFF_MS);
      } finally {
        if (idlePoll) this.idlePoller = false;
      }
    }
  }

  private async receive(): Promise<Message[]> {
    const poll = new AbortController();
    this.polls.add(poll);
    try {
      return await this.deps.receive({ waitSeconds: this.deps.waitSeconds ?? RECEIVE_WAIT_SECONDS, signal: poll.signal });
    } finally {
      this.polls.delete(poll);
    }
  }

  private wakeWaiting(): void {
    const waiting = this.waiting;
    this.waiting = [];
    for (const wake of waiting) wake();
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
      this.lastWork = this.deps.clock.now();
    }
  }

  private async giveBack(message: Message): Promise<void> {
    await this.deps
      .giveBack(message)
      .catch((err) => this.deps.log('warn', 'could not give back a message received while paused; it returns after its receive visibility', { error: (err as Error).message }));
  }
}
