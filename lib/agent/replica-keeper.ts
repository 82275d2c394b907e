import type { Log } from '../log';
import type { Clock } from './clock';
import type { ReplicaPuller } from './replica-puller';

/** How long the keeper rests after a pass that found nothing to pull, and after a failed pass. */
export const IDLE_PULL_WAIT_MS = 500;
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

  constructor(private readonly deps: ReplicaKeeperDeps) {}

  start(): void {
    this.loop = this.pullLoop();
  }

  /** Resolves once the pass in progress has ended. */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.loop;
  }

  private async pullLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        const pulled = await this.deps.puller.pullOnce();
        if (pulled === 0) await this.deps.clock.sleep(IDLE_PULL_WAIT_MS);
      } catch (err) {
        this.deps.log('error', 'replica puller error', { error: (err as Error).message });
        await this.deps.clock.sleep(PULL_ERROR_BACKOFF_MS);
      }
    }
  }
}
