import { join } from 'node:path';
import { ShardCache } from '../../../lib/cache/shard-cache';

const cache = new ShardCache({ dir: '/var/cache/shardline', nodeId: 'n1', now: () => 0, log: () => undefined });
const objectId = 'a'.repeat(32);

describe('ShardCache paths', () => {
  it('puts a shard at <dir>/shards/<objectId>/<file name of its key>', () => {
    const shard = { objectId, shardKey: `shards/${objectId}/000001-a1.jsonl.gz` };
    expect(cache.safePathOf(shard)).toBe(join('/var/cache/shardline', 'shards', objectId, '000001-a1.jsonl.gz'));
    expect(cache.pathOf(shard)).toBe(cache.safePathOf(shard));
  });

  it.each([
    ['an object id climbing out', { objectId: '../../../x', shardKey: 'shards/x/000000.gz' }],
    ['an object id of two segments', { objectId: `${objectId}/../../../etc`, shardKey: 'shards/x/000000.gz' }],
    ['an object id of ..', { objectId: '..', shardKey: 'shards/x/000000.gz' }],
    ['an empty object id', { objectId: '', shardKey: 'shards/x/000000.gz' }],
    ['an object id with a NUL', { objectId: 'a\0b', shardKey: 'shards/x/000000.gz' }],
    ['a key whose file name is ..', { objectId, shardKey: 'shards/..' }],
    ['a key with no file name', { objectId, shardKey: '' }],
  ])('has no path for %s, and pathOf refuses it', (_what, shard) => {
    expect(cache.safePathOf(shard)).toBeUndefined();
    expect(() => cache.pathOf(shard)).toThrow(/unsafe cache path/);
  });

  it('takes only the file name of a key that climbs (the path stays inside)', () => {
    expect(cache.safePathOf({ objectId, shardKey: '../../../../etc/passwd' })).toBe(join('/var/cache/shardline', 'shards', objectId, 'passwd'));
  });
});
