import { chunkIdOf, formatOfKey, objectIdOf } from '../../lib/chunking/chunk';
import { planWithSimulation } from '../../lib/simulate/plan-fleet';
import { planChunks } from '../../lib/chunking/plan';

const ref = (size: number, key = 'data/train.jsonl') => ({ bucket: 'ingest', key, etag: 'abc', size });

describe('planChunks', () => {
  it('covers the object with contiguous ranges when the size is not a multiple of the chunk size', () => {
    const plan = planChunks(ref(1000 * 1024 + 7), 64 * 1024);
    expect(plan.chunks).toHaveLength(16);
    plan.chunks.forEach((c, i) => {
      expect(c.start).toBe(i === 0 ? 0 : plan.chunks[i - 1].end);
      expect(c.chunkCount).toBe(16);
    });
    expect(plan.chunks.at(-1)?.end).toBe(1000 * 1024 + 7);
  });

  it('plans a 1 TB object arithmetically into 16384 chunks of 64 MiB', () => {
    const plan = planChunks(ref(2 ** 40), 64 * 1024 * 1024);
    expect(plan.chunks).toHaveLength(16384);
    expect(plan.chunks[16383].end).toBe(2 ** 40);
  });

  it('plans no chunks when the object is empty', () => {
    expect(planChunks(ref(0), 1024).chunks).toEqual([]);
  });

  it('makes a gzip object one chunk because gzip cannot be split', () => {
    const plan = planChunks(ref(10_000_000, 'a/b.jsonl.gz'), 1024 * 1024);
    expect(plan.chunks).toHaveLength(1);
    expect(plan.chunks[0]).toMatchObject({ start: 0, end: 10_000_000, format: 'jsonl', compression: 'gzip' });
  });

  it('gives the same ids when the same object version is planned twice', () => {
    const a = planChunks(ref(5000), 1024);
    const b = planChunks(ref(5000), 1024);
    expect(b.chunks.map((c) => c.chunkId)).toEqual(a.chunks.map((c) => c.chunkId));
    expect(a.chunks[2].chunkId).toBe(chunkIdOf(a.objectId, 2));
  });

  it('gives different object ids when the version differs', () => {
    expect(objectIdOf({ bucket: 'b', key: 'k', etag: 'e', versionId: 'v1' })).not.toBe(objectIdOf({ bucket: 'b', key: 'k', etag: 'e', versionId: 'v2' }));
  });

  it('refuses a negative size', () => {
    expect(() => planChunks(ref(-1), 1024)).toThrow(/invalid object size/);
  });
});

describe('formatOfKey', () => {
  it.each([
    ['x/a.jsonl', 'jsonl', 'none'],
    ['x/a.ndjson.gz', 'jsonl', 'gzip'],
    ['a.CSV', 'csv', 'none'],
    ['a.txt', 'text', 'none'],
    ['a.tfrecord', 'binary', 'none'],
  ])('reads %s as %s/%s', (key, format, compression) => {
    expect(formatOfKey(key)).toEqual({ format, compression });
  });
});

describe('planWithSimulation (capacity plan sized by the simulator)', () => {
  const given = (bytesPerSecond: number) => ({ bytesPerSecond, source: 'given' as const, note: 'test' });

  it('grows the fleet when the simulated rate falls short of the target, and prices the grown fleet', () => {
    // 10 × 100 MB/s is exactly 1 GB/s on paper; the simulated fleet loses a few percent to round trips and the last wave.
    const p = planWithSimulation({ datasetBytes: 1e12, targetBytesPerSecond: 1e9, nodeThroughput: given(100e6), instanceType: 'g5.xlarge' });
    expect(p.simulation.analyticNodes).toBe(10);
    expect(p.simulation.nodes).toBeGreaterThan(10);
    expect(p.nodes).toBe(p.simulation.nodes);
    expect(p.simulation.throughputBytesPerSecond).toBeGreaterThanOrEqual(1e9);
    expect(p.simulation.utilization).toBeGreaterThan(0.9);
    expect(p.cost.perHour.ec2).toBeCloseTo(p.nodes * 1.006, 6);
    expect(p.input.nodeThroughput.note).toContain('simulated');
  });

  it('keeps the analytic fleet when another limit already gives it room', () => {
    // 50 TB × 0.3 × R = 30 TB of replicas on 250 GB caches: 120 nodes, far more than 10 GB/s needs.
    const p = planWithSimulation({ datasetBytes: 50e12, targetBytesPerSecond: 10e9, nodeThroughput: given(100e6), instanceType: 'g5.xlarge' });
    expect(p.simulation.analyticNodes).toBe(120);
    expect(p.nodes).toBe(120);
    expect(p.simulation.rounds).toBe(1);
    expect(p.simulation.throughputBytesPerSecond).toBeGreaterThan(10e9);
    expect(p.simulation.underQuotas).toBe(true);
  });
});
