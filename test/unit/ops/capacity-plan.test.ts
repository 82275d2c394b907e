import { planCapacity, PlanInputError, type PlanInput } from '../../../lib/ops/plan';
import { renderPlan } from '../../../lib/ops/capacity/render-plan';
import { parseRate, parseSize, parseWindow } from '../../../lib/units';

const MiB = 1024 ** 2;
const given = (bytesPerSecond: number) => ({ bytesPerSecond, source: 'given' as const, note: 'test' });
/** 50 TB at 10 GB/s with 800 MB/s nodes: the example. */
const example = (over: Partial<PlanInput> = {}): PlanInput => ({ datasetBytes: 50e12, targetBytesPerSecond: 10e9, nodeThroughput: given(800e6), instanceType: 'p4d.24xlarge', ...over });

describe('planCapacity (hand-worked examples)', () => {
  it('sizes 50 TB at 10 GB/s with 800 MB/s nodes and 8 MiB chunks', () => {
    const p = planCapacity(example({ chunkSizeBytes: 8 * MiB }));

    // Nodes: 10 GB/s ÷ 800 MB/s = 12.5 → 13. The others are far below on a p4d.24xlarge:
    // network 400 Gbit/s = 50 GB/s ÷ (1 + R × 0.3 = 1.6) = 31.25 GB/s of input per node → 1;
    // cache R × 0.3 × 50 TB = 30 TB ÷ 8 TB NVMe → 3.75 → 4; streams 2 × 96 vCPUs × 85 MB/s → 1.
    expect(p.nodes).toBe(13);
    expect(p.nodesBy).toEqual({ throughput: 13, network: 1, cache: 4, connections: 1, replication: 2 });
    expect(p.binding.limit).toBe('per-node throughput');
    expect(p.binding.why).toContain('10 GB/s ÷ 800 MB/s per node = 12.50 → 13 nodes');

    // Per node: 10 GB/s ÷ 13 = 769.2 MB/s; one S3 stream per chunk at ~85 MB/s → ⌈9.05⌉ = 10 in
    // flight; concurrencyPerNode is per GPU: ⌈10 ÷ 8⌉ = 2.
    expect(p.perNode.bytesPerSecond).toBeCloseTo(769.23e6, -4);
    expect(p.perNode).toMatchObject({ chunksInFlight: 10, concurrencyPerNode: 2 });

    // Chunks: 1 GB objects ÷ 8,388,608 B = 119.2 → 120 per object; 50,000 objects → 6,000,000
    // chunks of 8,333,333 B on average; 10 GB/s ÷ 8,333,333 B = 1,200 chunks/s.
    expect(p.chunk).toMatchObject({ sizeBytes: 8 * MiB, reason: 'given', perObject: 120, total: 6_000_000 });
    expect(p.chunk.perSecond).toBeCloseTo(1200, 6);

    // S3: 1,200 ranged GETs + 10 HEADs (10 objects/s) = 1,210 GET/s → ⌈1,210 ÷ 5,500⌉ = 1 prefix.
    // Processed: shard 2.5 MB ≤ 8 MiB → 1 PUT + 1 rejects PUT = 2,400, + 10 objects × 3 (manifest,
    // 2 lists) = 2,430 PUT/s → 1 partition; R = 2 replica GETs per chunk = 2,400/s.
    expect(p.s3.sourceGetsPerSecond).toBeCloseTo(1210, 6);
    expect(p.s3.processedPutsPerSecond).toBeCloseTo(2430, 6);
    expect(p.s3.replicaGetsPerSecond).toBeCloseTo(2400, 6);
    expect(p.s3).toMatchObject({ sourcePrefixes: 1, processedPrefixes: 1 });

    // DynamoDB: 11 WCU per chunk (lease 1 + commit 2 × (2 + 2) + 2 replica updates) × 1,200 +
    // 3 per object × 10 = 13,230 WCU/s, under the 40,000 table quota; 1,200 RCU/s.
    expect(p.chunk.cost.ddbWriteUnits).toBe(11);
    expect(p.dynamodb.writeUnitsPerSecond).toBeCloseTo(13230, 6);
    expect(p.dynamodb.readUnitsPerSecond).toBeCloseTo(1200, 6);
    // But one object's item: 130 slots ÷ 120 chunks per object = 1.08 objects at once, so
    // 1,200 ÷ 1.083 = 1,107.7 commits/s on one item × 2 WCU = 2,215 WCU/s > 1,000: exceeded.
    expect(p.dynamodb.objectItemWriteUnitsPerSecond).toBeCloseTo(2215.38, 1);
    expect(p.exceeded).toEqual([expect.stringContaining('DynamoDB object item (one partition)')]);

    // Cost: 13 × $32.7726 = $426.04 an hour; 50 TB ÷ 10 GB/s = 5,000 s = 1.389 h → $591.73 of EC2.
    // DynamoDB: 13,230 × 3,600 ÷ 10⁶ × $0.625 + 1,200 × 3,600 ÷ 10⁶ × $0.125 = $29.77 + $0.54.
    expect(p.hours).toBeCloseTo(1.3889, 4);
    expect(p.cost.perHour.ec2).toBeCloseTo(426.04, 2);
    expect(p.cost.dataset.ec2).toBeCloseTo(591.73, 2);
    expect(p.cost.perHour.dynamodb).toBeCloseTo(30.3075, 4);
    expect(p.cost.perHour.total).toBeCloseTo(
      Object.entries(p.cost.perHour)
        .filter(([k]) => k !== 'total')
        .reduce((n, [, v]) => n + v, 0),
      6,
    );
  });

  it('fits the object item with 64 MiB chunks', () => {
    // ⌈1 GB ÷ 64 MiB = 14.9⌉ = 15 chunks per object → 150 chunks/s; 130 slots ÷ 15 = 8.7 objects
    // at once → 17.31 commits/s per object × 2 = 34.62 WCU/s on one item.
    const p = planCapacity(example({ chunkSizeBytes: 64 * MiB }));
    expect(p.chunk.perSecond).toBeCloseTo(150, 6);
    expect(p.dynamodb.objectItemWriteUnitsPerSecond).toBeCloseTo(34.62, 2);
    expect(p.exceeded).toEqual([]);
  });

  it('asks for more prefixes and exceeds the table quota with 1 MiB chunks of 100 MB objects', () => {
    const p = planCapacity(example({ chunkSizeBytes: MiB, objectSizeBytes: 100e6 }));
    // ⌈100 MB ÷ 1,048,576 = 95.4⌉ = 96 chunks per object → 10 GB/s ÷ (100 MB ÷ 96) = 9,600 chunks/s.
    expect(p.chunk.perSecond).toBeCloseTo(9600, 6);
    // GET: 9,600 + 100 HEAD = 9,700 → ⌈9,700 ÷ 5,500⌉ = 2 source prefixes.
    // PUT: 2 × 9,600 + 3 × 100 = 19,500 → ⌈19,500 ÷ 3,500⌉ = 6; replica GET 19,200 → 4; so 6.
    expect(p.s3).toMatchObject({ sourcePrefixes: 2, processedPrefixes: 6 });
    // 11 × 9,600 + 3 × 100 = 105,900 WCU/s > 40,000.
    expect(p.dynamodb.writeUnitsPerSecond).toBeCloseTo(105900, 6);
    expect(p.exceeded.join('\n')).toContain('DynamoDB table writes (on-demand quota)');
  });

  it('names the cache as the binding limit on g5.xlarge hosts', () => {
    // 30 TB of replicas ÷ 250 GB NVMe = 120 nodes; network 2.5 Gbit/s = 312.5 MB/s ÷ 1.6 = 195.3 MB/s
    // of input → ⌈51.2⌉ = 52; streams 8 × 85 MB/s = 680 MB/s → ⌈14.7⌉ = 15; throughput 13.
    const p = planCapacity(example({ instanceType: 'g5.xlarge' }));
    expect(p.nodesBy).toEqual({ throughput: 13, network: 52, cache: 120, connections: 15, replication: 2 });
    expect(p.nodes).toBe(120);
    expect(p.binding.limit).toBe('shard cache (local NVMe)');
    expect(p.binding.why).toContain('30 TB of replicas on 250 GB of NVMe per node → 120 nodes');
  });

  it('chooses the chunk size from the fleet when none is given', () => {
    // 10 GB at 1 GB/s on g5.12xlarge: 2 nodes (1.25 → 2) of 500 MB/s → ⌈5.9⌉ = 6 in flight, 12
    // slots; 10 GB ÷ (20 × 12) = 41.7 MB → the power of two below: 32 MiB.
    const p = planCapacity({ datasetBytes: 10e9, targetBytesPerSecond: 1e9, nodeThroughput: given(800e6), instanceType: 'g5.12xlarge' });
    expect(p.nodes).toBe(2);
    expect(p.perNode.chunksInFlight).toBe(6);
    expect(p.chunk.sizeBytes).toBe(32 * MiB);
    expect(p.chunk.reason).toContain('about 20 chunks per slot (12 slots)');
    // 50 TB over 130 slots would want 19 GB chunks: capped at 256 MiB.
    expect(planCapacity(example()).chunk.sizeBytes).toBe(256 * MiB);
  });

  it('raises the chosen chunk size until the ledger fits DynamoDB', () => {
    // 1 TB at 200 GB/s on p5.48xlarge: 250 nodes × 10 in flight = 2,500 slots; 1 TB ÷ 50,000 =
    // 20 MB → 16 MiB: 60 chunks per GB object → 12,000 chunks/s × 11 = 132,000 WCU/s, too many;
    // 32 MiB: 6,000/s → 66,000, too many; 64 MiB: 15 per object → 3,000/s → 33,000: fits.
    const p = planCapacity({ datasetBytes: 1e12, targetBytesPerSecond: 200e9, nodeThroughput: given(800e6), instanceType: 'p5.48xlarge' });
    expect(p.nodes).toBe(250);
    expect(p.chunk.sizeBytes).toBe(64 * MiB);
    expect(p.chunk.reason).toContain('raised until the ledger fits DynamoDB');
    // 200 objects/s × (50 ms + 2 batches × 20 ms) = 18 chunker invocations at once: more than the default 10.
    expect(p.chunker.concurrency).toBe(18);
    expect(p.exceeded).toEqual(['chunker concurrency (chunker.maxConcurrency): raise chunker.maxConcurrency to 18']);
  });

  it('needs a larger chunker concurrency for many small objects, and says when the event source cannot give it', () => {
    // 1 MB objects at 10 GB/s = 10,000 objects/s × (50 ms + 20 ms) = 700 concurrent chunkers.
    const small = planCapacity(example({ objectSizeBytes: 1e6 }));
    expect(small.chunker.concurrency).toBe(700);
    expect(small.chunker.rampMinutes).toBeCloseTo((700 - 5) / 300, 6);
    expect(small.exceeded.join('\n')).toContain('raise chunker.maxConcurrency to 700');
    expect(small.exceeded.join('\n')).not.toContain('SQS event source scaling');
    // 100 kB objects: 100,000/s × 70 ms = 7,000 > 1,250, the most one SQS event source mapping scales to.
    expect(planCapacity(example({ objectSizeBytes: 1e5 })).exceeded.join('\n')).toContain('SQS event source scaling (standard mode)');
  });

  it('says where the per-node figure came from and that the cost is an estimate', () => {
    const text = renderPlan(planCapacity(example({ chunkSizeBytes: 8 * MiB })));
    expect(text).toContain('NODES      13 × p4d.24xlarge, bound by per-node throughput');
    expect(text).toContain('per-node throughput 800 MB/s (given)');
    expect(text).toContain('COST (estimate, us-east-1 on-demand, prices of 2026-11-29)');
    expect(text).toMatch(/EC2 +\$426\.04 +\$591\.73/);
    expect(text).toContain('EXCEEDED (1)');
  });

  it('warns that a figure measured on a local emulator does not describe AWS hosts', () => {
    const text = renderPlan(planCapacity(example({ nodeThroughput: { bytesPerSecond: 833e3, source: 'measured', note: 'measured', emulator: true } })));
    expect(text).toContain('THROUGHPUT 833 kB/s per node, measured on a local emulator: it bounds the figure, so this plan is not one for AWS hosts');
  });
});

