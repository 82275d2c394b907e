import { parseChunkMessage } from '../../../lib/agent/chunk-message';
import { DEFAULT_COMPRESSED_SPLIT_MIN_BYTES, planChunks, splitOf } from '../../../lib/chunking/plan';
import { windowMessage } from '../../../lib/windows/split-compressed';

const ref = (size: number, key: string) => ({ bucket: 'ingest', key, etag: 'abc', size });
const split = { minBytes: 1000, windowBytes: 4096 };

describe('planChunks with a compressed split', () => {
  it.each(['a/train.jsonl.gz', 'a/train.jsonl.zst', 'a/app.log.gz'])('marks the one chunk of a large %s to be split into windows', (key) => {
    const plan = planChunks(ref(5000, key), 1024, {}, split);
    expect(plan.chunks).toHaveLength(1);
    expect(plan.chunks[0]).toMatchObject({ index: 0, chunkCount: 1, start: 0, end: 5000, windowBytes: 4096 });
  });

  it.each([
    ['a compressed object below the threshold', 'a/train.jsonl.gz', 999],
    ['a CSV object (every window would need its header)', 'a/table.csv.gz', 5000],
    ['an uncompressed object (split by byte range instead)', 'a/train.jsonl', 5000],
  ])('leaves %s as before', (_what, key, size) => {
    const plan = planChunks(ref(size, key), 1024, {}, split);
    expect(plan.chunks.every((c) => c.windowBytes === undefined)).toBe(true);
  });

  it('leaves binary objects one chunk, never split into lines', () => {
    expect(planChunks(ref(5000, 'a/x.bin.gz'), 1024, {}, split).chunks[0].windowBytes).toBeUndefined();
  });

  it('takes the window size from chunkSizeBytes and a 1 MiB threshold unless the config says otherwise', () => {
    expect(splitOf({ chunkSizeBytes: 64 })).toEqual({ minBytes: DEFAULT_COMPRESSED_SPLIT_MIN_BYTES, windowBytes: 64 });
    expect(splitOf({ chunkSizeBytes: 64, compressedWindowBytes: 32, compressedSplitMinBytes: 0 })).toEqual({ minBytes: 0, windowBytes: 32 });
  });
});

describe('windowMessage', () => {
  it('is an uncompressed chunk of the decompressed object that reads the staged window and passes the work-message checks', () => {
    const [chunk0] = planChunks({ ...ref(5000, 'a/train.jsonl.gz'), runId: 'run-1' }, 1024, {}, split).chunks;
    const msg = windowMessage(chunk0, { index: 3, offset: 12_288, length: 4100, lead: 1 }, 'processed', 'staging/x/part-000003', 'etag3');

    expect(parseChunkMessage(JSON.stringify(msg))).toEqual(msg);
    expect(msg).toMatchObject({ objectId: chunk0.objectId, index: 3, compression: 'none', format: 'jsonl', start: 12_288, end: 16_388, objectSize: 16_388, window: { base: 12_287 }, runId: 'run-1' });
    expect(msg.windowBytes).toBeUndefined();
  });
});
