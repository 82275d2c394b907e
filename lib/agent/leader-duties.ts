import type { RecoveriesInProgress } from '../cluster/failure-detector';
import type { LeaderLease } from '../cluster/leader-lease';
import type { Log } from '../log';
import type { Cancel, Clock } from './clock';
import { CHORES_EVERY_MS } from './leader-chores';
import type { Rebalancer } from './rebalancer';

/**
 * How long a leader's lease lasts without renewal (renewed every 500 ms). A follower tries to take
 * it only once the expiry it last read has passed (about every 3 s, not every tick), so a dead
 * leader is replaced within the lease plus one tick.
 */
export const LEADER_LEASE_MS = 3000;
export const LEASE_RENEW_EVERY_MS = 500;
/** How often the leader runs the failure detector. */
export const DETECTOR_SWEEP_EVERY_MS = 500;

export interface LeaderDutiesDeps {
  lease: Pick<LeaderLease, 'currentToken' | 'tryAcquire' | 'release'> & Partial<Pick<LeaderLease, 'otherHolderUntil'>>;
  /** One failure-detector sweep; recoveries it starts are tracked in `recoveries` and run apart. */
  detectFailures: (recoveries: RecoveriesInProgress) => Promise<unknown>;
  /** Called on every sweep while this node leads, with its fencing token; must return at once. */
  onLeaderSweep?: (sweep: { token: number }) => void;
  /** The leader's chores that are due (`LeaderChores.run`); never throws. */
  chores: () => Promise<void>;
  /** Called after every sweep and rebalancer look, apart from the sweeps (the leader nudges nodes that lag the control state, names its deputy). */
  afterSweep?: () => Promise<void>;
  /** Told after every sweep, to rebalance replicas when a node joins (its passes run apart). */
  rebalancer?: Pick<Rebalancer, 'observe' | 'stop'>;
  clock: Clock;
  log: Log;
}

/**
 * Seeks and holds the leader lease, and while this node leads runs the failure detector and the
 * chores, each on its own timer and one at a time: a long recovery sweep never lets the lease
 * lapse, and the chores never delay the detector. Each sweep's view of the registry is handed to
 * the rebalancer, which moves replicas when a node joins.
 */
export class LeaderDuties {
  private readonly recoveries: RecoveriesInProgress = new Map();
  private readonly timers: Cancel[] = [];
  private readonly renew = oneAtATime(() => this.renewOnce());
  private readonly sweep = oneAtATime(() => this.sweepOnce());
  private readonly chores = oneAtATime(() => this.deps.chores());
  private readonly afterSweep = oneAtATime(async () => {
    await this.deps.afterSweep?.().catch((err: unknown) => this.deps.log('warn', 'after-sweep duty failed', { error: (err as Error).message }));
  });

  constructor(private readonly deps: LeaderDutiesDeps) {}

  /** Whether this node holds the lease (as of its last renewal). */
  get leading(): boolean {
    return this.deps.lease.currentToken !== undefined;
  }

  start(): void {
    const { clock } = this.deps;
    this.timers.push(clock.every(LEASE_RENEW_EVERY_MS, () => void this.renew()));
    this.timers.push(clock.every(DETECTOR_SWEEP_EVERY_MS, () => void (this.leading && this.sweep())));
    this.timers.push(clock.every(CHORES_EVERY_MS, () => void (this.leading && this.chores())));
  }

  /** Stops seeking the lease and sweeping; the lease is still held until `release()`. */
  stop(): void {
    this.timers.forEach((cancel) => cancel());
  }

  /** Resolves once the recoveries this node started have ended (a dead node's work is handed back before it leaves the lead). */
  async recoveriesDone(): Promise<void> {
    await Promise.all(this.recoveries.values());
  }

  /** Ends a rebalance pass in progress, then gives the lease up (clean shutdown), so another node takes over at once. */
  async release(): Promise<void> {
    await this.deps.rebalancer?.stop();
    await this.deps.lease.release().catch(() => undefined);
  }

  private async renewOnce(): Promise<void> {
    const { lease, log, clock } = this.deps;
    try {
      const wasLeader = lease.currentToken !== undefined;
      // Another node's lease that has not expired yet cannot be taken: no request until it has.
      if (!wasLeader && (lease.otherHolderUntil ?? -Infinity) >= clock.now()) return;
      const leads = await lease.tryAcquire(clock.now());
      if (leads && !wasLeader) log('info', 'became leader', { token: lease.currentToken });
      if (!leads && wasLeader) log('warn', 'lost the leader lease');
    } catch (err) {
      log('warn', 'leader lease renewal failed', { error: (err as Error).message });
    }
  }

  private async sweepOnce(): Promise<void> {
    const token = this.deps.lease.currentToken;
    if (token === undefined) return;
    try {
      this.deps.onLeaderSweep?.({ token });
      await this.deps.detectFailures(this.recoveries);
      // After the sweep: the detector's registry read is the one the rebalancer looks at.
      await this.deps.rebalancer?.observe(token);
      void this.afterSweep(); // never delays the next sweep (detection)
    } catch (err) {
      this.deps.log('error', 'leader duty failed', { error: (err as Error).message });
    }
  }
}

/**
 * Wraps `fn` so that a call made while the previous one still runs is skipped: an overlapping
 * lease renewal would fail its condition and drop the lease; an overlapping sweep would repeat work.
 */
function oneAtATime(fn: () => Promise<void>): () => Promise<void> {
  let running = false;
  return async () => {
    if (running) return;
    running = true;
    try {
      await fn();
    } finally {
      running = false;
    }
  };
}
