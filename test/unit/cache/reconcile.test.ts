import type { CacheManifest } from '../../../lib/cache/cache-manifest';
import { classifyFiles, type DiskFile, type ExpectedShard } from '../../../lib/cache/reconcile';

const file = (path: string, bytes = 10, mtimeMs = 1): DiskFile => ({ path, bytes, mtimeMs, atimeMs: 0 });
const shard = (path: string, sha256 = 's1'): ExpectedShard => ({ chunkId: path, objectId: 'o', shardKey: `k/${path}`, sha256, bytes: 10, path });
const manifestOf = (...shards: Array<{ path: string; sha256: string; bytes?: number; mtimeMs?: number }>): CacheManifest => ({
  version: 1,
  nodeId: 'n',
  updatedAt: '',
  capacityBytes: 100,
  usedBytes: 0,
  shards: shards.map((s) => ({
    chunkId: s.path,
    objectId: 'o',
    path: s.path,
    relativePath: s.path.slice(1),
    sha256: s.sha256,
    bytes: s.bytes ?? 10,
    shardKey: `k/${s.path}`,
    records: 3,
    pulledAt: '2026-01-01T00:00:00.000Z',
    lastUsedAt: '2026-01-01T00:00:00.000Z',
    verifiedAt: '2026-01-01T00:00:00.000Z',
    mtimeMs: s.mtimeMs ?? 1,
    assigned: true,
  })),
});

describe('classifyFiles', () => {
  it('removes half-written files and files neither the ledger nor the last manifest knows', () => {
    const verdicts = classifyFiles([file('/c/a.partial'), file('/c/manifest.json.1.tmp'), file('/c/stray')], [shard('/c/a')]);
    expect(verdicts.map((v) => (v.kind === 'remove' ? v.reason : v.kind))).toEqual(['partial', 'partial', 'unknown']);
  });

  it('checks a file a replica item assigns, vouched for when the last manifest saw it unchanged', () => {
    const [unchanged, touched, other] = classifyFiles(
      [file('/c/a'), file('/c/b', 10, 2), file('/c/c')],
      [shard('/c/a'), shard('/c/b'), shard('/c/c', 'new-sha')],
      manifestOf({ path: '/c/a', sha256: 's1' }, { path: '/c/b', sha256: 's1' }, { path: '/c/c', sha256: 'old-sha' }),
    );
    expect(unchanged).toMatchObject({ kind: 'check', assigned: true, vouched: { path: '/c/a' } });
    expect(touched).toMatchObject({ kind: 'check', assigned: true });
    expect(touched).not.toHaveProperty('vouched'); // its mtime changed: hashed again
    expect(other).not.toHaveProperty('vouched'); // the ledger wants another sha256
  });

  it('keeps a file only the last manifest knows as an unassigned shard, with its records', () => {
    const [v] = classifyFiles([file('/c/gone')], [], manifestOf({ path: '/c/gone', sha256: 's9' }));
    expect(v).toMatchObject({ kind: 'check', assigned: false, shard: { sha256: 's9', records: 3 } });
  });
});
