import { assembleIndex, codecOf, IndexRefusedError, objectProblems, type IndexInput } from '../../../lib/dataset/build-index';
import type { ObjectItem } from '../../../lib/ledger/items';
import type { ObjectManifest } from '../../../lib/ledger/manifest';

/** A COMPLETE object with `shards` (records per chunk), its manifest listing them out of order. */
function input(key: string, objectId: string, shards: number[], over: Partial<ObjectItem> = {}): IndexInput {
  const recordsOut = shards.reduce((a, b) => a + b, 0);
  const object = {
    pk: `OBJ#${objectId}`,
    sk: 'OBJECT',
    objectId,
    bucket: 'ingest',
    key,
    versionId: `v-${objectId}`,
    etag: `"etag-${objectId}"`,
    size: 1000,
    format: 'jsonl',
    compression: 'none',
    chunkCount: shards.length,
    chunkSizeBytes: 100,
    chunksDone: shards.length,
    status: 'COMPLETE',
    planStartedAt: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    manifestKey: `manifests/${key}/${objectId}.json`,
    recordsIn: recordsOut + 1,
    recordsOut,
    recordsRejected: 1,
    recordsFiltered: 0,
    bytesIn: 1000,
    ...over,
  } as ObjectItem;
  const manifest: ObjectManifest = {
    version: 1,
    source: { bucket: 'ingest', key, versionId: `v-${objectId}`, etag: `"etag-${objectId}"`, size: 1000 },
    objectId,
    format: 'jsonl',
    compression: 'none',
    chunkCount: shards.length,
    totals: { recordsIn: recordsOut + 1, recordsOut, recordsRejected: 1, recordsFiltered: 0, bytesIn: 1000 },
    balanced: true,
    shards: shards
      .map((records, chunk) => ({
        key: `shards/${objectId}/part-${String(chunk).padStart(6, '0')}-a1.jsonl.gz`,
        sha256: `sha-${objectId}-${chunk}`,
        bytes: 10 + chunk,
        lines: records,
        chunk,
        records,
        replicas: ['node-z', 'node-b'],
      }))
      .reverse(),
    rejects: [],
    completedAt: '2026-01-01T00:00:01.000Z',
  };
  return { object, manifest };
}

const base = { name: 'train', version: 3, createdAt: '2026-02-02T00:00:00.000Z', source: { kind: 'prefix', prefix: 'in/' } as const, configVersion: 7, processedBucket: 'processed' };

describe('assembleIndex', () => {
  it('orders objects by key then object id and shards by chunk index, numbering ordinals 0..n-1', () => {
    const index = assembleIndex({ ...base, inputs: [input('in/b.jsonl', 'o1', [5]), input('in/a.jsonl', 'o9', [2, 3]), input('in/a.jsonl', 'o3', [4])], presentHolders: new Map() });

    expect(index.objects.map((o) => [o.key, o.objectId])).toEqual([
      ['in/a.jsonl', 'o3'],
      ['in/a.jsonl', 'o9'],
      ['in/b.jsonl', 'o1'],
    ]);
    expect(index.shards.map((s) => [s.ordinal, s.chunkId, s.records])).toEqual([
      [0, 'o3-000000', 4],
      [1, 'o9-000000', 2],
      [2, 'o9-000001', 3],
      [3, 'o1-000000', 5],
    ]);
  });

  it('sums records and bytes, keeps lineage and the config version, and names the processed bucket and codec', () => {
    const index = assembleIndex({ ...base, inputs: [input('in/a.jsonl', 'o1', [2, 3])], presentHolders: new Map() });

    expect(index).toMatchObject({ format: 'shardline.index/v1', name: 'train', version: 3, configVersion: 7, records: 5, bytes: 21, source: { kind: 'prefix', prefix: 'in/' } });
    expect(index.objects).toEqual([{ objectId: 'o1', bucket: 'ingest', key: 'in/a.jsonl', versionId: 'v-o1', etag: '"etag-o1"', manifestKey: 'manifests/in/a.jsonl/o1.json', records: 5 }]);
    expect(index.shards[1]).toEqual({
      ordinal: 1,
      bucket: 'processed',
      key: 'shards/o1/part-000001-a1.jsonl.gz',
      codec: 'gzip',
      sha256: 'sha-o1-1',
      bytes: 11,
      records: 3,
      objectId: 'o1',
      chunkId: 'o1-000001',
      holders: ['node-b', 'node-z'],
    });
  });

  it("takes holders from PRESENT replicas when there are any, else from the manifest's placement", () => {
    const index = assembleIndex({ ...base, inputs: [input('in/a.jsonl', 'o1', [2, 3])], presentHolders: new Map([['o1-000001', ['node-c', 'node-a']]]) });

    expect(index.shards.map((s) => s.holders)).toEqual([
      ['node-b', 'node-z'],
      ['node-a', 'node-c'],
    ]);
  });

  it('refuses when nothing matched', () => {
    expect(() => assembleIndex({ ...base, inputs: [], presentHolders: new Map() })).toThrow(/nothing to index[\s\S]*no processed object matches prefix 'in\/'/);
  });

  it('refuses naming every object that is not COMPLETE or does not balance', () => {
    const unbalanced = input('in/c.jsonl', 'o3', [4]);
    (unbalanced.manifest as ObjectManifest).balanced = false;
    const inputs = [input('in/a.jsonl', 'o1', [2]), input('in/b.jsonl', 'o2', [1, 1], { status: 'ENQUEUED', chunksDone: 1 }), unbalanced];

    let error: unknown;
    try {
      assembleIndex({ ...base, inputs, presentHolders: new Map() });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(IndexRefusedError);
    expect((error as IndexRefusedError).problems).toEqual(['s3://ingest/in/b.jsonl (o2) is ENQUEUED (1 of 2 chunks done)', expect.stringMatching(/^s3:\/\/ingest\/in\/c\.jsonl \(o3\) is unbalanced/)]);
  });
});

describe('objectProblems', () => {
  it('accepts a COMPLETE, balanced object', () => {
    expect(objectProblems(input('k', 'o1', [1, 2]))).toEqual([]);
  });

  it('refuses a COMPLETE object whose manifest is missing, or is binary, or whose shards miscount', () => {
    expect(objectProblems({ object: input('k', 'o1', [1]).object })).toEqual([expect.stringMatching(/manifest .* was not found/)]);
    const binary = input('k', 'o2', [1]);
    (binary.manifest as ObjectManifest).format = 'binary';
    expect(objectProblems(binary)).toEqual([expect.stringMatching(/is binary/)]);
    const miscounted = input('k', 'o3', [1, 2]);
    (miscounted.manifest as ObjectManifest).shards[0].records = 9;
    expect(objectProblems(miscounted)).toEqual([expect.stringMatching(/shards hold 10 records, its manifest counts 3 out/)]);
  });

  it('reports failed chunks of a FAILED object', () => {
    expect(objectProblems(input('k', 'o1', [1, 1], { status: 'FAILED', chunksDone: 1, failedChunks: 1 }))).toEqual(['s3://ingest/k (o1) is FAILED (1 of 2 chunks done, 1 failed)']);
  });
});

describe('codecOf', () => {
  it("takes the manifest's codec when it names one, else the key's extension", () => {
    expect(codecOf('shards/o/part-000000-a1.jsonl.gz')).toBe('gzip');
    expect(codecOf('shards/o/part-000000-a1.jsonl.zst')).toBe('zstd');
    expect(codecOf('shards/o/part-000000-a1.jsonl')).toBe('none');
    expect(codecOf('shards/o/part-000000-a1.jsonl.gz', 'zstd')).toBe('zstd');
  });
});
