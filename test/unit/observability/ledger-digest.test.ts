import { digestLedger, isLive, processedBytes } from '../../../lib/observability/ledger-digest';

const object = (objectId: string, key: string, extra: Record<string, unknown> = {}) => ({
  pk: `OBJ#${objectId}`,
  sk: 'OBJECT',
  objectId,
  key,
  status: 'ENQUEUED',
  size: 100,
  chunkCount: 2,
  chunksDone: 0,
  createdAt: `2026-01-01T00:00:0${objectId.slice(-1)}Z`,
  recordsIn: 0,
  recordsOut: 0,
  recordsRejected: 0,
  recordsFiltered: 0,
  bytesIn: 0,
  ...extra,
});
const chunk = (objectId: string, index: number, status: string, extra: Record<string, unknown> = {}) => ({
  pk: `OBJ#${objectId}`,
  sk: `CHUNK#${String(index).padStart(6, '0')}`,
  objectId,
  chunkId: `${objectId}-${index}`,
  index,
  status,
  attempt: 1,
  ...extra,
});
const replica = (nodeId: string, chunkId: string, status: 'ASSIGNED' | 'PRESENT' | 'REFUSED') => ({ pk: `REPLICAS#${nodeId}`, sk: `SHARD#${chunkId}`, nodeId, chunkId, status });

describe('digestLedger', () => {
  it('counts replicas a full cache refused apart from pulls pending', () => {
    const items = [chunk('o1', 0, 'PROCESSED'), replica('n1', 'o1-0', 'REFUSED'), replica('n2', 'o1-0', 'PRESENT'), replica('n3', 'o1-0', 'ASSIGNED')];
    expect(digestLedger(items, new Set(['n1', 'n2', 'n3']), 2).replicas).toMatchObject({ belowR: 1, pendingPulls: 1, refused: 1 });
  });

  it('sorts objects by creation and ignores item kinds it does not know', () => {
    const d = digestLedger([object('o2', 'b'), { pk: 'RUN#r1', sk: 'RUN' }, object('o1', 'a')], new Set(), 2);
    expect(d.objects.map((o) => o.key)).toEqual(['a', 'b']);
  });

  it('counts a shard below R when fewer than R replicas are PRESENT on live nodes', () => {
    const items = [
      object('o1', 'a'),
      chunk('o1', 0, 'PROCESSED'),
      chunk('o1', 1, 'PROCESSED', { shortOfReplicas: 'SHORT' }),
      replica('n1', 'o1-0', 'PRESENT'),
      replica('n2', 'o1-0', 'PRESENT'),
      replica('n1', 'o1-1', 'PRESENT'),
      replica('dead', 'o1-1', 'PRESENT'), // on a node that is not live: does not count
      replica('n2', 'o1-1', 'ASSIGNED'), // not pulled yet
    ];
    const d = digestLedger(items, new Set(['n1', 'n2']), 2);
    expect(d.replicas).toEqual({ shards: 2, belowR: 1, pendingPulls: 1, refused: 0, flaggedShort: 1, worst: [{ chunkId: 'o1-1', objectKey: 'a', live: 1 }] });
  });

  it('does not count chunks that are not processed as shards', () => {
    const d = digestLedger([object('o1', 'a'), chunk('o1', 0, 'LEASED'), chunk('o1', 1, 'FAILED', { lastError: 'x' })], new Set(['n1']), 2);
    expect(d.replicas.shards).toBe(0);
    expect(d.replicas.belowR).toBe(0);
    expect(d.chunksLeased).toBe(1);
  });

  it('lists FAILED chunks, then retrying chunks, then failed objects that no chunk explains', () => {
    const items = [
      object('o1', 'a', { status: 'FAILED', lastError: 'chunk 1: poison' }),
      object('o2', 'b', { status: 'FAILED', lastError: 'planning failed' }),
      chunk('o1', 0, 'LEASED', { lastError: 'S3 timeout', attempt: 2 }),
      chunk('o1', 1, 'FAILED', { lastError: 'poison', attempt: 5 }),
      chunk('o1', 2, 'PROCESSED'),
    ];
    const d = digestLedger(items, new Set(), 2);
    expect(d.errors).toEqual([
      { objectId: 'o1', objectKey: 'a', chunk: 1, kind: 'FAILED', attempt: 5, message: 'poison' },
      { objectId: 'o1', objectKey: 'a', chunk: 0, kind: 'RETRYING', attempt: 2, message: 'S3 timeout' },
      { objectId: 'o2', objectKey: 'b', kind: 'OBJECT', message: 'planning failed' },
    ]);
  });

  it('keeps at most 20 errors', () => {
    const items = [object('o1', 'a'), ...Array.from({ length: 30 }, (_, i) => chunk('o1', i, 'FAILED', { lastError: `e${i}` }))];
    expect(digestLedger(items, new Set(), 2).errors).toHaveLength(20);
  });
});

describe('processedBytes', () => {
  it("uses the ledger's exact byte count when chunks have committed it", () => {
    expect(processedBytes({ bytesIn: 1234, size: 10_000, chunksDone: 1, chunkCount: 4 })).toBe(1234);
  });

  it('estimates from chunks done when the ledger has no byte count', () => {
    expect(processedBytes({ bytesIn: undefined as unknown as number, size: 10_000, chunksDone: 1, chunkCount: 4 })).toBe(2500);
    expect(processedBytes({ bytesIn: 0, size: 10_000, chunksDone: 0, chunkCount: 0 })).toBe(0);
  });
});

describe('isLive', () => {
  it('counts ACTIVE and DRAINING nodes with a fresh heartbeat', () => {
    expect(isLive({ status: 'ACTIVE', lastHeartbeat: 1000 }, 4000, 3500)).toBe(true);
    expect(isLive({ status: 'DRAINING', lastHeartbeat: 1000 }, 4000, 3500)).toBe(true);
    expect(isLive({ status: 'ACTIVE', lastHeartbeat: 1000 }, 5000, 3500)).toBe(false);
    expect(isLive({ status: 'DEAD', lastHeartbeat: 4000 }, 4000, 3500)).toBe(false);
    expect(isLive({ status: 'JOINING', lastHeartbeat: 4000 }, 4000, 3500)).toBe(false);
  });
});
