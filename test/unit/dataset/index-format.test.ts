import { checkDatasetName, describeSource, formatIndex, indexKey, versionOfKey, type DatasetIndex } from '../../../lib/dataset/index-format';
import { parseManifestKey } from '../../../lib/dataset/select-objects';

const index: DatasetIndex = {
  format: 'shardline.index/v1',
  name: 'train',
  version: 2,
  createdAt: '2026-02-02T00:00:00.000Z',
  source: { kind: 'objects', objects: ['a ✓.jsonl', 'b.jsonl'] },
  configVersion: 0,
  records: 3,
  bytes: 30,
  objects: [{ objectId: 'o1', bucket: 'in', key: 'a ✓.jsonl', etag: '"e"', manifestKey: 'manifests/a ✓.jsonl/o1.json', records: 3 }],
  shards: [
    { ordinal: 0, bucket: 'p', key: 'shards/o1/part-000000-a1.jsonl.gz', codec: 'gzip', sha256: 'ab', bytes: 10, records: 1, objectId: 'o1', chunkId: 'o1-000000', holders: ['n1'] },
    { ordinal: 1, bucket: 'p', key: 'shards/o1/part-000001-a1.jsonl.gz', codec: 'gzip', sha256: 'cd', bytes: 20, records: 2, objectId: 'o1', chunkId: 'o1-000001', holders: [] },
  ],
};

describe('formatIndex', () => {
  it('writes JSON that parses back to the same index, one shard per line', () => {
    const text = formatIndex(index);

    expect(JSON.parse(text)).toEqual(index);
    expect(text.split('\n').filter((l) => l.includes('"ordinal"'))).toHaveLength(2);
  });

  it('writes empty lists as []', () => {
    expect(JSON.parse(formatIndex({ ...index, objects: [], shards: [] }))).toMatchObject({ objects: [], shards: [] });
  });
});

describe('dataset names and keys', () => {
  it('accepts names safe in a key and refuses the rest', () => {
    expect(checkDatasetName('train-v2.en_US')).toBe('train-v2.en_US');
    for (const bad of ['', '.hidden', 'a/b', 'with space', '-x', 'x'.repeat(129)]) expect(() => checkDatasetName(bad)).toThrow(/invalid dataset name/);
  });

  it('maps versions to keys and back, ignoring other keys under the name', () => {
    expect(indexKey('train', 12)).toBe('indexes/train/12.json');
    expect(versionOfKey('train', 'indexes/train/12.json')).toBe(12);
    expect(versionOfKey('train', 'indexes/train/12.json.tmp')).toBeUndefined();
    expect(versionOfKey('train', 'indexes/train2/1.json')).toBeUndefined();
  });

  it('describes a source in one line', () => {
    expect(describeSource({ kind: 'run', runId: 'run-1' })).toBe('run:run-1');
    expect(describeSource({ kind: 'prefix', prefix: 'in/' })).toBe('prefix:in/');
    expect(describeSource(index.source)).toBe('objects:2');
  });
});

describe('parseManifestKey', () => {
  it('splits a manifest key into its source key and object id', () => {
    expect(parseManifestKey('manifests/a/b ✓.jsonl/obj-1.json')).toEqual({ sourceKey: 'a/b ✓.jsonl', objectId: 'obj-1' });
    expect(parseManifestKey('manifests/obj-1.json')).toBeUndefined();
    expect(parseManifestKey('shards/x/obj-1.json')).toBeUndefined();
  });
});
