import { buildManifest } from '../../lib/ledger/manifest';
import type { ChunkItem, ObjectItem } from '../../lib/ledger/items';

const object: ObjectItem = {
  pk: 'OBJ#o',
  sk: 'OBJECT',
  objectId: 'o',
  bucket: 'b',
  key: 'k.jsonl',
  etag: 'e',
  size: 100,
  format: 'jsonl',
  compression: 'none',
  chunkCount: 2,
  chunkSizeBytes: 50,
  chunksDone: 2,
  status: 'ENQUEUED',
  planStartedAt: 0,
  createdAt: '2026-01-01T00:00:00Z',
  recordsIn: 0,
  recordsOut: 0,
  recordsRejected: 0,
  recordsFiltered: 0,
  bytesIn: 0,
};
const chunk = (index: number, counts: Partial<ChunkItem>, status: ChunkItem['status'] = 'PROCESSED'): ChunkItem => ({
  pk: 'OBJ#o',
  sk: `CHUNK#${index}`,
  objectId: 'o',
  chunkId: `o-${index}`,
  index,
  status,
  leaseOwner: 'n1',
  leaseExpiresAt: 0,
  attempt: 1,
  shard: { key: `shards/o/part-${index}-a1.jsonl.gz`, sha256: 'x', bytes: 10, lines: counts.recordsOut ?? 0 },
  rejects: { key: `rejects/o/part-${index}-a1.jsonl.gz`, sha256: 'y', bytes: 5, lines: counts.recordsRejected ?? 0 },
  replicas: ['n1', 'n2'],
  ...counts,
});

describe('buildManifest', () => {
  it('sums the committed chunks and balances when in = out + rejected + filtered', () => {
    const m = buildManifest(object, [
      chunk(1, { recordsIn: 5, recordsOut: 3, recordsRejected: 1, recordsFiltered: 1, bytesIn: 40 }),
      chunk(0, { recordsIn: 4, recordsOut: 4, recordsRejected: 0, recordsFiltered: 0, bytesIn: 50 }),
    ]);
    expect(m.totals).toEqual({ recordsIn: 9, recordsOut: 7, recordsRejected: 1, recordsFiltered: 1, bytesIn: 90 });
    expect(m.balanced).toBe(true);
    expect(m.shards.map((s) => s.chunk)).toEqual([0, 1]);
    expect(m.rejects.map((r) => r.chunk)).toEqual([1]);
  });

  it('is not balanced when a chunk is missing', () => {
    const m = buildManifest(object, [chunk(0, { recordsIn: 4, recordsOut: 4, recordsRejected: 0, recordsFiltered: 0, bytesIn: 50 })]);
    expect(m.balanced).toBe(false);
  });

  it('never lists an uncommitted attempt', () => {
    const m = buildManifest(object, [
      chunk(0, { recordsIn: 1, recordsOut: 1, recordsRejected: 0, recordsFiltered: 0 }),
      chunk(1, { recordsIn: 1, recordsOut: 1, recordsRejected: 0, recordsFiltered: 0 }, 'LEASED'),
    ]);
    expect(m.shards).toHaveLength(1);
  });

  it("names each shard's codec by its key's extension", () => {
    const zstd = { ...chunk(1, { recordsIn: 1, recordsOut: 1 }), shard: { key: 'shards/o/part-000001-a1.jsonl.zst', sha256: 'z', bytes: 9, lines: 1 } };
    const binary = { ...chunk(2, { recordsIn: 1, recordsOut: 1 }), shard: { key: 'shards/o/part-000002-a1.bin', sha256: 'b', bytes: 9, lines: 0 } };

    const m = buildManifest({ ...object, chunkCount: 3 }, [chunk(0, { recordsIn: 1, recordsOut: 1 }), zstd, binary]);

    expect(m.shards.map((s) => s.codec)).toEqual(['gzip', 'zstd', 'none']);
  });
});
