import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildManifest, readManifest, writeManifest, type CacheEntry } from '../../../lib/cache/cache-manifest';

const entry = (chunkId: string, over: Partial<CacheEntry> = {}): CacheEntry => ({
  chunkId,
  objectId: 'obj',
  shardKey: `shards/obj/${chunkId}.jsonl.gz`,
  sha256: 'ab'.repeat(32),
  bytes: 1000,
  path: `/cache/shards/obj/${chunkId}.jsonl.gz`,
  records: 42,
  pulledAt: Date.UTC(2026, 0, 1),
  lastUsedAt: Date.UTC(2026, 0, 2),
  verifiedAt: Date.UTC(2026, 0, 3),
  mtimeMs: 123.5,
  assigned: true,
  ...over,
});

describe('cache manifest', () => {
  it('lists every shard with the fields the Python reader reads, records, capacity and use', () => {
    const manifest = buildManifest('i-0abc', [entry('obj-000001', { records: undefined, assigned: false }), entry('obj-000000')], 5000, Date.UTC(2026, 0, 4), '/cache');
    expect(manifest).toEqual({
      version: 1,
      nodeId: 'i-0abc',
      updatedAt: '2026-01-04T00:00:00.000Z',
      capacityBytes: 5000,
      usedBytes: 2000,
      shards: [
        {
          chunkId: 'obj-000000',
          objectId: 'obj',
          path: '/cache/shards/obj/obj-000000.jsonl.gz',
          relativePath: 'shards/obj/obj-000000.jsonl.gz',
          sha256: 'ab'.repeat(32),
          bytes: 1000,
          shardKey: 'shards/obj/obj-000000.jsonl.gz',
          records: 42,
          pulledAt: '2026-01-01T00:00:00.000Z',
          lastUsedAt: '2026-01-02T00:00:00.000Z',
          verifiedAt: '2026-01-03T00:00:00.000Z',
          mtimeMs: 123.5,
          assigned: true,
        },
        expect.objectContaining({ chunkId: 'obj-000001', records: null, assigned: false }),
      ],
    });
  });

  it('is written atomically (no temporary file left) and read back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'manifest-'));
    try {
      const manifest = buildManifest('n', [entry('c')], 1, 0);
      await writeManifest(dir, manifest);
      expect(await readdir(dir)).toEqual(['manifest.json']);
      expect(await readManifest(dir)).toEqual(manifest);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('reads a missing manifest as none', async () => {
    expect(await readManifest(join(tmpdir(), 'no-such-cache-dir'))).toBeUndefined();
  });
});
