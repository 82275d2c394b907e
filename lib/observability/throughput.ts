/** Cumulative ledger totals at one instant, as a snapshot reads them. */
export interface ThroughputSample {
  /** Epoch ms. */
  t: number;
  /** Cumulative bytes of input processed (sum over objects). */
  bytesProcessed: number;
  /** Cumulative records read (sum over objects). */
  recordsIn: number;
  /** Chunks being worked on right now (a gauge, from heartbeats). */
  chunksInFlight: number;
  /** Messages waiting on the work queue (a gauge). */
  queued?: number;
}

/** One point of the throughput series. */
export interface ThroughputPoint {
  t: number;
  bytesPerSec: number;
  recordsPerSec: number;
  chunksInFlight: number;
  queued: number;
}

export interface ThroughputTrackerOptions {
  /** Rates are averaged over this trailing window: chunks commit in steps, so a 1 s delta is spiky. @default 5000 */
  windowMs?: number;
  /** Points kept; the oldest are dropped beyond it. @default 7 days at one point a second */
  maxPoints?: number;
}

/**
 * Turns cumulative ledger totals, sampled once per snapshot, into a time series of rates. A rate
 * is the difference of the totals over the trailing window divided by its duration. Totals that
 * go down (the ledger was reset, an object was removed) start a new baseline instead of showing a
 * negative rate.
 */
export class ThroughputTracker {
  private readonly windowMs: number;
  private readonly maxPoints: number;
  private readonly series: ThroughputPoint[] = [];
  private recent: ThroughputSample[] = [];

  constructor(opts: ThroughputTrackerOptions = {}) {
    this.windowMs = opts.windowMs ?? 5000;
    this.maxPoints = opts.maxPoints ?? 7 * 24 * 3600;
  }

  /** Adds a sample and returns the point it makes; samples not newer than the last are ignored. */
  add(sample: ThroughputSample): ThroughputPoint {
    const last = this.recent[this.recent.length - 1];
    if (last && sample.t <= last.t) return this.series[this.series.length - 1];
    if (last && (sample.bytesProcessed < last.bytesProcessed || sample.recordsIn < last.recordsIn)) this.recent = [];
    this.recent.push(sample);
    while (this.recent.length > 1 && this.recent[0].t < sample.t - this.windowMs) this.recent.shift();
    const base = this.recent[0];
    const seconds = (sample.t - base.t) / 1000;
    const point: ThroughputPoint = {
      t: sample.t,
      bytesPerSec: seconds > 0 ? (sample.bytesProcessed - base.bytesProcessed) / seconds : 0,
      recordsPerSec: seconds > 0 ? (sample.recordsIn - base.recordsIn) / seconds : 0,
      chunksInFlight: sample.chunksInFlight,
      queued: sample.queued ?? 0,
    };
    this.series.push(point);
    if (this.series.length > this.maxPoints) this.series.splice(0, this.series.length - this.maxPoints);
    return point;
  }

  /** The latest point, if any. */
  current(): ThroughputPoint | undefined {
    return this.series[this.series.length - 1];
  }

  /** Points newer than `since` (epoch ms), oldest first; all of them without it. */
  points(since?: number): ThroughputPoint[] {
    if (since === undefined) return [...this.series];
    // Points are in time order: find the first newer one by binary search (the series can be long).
    let lo = 0;
    let hi = this.series.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.series[mid].t <= since) lo = mid + 1;
      else hi = mid;
    }
    return this.series.slice(lo);
  }
}
