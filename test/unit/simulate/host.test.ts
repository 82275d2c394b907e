import { hostOf, scenarioOf } from '../../../lib/simulate/scenario';
import { EMULATOR_PROFILE } from '../../../lib/simulate/service-model';
import { simulate, ScenarioError } from '../../../lib/simulate/simulate';

const CHUNK = 64 * 1024;
const local = { datasetBytes: 48 * CHUNK, objectBytes: 48 * CHUNK, chunkBytes: CHUNK, duplicateRate: 0, config: { replicationFactor: 2 } } as const;
const oneServer = { ...EMULATOR_PROFILE, sharedServers: 1 };

describe('the local emulator on a shared host', () => {
  it('stretches service times by the contention of the run over that of the probe, never below 1', () => {
    // 2 cores, idle: the probe ran with 2 processes (client, emulator) — no contention; 6 agents + emulator = 7 runnable.
    expect(hostOf({ cores: 2, otherRunnable: 0, probeRunnable: 1 }, 6)).toMatchObject({ runnable: 7, slowdown: 3.5 });
    // Loaded by 4 other processes: the probe already paid (1 + 5) / 2 = 3, the run (6 + 1 + 4) / 2 = 5.5.
    expect(hostOf({ cores: 2, otherRunnable: 4, probeRunnable: 5 }, 6).slowdown).toBeCloseTo(5.5 / 3);
    // More cores than processes: nothing to stretch.
    expect(hostOf({ cores: 16, otherRunnable: 0, probeRunnable: 1 }, 3).slowdown).toBe(1);
  });

  it('gives the nodes their share of the cores, slows their record workers start and the emulator', () => {
    const host = { cores: 2, otherRunnable: 1, probeRunnable: 2 };
    const s = scenarioOf({ ...local, nodes: 6, latency: oneServer, recordWorkerStartMs: 400, host });
    expect(s.recordWorkerStartMs).toBeCloseTo((400 * 8) / 2);
    expect(s.latency.dynamodb.p50Ms).toBeCloseTo(EMULATOR_PROFILE.dynamodb.p50Ms * (8 / 2 / 1.5));
    expect(scenarioOf({ ...local, nodes: 6, latency: oneServer }).latency.dynamodb).toEqual(EMULATOR_PROFILE.dynamodb);
  });

  it('makes more agents on the same host slower, as the local runs are, and stays deterministic', () => {
    const host = { cores: 2, otherRunnable: 2, probeRunnable: 3 };
    const run = (nodes: number) => simulate({ ...local, nodes, latency: oneServer, recordWorkerStartMs: 400, host, seed: 5 });
    const [three, six] = [run(3), run(6)];
    expect(six.makespanSeconds).toBeGreaterThan(three.makespanSeconds);
    expect(run(6).makespanSeconds).toBe(six.makespanSeconds);
    expect(six.invariants.committedOnce).toBe(six.chunks);
    // Without the host, six agents are the quicker: the model the local runs disagreed with.
    const apart = (nodes: number) => simulate({ ...local, nodes, latency: 'emulator', seed: 5 }).makespanSeconds;
    expect(apart(6)).toBeLessThan(apart(3) * 1.1);
  });

  it("sums the emulator's service time, what a calibration compares with the emulator's CPU", () => {
    const busy = (k: number) => {
      const p = { ...oneServer, dynamodb: { p50Ms: oneServer.dynamodb.p50Ms * k, p99Ms: oneServer.dynamodb.p99Ms * k } };
      return simulate({ ...local, nodes: 2, latency: p, seed: 3 });
    };
    const [plain, doubled] = [busy(1), busy(2)];
    expect(plain.serverBusySeconds).toBeGreaterThan(0);
    // DynamoDB's times doubled: the busy time grows, by less than double (the other services kept theirs).
    expect(doubled.serverBusySeconds).toBeGreaterThan(plain.serverBusySeconds * 1.2);
    expect(doubled.serverBusySeconds).toBeLessThan(plain.serverBusySeconds * 2);
    // AWS has no few servers to keep busy.
    expect(simulate({ ...local, nodes: 2, latency: 'aws', seed: 3 }).serverBusySeconds).toBe(0);
  });

  it('refuses a shared host for the AWS profile, which has no emulator to share it with', () => {
    expect(() => simulate({ ...local, nodes: 3, latency: 'aws', host: { cores: 2, otherRunnable: 0, probeRunnable: 1 } })).toThrow(ScenarioError);
  });
});
