import { isConditionFailure } from '../aws/conditional-write';
import type { HeartbeatEcho, NodeIdentity, NodeLoad, NodeRegistry } from '../cluster/registry';
import type { Log } from '../log';
import type { Cancel, Clock } from './clock';

/**
 * How often a node heartbeats (the leader declares it dead after `heartbeatTimeoutSeconds`). With
 * the default 3.5 s timeout a node is declared dead at most timeout + one 500 ms sweep = 4 s after
 * its last heartbeat, and a heartbeat may come 2 s late before it is taken for a death.
 */
export const HEARTBEAT_EVERY_MS = 1500;

/** The heartbeat period for a timeout: `HEARTBEAT_EVERY_MS`, or half the timeout when that is shorter (a short timeout never misses by one late beat). */
export function heartbeatPeriodMs(timeoutMs: number): number {
  return Math.max(250, Math.min(HEARTBEAT_EVERY_MS, Math.floor(timeoutMs / 2)));
}

export interface MembershipDeps {
  registry: Pick<NodeRegistry, 'join' | 'leave'> & { heartbeat: (...args: Parameters<NodeRegistry['heartbeat']>) => Promise<Partial<HeartbeatEcho> | void> };
  identity: NodeIdentity;
  /** Hands back the chunk leases this node still holds in the ledger; returns how many. */
  handBackLeases: () => Promise<number>;
  /** The load and control report every heartbeat carries. */
  load: () => NodeLoad;
  /** Told when the node's registry item says there is news for it (see `NodeRegistry.nudge`). */
  onNudged?: () => void;
  /** @default HEARTBEAT_EVERY_MS */
  heartbeatEveryMs?: number;
  clock: Clock;
  log: Log;
}

/**
 * This node's place in the registry: joins as a new incarnation, heartbeats every 1.5 s, rejoins
 * when it finds itself declared dead, says it is draining, and leaves. Each heartbeat reads back
 * the item's nudge count; when it grows, `onNudged` is told.
 */
export class Membership {
  private draining = false;
  private stopHeartbeats?: Cancel;
  private nudges?: number;

  constructor(private readonly deps: MembershipDeps) {}

  /** Joins as a new incarnation and hands back any lease a previous incarnation left behind. */
  async join(): Promise<void> {
    await this.deps.registry.join(this.deps.identity, this.deps.clock.now());
    this.nudges = undefined; // a new item: its count starts again
    const revoked = await this.deps.handBackLeases();
    if (revoked > 0) this.deps.log('warn', 'handed back leases of a previous incarnation', { revoked });
    await this.heartbeat();
  }

  /** Heartbeats every `heartbeatEveryMs` until `stop()`. */
  start(): void {
    this.stopHeartbeats = this.deps.clock.every(this.deps.heartbeatEveryMs ?? HEARTBEAT_EVERY_MS, () => void this.heartbeat());
  }

  stop(): void {
    this.stopHeartbeats?.();
  }

  /** One heartbeat now; never throws (a failed one is logged, the next one follows in its period). */
  async heartbeat(): Promise<void> {
    try {
      const echo = await this.deps.registry.heartbeat(this.deps.identity.nodeId, this.deps.load(), this.draining, this.deps.clock.now());
      const nudges = echo?.nudges;
      if (nudges === undefined) return;
      const nudged = this.nudges !== undefined && nudges !== this.nudges;
      this.nudges = nudges;
      if (nudged) this.deps.onNudged?.();
    } catch (err) {
      if (isConditionFailure(err) && !this.draining) {
        // Declared dead while stalled (SIGSTOP, GC, network): rejoin; late commits are refused.
        this.deps.log('warn', 'this node was declared dead; rejoining');
        await this.join().catch((e) => this.deps.log('error', 'rejoin failed', { error: (e as Error).message }));
        return;
      }
      this.deps.log('warn', 'heartbeat failed', { error: (err as Error).message });
    }
  }

  /** From now on every heartbeat says the node is draining (and a refused one no longer rejoins); one is sent at once. */
  async announceDraining(): Promise<void> {
    this.draining = true;
    await this.heartbeat();
  }

  async leave(): Promise<void> {
    await this.deps.registry.leave(this.deps.identity.nodeId);
  }
}
