import type { PipelineSnapshot, SnapshotObject } from '../../lib/observability/snapshot';

const depth = (visible = 0, inFlight = 0) => ({ visible, inFlight, delayed: 0 });

/** A one-object snapshot at 2026-01-01T12:00:00Z; `overrides` replace top-level fields. */
export function snapshotFixture(overrides: Partial<PipelineSnapshot> = {}): PipelineSnapshot {
  const object: SnapshotObject = {
    key: 'datasets/train.jsonl',
    objectId: 'o1',
    status: 'ENQUEUED',
    size: 40_000_000,
    chunksDone: 2,
    chunkCount: 5,
    recordsIn: 2000,
    recordsOut: 1990,
    recordsRejected: 10,
    recordsFiltered: 0,
    balanced: true,
    failedChunks: 0,
    bytesDone: 16_000_000,
  };
  return {
    collectedAt: Date.UTC(2026, 0, 1, 12, 0, 0),
    collectMs: 12,
    label: 'local (http://127.0.0.1:5000)',
    replicationFactor: 2,
    control: { desired: 'RUNNING', generation: 0, emergency: false, configVersion: 3 },
    leader: { holder: 'agent-1', token: 3, expiresInMs: 2500 },
    objects: [object],
    nodes: [
      {
        nodeId: 'agent-1',
        status: 'ACTIVE',
        failureDomain: 'local-a',
        instanceType: 'local',
        load: { inFlight: 2, chunksDone: 7, concurrency: 4, configVersion: 3 },
        heartbeatAgeMs: 400,
        health: 'healthy',
        configVersion: 3,
      },
      { nodeId: 'agent-2', status: 'ACTIVE', failureDomain: 'local-b', instanceType: 'local', load: { inFlight: 0, chunksDone: 5, concurrency: 4 }, heartbeatAgeMs: 9000, health: 'stale' },
    ],
    queues: { work: depth(3, 2), workDlq: depth(), ingestEvents: depth(), ingestEventsDlq: depth() },
    replicas: { shards: 2, belowR: 0, pendingPulls: 1, refused: 0, flaggedShort: 0, worst: [] },
    errors: [],
    totals: {
      objects: 1,
      bytesTotal: 40_000_000,
      bytesProcessed: 16_000_000,
      recordsIn: 2000,
      recordsOut: 1990,
      recordsRejected: 10,
      recordsFiltered: 0,
      chunkCount: 5,
      chunksDone: 2,
      chunksInFlight: 2,
      chunksLeased: 2,
    },
    ...overrides,
  };
}
