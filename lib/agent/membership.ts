import { isConditionFailure } from '../aws/conditional-write';
import type { NodeIdentity, NodeLoad, NodeRegistry } from '../cluster/registry';
import type { Log } from '../log';
import type { Cancel, Clock } from './clock';

/** How often a node heartbeats (the leader declares it dead after `heartbeatTimeoutSeconds`). */
export const HEARTBEAT_EVERY_MS = 1000;

export interface MembershipDeps {
  registry: Pick<NodeRegistry, 'join' | 'heartbeat' | 'leave'>;
  identity: NodeIdentity;
  /** Hands back the chunk leases this node still holds in the ledger; returns how many. */
  handBackLeases: () => Promise<number>;
  /** The load and control report every heartbeat carries. */
  load: () => NodeLoad;
  clock: Clock;
  log: Log;
}

/**
 * This node's place in the registry: joins as a new incarnation, heartbeats every second, rejoins
 * when it finds itself declared dead, says it is draining, and leaves.
 */
export class Membership {
  private draining = false;
  private stopHeartbeats?: Cancel;

  constructor(private readonly deps: MembershipDeps) {}

  /** Joins as a new incarnation and hands back any lease a previous incarnation left behind. */
  async join(): Promise<void> {
    await this.deps.registry.join(this.deps.identity);
    const revoked = await this.deps.handBackLeases();
    if (revoked > 0) this.deps.log('warn', 'handed back leases of a previous incarnation', { revoked });
    await this.heartbeat();
  }

  /** Heartbeats every second until `stop()`. */
  start(): void {
    this.stopHeartbeats = this.deps.clock.every(HEARTBEAT_EVERY_MS, () => void this.heartbeat());
  }

  stop(): void {
    this.stopHeartbeats?.();
  }

  /** One heartbeat now; never throws (a failed one is logged, the next one comes in a second). */
  async heartbeat(): Promise<void> {
    try {
      await this.deps.registry.heartbeat(this.deps.identity.nodeId, this.deps.load(), this.draining);
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
