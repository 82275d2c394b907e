import { simulate, ScenarioError } from '../../../lib/simulate/simulate';

const GB = 1e9;
const small = { nodes: 10, datasetBytes: 40 * GB, chunkBytes: 64 * 1024 ** 2 };

describe('simulate', () => {
  it('gives the same result for the same seed and a different one for another seed', () => {
    const strip = (r: ReturnType<typeof simulate>) => ({ ...r, simulation: { ...r.simulation, wallSeconds: 0 } });
    const a = strip(simulate({ ...small, seed: 7 }));
    const b = strip(simulate({ ...small, seed: 7 }));
    const c = strip(simulate({ ...small, seed: 8 }));
    expect(b).toEqual(a);
    expect(c.makespanSeconds).not.toBe(a.makespanSeconds);
  });

  it('commits every chunk exactly once and keeps R live replicas when 30% of the nodes are killed mid-run', () => {
    const r = simulate({ ...small, nodes: 20, kill: { fraction: 0.3, atMs: 10_000 }, seed: 3 });
    expect(r.failure?.killed).toBe(6);
    expect(r.attempts).toBeGreaterThan(r.chunks); // the killed nodes' chunks were worked again
    expect(r.invariants).toMatchObject({ committedOnce: r.chunks, committedTwice: 0, lost: 0, chunksShortOfReplicas: 0 });
    expect(r.invariants.minLiveReplicas).toBeGreaterThanOrEqual(2);
    expect(r.failure?.detectionSecondsMax).toBeLessThan(5);
    expect(r.failure?.detectionSecondsMax).toBeGreaterThan(2); // the heartbeat timeout (3.5 s) minus at most one heartbeat period
  });

  it('elects a new leader and still detects every failure when the leader is among the killed', () => {
    const r = simulate({ ...small, kill: { fraction: 0.5, atMs: 5_000, leader: true } });
    expect(r.failure?.leaderChanges).toBe(1);
    expect(r.invariants.committedOnce).toBe(r.chunks);
    expect(r.invariants.chunksShortOfReplicas).toBe(0);
    expect(r.failure?.detectionSecondsMax).toBeLessThan(8);
  });

  it('absorbs duplicate deliveries in the lease rule: no chunk is committed twice', () => {
    const r = simulate({ ...small, duplicateRate: 0.2 });
    expect(r.duplicatesAbsorbed).toBeGreaterThan(r.chunks * 0.1);
    expect(r.invariants.committedOnce).toBe(r.chunks);
  });

  it('throttles a hot S3 prefix and lowers the concurrency instead of failing chunks', () => {
    // 1 MiB chunks on 300 nodes (1,200 work loops) ask the one source prefix for more than its 5,500 GETs a second.
    const r = simulate({ nodes: 300, datasetBytes: 12 * GB, chunkBytes: 1024 ** 2, objectBytes: 40e6, chunkerConcurrency: 100, placementGroups: 64 });
    expect(r.requests.s3.throttled).toBeGreaterThan(0);
    expect(r.underQuotas).toBe(false);
    expect(r.invariants.committedOnce).toBe(r.chunks);
  });

  it('queues DynamoDB on the emulator, where one server answers every request', () => {
    const aws = simulate({ nodes: 6, datasetBytes: 100 * 64 * 1024, chunkBytes: 64 * 1024, objectBytes: 100 * 64 * 1024 });
    const emulator = simulate({ nodes: 6, datasetBytes: 100 * 64 * 1024, chunkBytes: 64 * 1024, objectBytes: 100 * 64 * 1024, latency: 'emulator' });
    expect(emulator.requests.dynamodb.p50Ms).toBeGreaterThan(3 * aws.requests.dynamodb.p50Ms);
    expect(emulator.makespanSeconds).toBeGreaterThan(aws.makespanSeconds);
  });

  it('counts the measured idle load of PutMetricData over the CloudWatch quota at 1,000 nodes, and the budget under it', () => {
    const input = { nodes: 1000, datasetBytes: 1000 * 256 * 1024 ** 2, chunkBytes: 256 * 1024 ** 2, placementGroups: 16 };
    const measured = simulate({ ...input, controlPlane: 'measured' });
    const budget = simulate({ ...input, controlPlane: 'budget' });
    const putMetricData = (r: typeof measured) => r.rates.find((x) => x.what.startsWith('CloudWatch'));
    expect(putMetricData(measured)?.headroom).toBeLessThan(1);
    expect(putMetricData(budget)?.headroom).toBeGreaterThan(1);
  });

  it('refuses a scenario it cannot simulate, naming why', () => {
    expect(() => simulate({ nodes: 0, datasetBytes: GB })).toThrow(ScenarioError);
    expect(() => simulate({ nodes: 10, datasetBytes: GB, instanceType: 'm5.large' })).toThrow(/unknown instance type/);
    expect(() => simulate({ nodes: 10, datasetBytes: 1e15, chunkBytes: 1024 })).toThrow(/more than the simulator models/);
  });
});
