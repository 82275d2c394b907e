import type { DesiredState } from '../control/control-state';
import type { Log } from '../log';
import type { Clock } from './clock';

/**
 * How often the chores run: the pipeline's activity is published at every run while the control
 * state machine may be waiting on it, else every 10 s.
 */
export const CHORES_EVERY_MS = 1000;
export const IDLE_ACTIVITY_EVERY_MS = 10_000;
/** After a control action, the leader publishes activity every second for this long. */
export const ACTIVE_CONTROL_WINDOW_MS = 10 * 60 * 1000;
export const RUN_SWEEP_EVERY_MS = 2000;
export const FINALIZE_SWEEP_EVERY_MS = 5000;
/** How often the leader looks at the work DLQ for messages whose chunk never failed (see `stray-dead-letters.ts`). */
export const DEAD_LETTER_LOOK_EVERY_MS = 30_000;

export interface LeaderChoresDeps {
  /** Writes the leader's view of the whole pipeline, which the control state machine waits on. */
  publishActivity: (now: number) => Promise<void>;
  /** Finalizes objects a dead committer left unfinished; returns their ids. */
  finalizeObjects: () => Promise<string[]>;
  /** Settles runs whose objects are all settled. */
  settleRuns: () => Promise<unknown>;
  /** Sends back to the work queue the DLQ's messages whose chunk never failed (absent: no DLQ known). */
  returnStrayDeadLetters?: () => Promise<unknown>;
  /** The desired state in force, and when this node last saw a control action. */
  desired: () => DesiredState;
  lastActionAt: () => number;
  clock: Clock;
  log: Log;
}

/**
 * The leader's control-plane chores, apart from the failure detector so that they never delay it:
 * publish the pipeline's activity, settle finished runs every 2 s, finalize objects a dead
 * committer left unfinished every 5 s, return stray dead letters every 30 s. `run()` is called every second while this node leads.
 */
export class LeaderChores {
  private lastActivityAt = -Infinity;
  private lastFinalizeSweepAt = -Infinity;
  private lastRunSweepAt = -Infinity;
  private lastDeadLetterLookAt = -Infinity;

  constructor(private readonly deps: LeaderChoresDeps) {}

  /** Does the chores that are due; never throws. */
  async run(): Promise<void> {
    try {
      const now = this.deps.clock.now();
      // Every second while an action is recent or the pipeline is not simply running (the
      // control state machine waits on it then); every 10 s otherwise, to spare the tables.
      const busy = this.deps.desired() !== 'RUNNING' || now - this.deps.lastActionAt() < ACTIVE_CONTROL_WINDOW_MS;
      if (busy || now - this.lastActivityAt >= IDLE_ACTIVITY_EVERY_MS) {
        this.lastActivityAt = now;
        await this.deps.publishActivity(now);
      }
      if (now - this.lastFinalizeSweepAt >= FINALIZE_SWEEP_EVERY_MS) {
        this.lastFinalizeSweepAt = now;
        const finalized = await this.deps.finalizeObjects();
        if (finalized.length) this.deps.log('warn', 'finalized objects their last committer left unfinished', { objectIds: finalized });
      }
      if (now - this.lastRunSweepAt >= RUN_SWEEP_EVERY_MS) {
        this.lastRunSweepAt = now;
        await this.deps.settleRuns();
      }
      if (this.deps.returnStrayDeadLetters && now - this.lastDeadLetterLookAt >= DEAD_LETTER_LOOK_EVERY_MS) {
        this.lastDeadLetterLookAt = now;
        await this.deps.returnStrayDeadLetters();
      }
    } catch (err) {
      this.deps.log('error', 'leader chore failed', { error: (err as Error).message });
    }
  }
}
