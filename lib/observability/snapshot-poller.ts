import type { PipelineSnapshot } from './snapshot';
import { ThroughputTracker, type ThroughputPoint } from './throughput';

export interface SnapshotPollerOptions {
  /** Time between the starts of two collections. @default 1000 */
  intervalMs?: number;
  tracker?: ThroughputTracker;
  /** Called after each successful collection with the snapshot and its throughput point. */
  onSnapshot?: (snapshot: PipelineSnapshot, point: ThroughputPoint) => void;
  /** Called when a collection fails; polling goes on. */
  onError?: (err: Error) => void;
}

/**
 * Collects a snapshot every interval and feeds the throughput tracker. One collection at a time:
 * if a collection takes longer than the interval, the next one starts when it ends, so a slow
 * endpoint is never sent overlapping requests.
 */
export class SnapshotPoller {
  readonly tracker: ThroughputTracker;
  latest?: PipelineSnapshot;
  lastError?: { at: number; message: string };
  private readonly intervalMs: number;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;

  constructor(
    private readonly collect: () => Promise<PipelineSnapshot>,
    private readonly opts: SnapshotPollerOptions = {},
  ) {
    this.intervalMs = opts.intervalMs ?? 1000;
    this.tracker = opts.tracker ?? new ThroughputTracker();
  }

  /** Starts polling at once. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.tick();
  }

  /** Collects one snapshot now (also used by `start`). */
  async pollOnce(): Promise<PipelineSnapshot | undefined> {
    try {
      const snapshot = await this.collect();
      const point = this.tracker.add({
        t: snapshot.collectedAt,
        bytesProcessed: snapshot.totals.bytesProcessed,
        recordsIn: snapshot.totals.recordsIn,
        chunksInFlight: snapshot.totals.chunksInFlight,
        queued: snapshot.queues.work.visible,
      });
      this.latest = snapshot;
      this.lastError = undefined;
      this.opts.onSnapshot?.(snapshot, point);
      return snapshot;
    } catch (err) {
      this.lastError = { at: Date.now(), message: (err as Error).message };
      this.opts.onError?.(err as Error);
      return undefined;
    }
  }

  /** Stops polling and waits for a collection in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  private tick(): void {
    const started = Date.now();
    this.running = this.pollOnce().then(() => {
      if (this.stopped) return;
      this.timer = setTimeout(() => this.tick(), Math.max(0, this.intervalMs - (Date.now() - started)));
    });
  }
}