describe('planCapacity (input refused with a reason)', () => {
  it.each([
    ['a dataset of 0 bytes', { datasetBytes: 0 }, 'the dataset size must be a number above 0'],
    ['a negative rate', { targetBytesPerSecond: -1 }, 'the target rate must be a number above 0'],
    ['a node throughput of NaN', { nodeThroughput: given(Number.NaN) }, 'the per-node throughput must be a number above 0'],
    ['an unknown instance', { instanceType: 'm5.large' }, "unknown instance type 'm5.large': plan knows g5.xlarge, g5.12xlarge, p4d.24xlarge, p5.48xlarge"],
    ['a 512-byte chunk', { chunkSizeBytes: 512 }, 'outside what the pipeline accepts (1 KiB to 5 GiB'],
    ['R = 0', { replicationFactor: 0 }, 'replication factor must be a whole number from 1 to 10'],
    ['an output ratio of 0', { outputRatio: 0 }, 'output ratio must be above 0'],
  ])('refuses %s', (_what, over, reason) => {
    expect(() => planCapacity(example(over as Partial<PlanInput>))).toThrow(PlanInputError);
    expect(() => planCapacity(example(over as Partial<PlanInput>))).toThrow(reason);
  });

  it('parses rates and sizes the way the CLI reads them, and refuses the rest', () => {
    expect(parseRate('10GB/s')).toBe(10e9);
    expect(parseRate('800 MB/s')).toBe(800e6);
    expect(parseRate('1.5GiB/s')).toBe(1.5 * 1024 ** 3);
    expect(parseSize('50TB')).toBe(50e12);
    expect(() => parseRate('10GB')).toThrow("invalid rate '10GB': use a size per second, e.g. 10GB/s");
    expect(() => parseRate('0GB/s')).toThrow('must be more than 0 bytes per second');
    expect(() => parseRate('fast/s')).toThrow('invalid rate');
    expect(() => parseSize('lots')).toThrow("invalid size 'lots'");
    expect(parseWindow('5m')).toBe(300);
    expect(() => parseWindow('30s')).toThrow('between 1m and 24h');
  });
});
