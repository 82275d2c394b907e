import type { Log } from '../log';
import type { Clock } from './clock';
import type { ReplicaPuller } from './replica-puller';

/**
 * How long the keeper rests after a pass that found nothing to pull: 500 ms after activity,
 * doubling with every idle pass up to 10 s, so an idle node reads its replica partition about
 * once every 10 s rather than twice a second. `poke()` (a chunk committed here, a nudge from the
 * leader or a leaving node) snaps it back.
 */
export const IDLE_PULL_WAIT_MS = 500;
export const MAX_IDLE_PULL_WAIT_MS = 10_000;
export const PULL_ERROR_BACKOFF_MS = 1000;

export interface ReplicaKeeperDeps {
  puller: Pick<ReplicaPuller, 'pullOnce'>;
  clock: Clock;
  log: Log;
}

/** Keeps this node's shard cache filled: pulls the shards placed on it, pass after pass, until stopped. */
export class ReplicaKeeper {
  private stopping = false;
  private loop?: Promise<void>;
  private idleWaitMs = IDLE_PULL_WAIT_MS;
  private wake?: () => void;
  private poked = false;

  constructor(private readonly deps: ReplicaKeeperDeps) {}

  start(): void {
    this.loop = this.pullLoop();
  }

  /** Something may have been assigned here: the next pass starts now, and idle waits start short again. */
  poke(): void {
    this.idleWaitMs = IDLE_PULL_WAIT_MS;
    this.poked = true;
    this.wake?.();
  }

  /** Resolves once the pass in progress has ended (a rest is cut short). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wake?.();
    await this.loop;
  }

  private async pullLoop(): Promise<void> {
    while (!this.stopping) {
      this.poked = false;
      try {
        const pulled = await this.deps.puller.pullOnce();
        if (pulled > 0) {
          this.idleWaitMs = IDLE_PULL_WAIT_MS;
          continue;
        }
        if (this.poked) continue; // poked during the pass: what it was told about may have come after the read
        const wait = this.idleWaitMs;
        this.idleWaitMs = Math.min(MAX_IDLE_PULL_WAIT_MS, this.idleWaitMs * 2);
        await this.rest(wait);
      } catch (err) {
        this.deps.log('error', 'replica puller error', { error: (err as Error).message });
        await this.rest(PULL_ERROR_BACKOFF_MS);
      }
    }
  }

  /** Sleeps `ms`, or less if poked or stopped meanwhile. */
  private async rest(ms: number): Promise<void> {
    if (this.stopping) return;
    await Promise.race([this.deps.clock.sleep(ms), new Promise<void>((resolve) => (this.wake = resolve))]);
    this.wake = undefined;
  }
}
