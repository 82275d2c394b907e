import { ThroughputTracker } from '../../../lib/observability/throughput';

const sample = (t: number, bytesProcessed: number, recordsIn = 0, chunksInFlight = 0) => ({ t, bytesProcessed, recordsIn, chunksInFlight });

describe('ThroughputTracker', () => {
  it('reports zero rates for the first sample', () => {
    const tracker = new ThroughputTracker();
    expect(tracker.add(sample(1000, 5_000_000, 100, 3))).toEqual({ t: 1000, bytesPerSec: 0, recordsPerSec: 0, chunksInFlight: 3, queued: 0 });
  });

  it('computes rates from the deltas of the totals over the elapsed time', () => {
    const tracker = new ThroughputTracker({ windowMs: 10_000 });
    tracker.add(sample(0, 0, 0));
    const p = tracker.add(sample(2000, 8_000_000, 1000));
    expect(p.bytesPerSec).toBe(4_000_000);
    expect(p.recordsPerSec).toBe(500);
  });

  it('averages over the trailing window only', () => {
    const tracker = new ThroughputTracker({ windowMs: 2000 });
    tracker.add(sample(0, 0));
    tracker.add(sample(1000, 10_000_000)); // a burst long ago
    tracker.add(sample(2000, 10_000_000));
    tracker.add(sample(3000, 10_000_000));
    const p = tracker.add(sample(4000, 12_000_000));
    // Window [2000, 4000]: 2 MB in 2 s.
    expect(p.bytesPerSec).toBe(1_000_000);
  });

  it('drops to zero once the totals stop growing for a whole window', () => {
    const tracker = new ThroughputTracker({ windowMs: 2000 });
    tracker.add(sample(0, 0));
    tracker.add(sample(1000, 5_000_000));
    for (const t of [2000, 3000]) tracker.add(sample(t, 5_000_000));
    expect(tracker.current()?.bytesPerSec).toBe(0);
  });

  it('starts a new baseline instead of a negative rate when the totals go down', () => {
    const tracker = new ThroughputTracker({ windowMs: 10_000 });
    tracker.add(sample(0, 0));
    tracker.add(sample(1000, 9_000_000, 900));
    const reset = tracker.add(sample(2000, 1_000_000, 100));
    expect(reset.bytesPerSec).toBe(0);
    expect(reset.recordsPerSec).toBe(0);
    expect(tracker.add(sample(3000, 3_000_000, 300)).bytesPerSec).toBe(2_000_000);
  });

  it('ignores a sample that is not newer than the last one', () => {
    const tracker = new ThroughputTracker();
    tracker.add(sample(1000, 0));
    tracker.add(sample(2000, 1_000_000));
    tracker.add(sample(2000, 50_000_000));
    expect(tracker.points()).toHaveLength(2);
    expect(tracker.current()?.bytesPerSec).toBe(1_000_000);
  });

  it('keeps the whole series, returns the points after a time, and caps the length', () => {
    const tracker = new ThroughputTracker({ maxPoints: 5 });
    for (let i = 1; i <= 8; i++) tracker.add(sample(i * 1000, i * 1000));
    expect(tracker.points().map((p) => p.t)).toEqual([4000, 5000, 6000, 7000, 8000]);
    expect(tracker.points(6000).map((p) => p.t)).toEqual([7000, 8000]);
    expect(tracker.points(6500).map((p) => p.t)).toEqual([7000, 8000]);
    expect(tracker.points(9000)).toEqual([]);
    expect(tracker.points(0)).toHaveLength(5);
  });

  it('carries the in-flight and queued gauges through unchanged', () => {
    const tracker = new ThroughputTracker();
    const p = tracker.add({ t: 1, bytesProcessed: 0, recordsIn: 0, chunksInFlight: 7, queued: 12 });
    expect(p).toMatchObject({ chunksInFlight: 7, queued: 12 });
  });
});
