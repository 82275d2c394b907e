/**
 * One simulated node: its identity, liveness and heartbeat schedule, the real AIMD concurrency
 * rule of its work consumer, and its streams. A node's chunks in their GET-and-process phase share
 * the node fairly: each runs at the least of one S3 connection, its share of the record workers,
 * and its share of the network link (a fluid model: one event per node for the next stream to end).
 */
import { AdaptiveConcurrency } from '../agent/throttle-backoff';
import type { EventQueue } from './event-queue';

export interface NodeResources {
  /** Bytes per second of one S3 connection. */
  connection: number;
  /** Bytes per second of all record workers together. */
  cpu: number;
  /** Inbound network bytes per second. */
  network: number;
}

interface Stream {
  remaining: number;
  done: () => void;
}

export class SimNode {
  alive = true;
  status: 'ACTIVE' | 'DEAD' = 'ACTIVE';
  killedAt?: number;
  declaredAt?: number;
  recoveredAt?: number;
  /** Work loops running, and chunks being worked on. */
  workers = 0;
  working = 0;
  /** Chunks this node holds the lease of, and the chunks whose replica it holds. */
  readonly leases = new Set<number>();
  readonly held = new Set<number>();
  /** `WorkConsumer`'s idle rule: after an empty receive one loop long-polls and the others wait for it. */
  idle = true;
  idlePoller = false;
  waiting: Array<() => void> = [];
  /** When this node's record workers are up (set by its first chunk). */
  workersReadyAt?: number;
  /** When this node last read the placement targets. */
  viewReadAt = -Infinity;
  readonly adaptive: AdaptiveConcurrency;
  private streams: Stream[] = [];
  private lastUpdate = 0;
  private epoch = 0;

  constructor(
    readonly index: number,
    readonly id: string,
    readonly domain: string,
    /** Milliseconds into each second at which this node heartbeats. */
    readonly heartbeatPhase: number,
    readonly configured: number,
    private readonly resources: NodeResources,
    private readonly events: EventQueue,
  ) {
    this.adaptive = new AdaptiveConcurrency({ now: () => events.now });
  }

  /** The concurrency in force: the config's, lowered while throttled (`WorkConsumer.concurrency`). */
  get concurrency(): number {
    return this.adaptive.current(this.configured);
  }

  /** What the node can take through the record path at most (bytes per second): its bottleneck. */
  get capacity(): number {
    return Math.min(this.resources.cpu, this.resources.network, this.configured * this.resources.connection);
  }

  /** The time of the newest heartbeat written by `now` (heartbeats every `everyMs`, stopped by a kill). */
  lastHeartbeat(now: number, everyMs: number): number {
    const t = this.killedAt !== undefined ? Math.min(now, this.killedAt) : now;
    if (t < this.heartbeatPhase) return 0;
    return this.heartbeatPhase + Math.floor((t - this.heartbeatPhase) / everyMs) * everyMs;
  }

  /** Streams `bytes` through the node's shared resources; `done` runs when they are through. */
  stream(bytes: number, done: () => void): void {
    this.settle();
    this.streams.push({ remaining: bytes, done });
    this.reschedule();
  }

  /** Drops every stream (the node died). */
  kill(now: number): void {
    this.alive = false;
    this.killedAt = now;
    this.streams = [];
    this.epoch++;
  }

  private rate(): number {
    const k = this.streams.length;
    return Math.min(this.resources.connection, this.resources.cpu / k, this.resources.network / k);
  }

  /** Brings every stream's remaining bytes up to now. */
  private settle(): void {
    const now = this.events.now;
    if (this.streams.length > 0) {
      const moved = (this.rate() * (now - this.lastUpdate)) / 1000;
      for (const s of this.streams) s.remaining -= moved;
    }
    this.lastUpdate = now;
  }

  private reschedule(): void {
    const epoch = ++this.epoch;
    if (this.streams.length === 0) return;
    const least = Math.max(0, Math.min(...this.streams.map((s) => s.remaining)));
    this.events.after((least / this.rate()) * 1000, () => {
      if (epoch !== this.epoch || !this.alive) return;
      this.settle();
      const finished = this.streams.filter((s) => s.remaining <= 0.5);
      this.streams = this.streams.filter((s) => s.remaining > 0.5);
      this.reschedule();
      for (const s of finished) s.done();
    });
  }
}
