import { chunkIdOf, formatOfKey, objectIdOf } from '../../lib/chunking/chunk';
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
