import type { CacheEntry } from '../../../lib/cache/cache-manifest';
import { lastUsedOf, planRoom } from '../../../lib/cache/eviction';

const entry = (chunkId: string, bytes: number, lastUsedAt: number, assigned: boolean): CacheEntry => ({
  chunkId,
  objectId: 'o',
  shardKey: `shards/o/${chunkId}`,
  sha256: 'x',
  bytes,
  path: `/c/shards/o/${chunkId}`,
  pulledAt: 0,
  lastUsedAt,
  verifiedAt: 0,
  mtimeMs: 0,
  assigned,
});

describe('planRoom', () => {
  it('evicts nothing when the pull fits as it is', () => {
    expect(planRoom([entry('a', 50, 1, false)], 40, 50, 100)).toEqual({ fits: true, evict: [] });
  });

  it('evicts least recently used unassigned shards first, only as many as needed', () => {
    const entries = [entry('new', 30, 300, false), entry('old', 30, 100, false), entry('mid', 30, 200, false), entry('kept', 10, 0, true)];
    const plan = planRoom(entries, 50, 100, 110);
    expect(plan.fits).toBe(true);
    expect(plan.evict.map((e) => e.chunkId)).toEqual(['old', 'mid']);
  });

  it('never evicts a shard placement still assigns here, however old', () => {
    const plan = planRoom([entry('assigned', 90, 0, true), entry('free', 5, 50, false)], 20, 95, 100);
    expect(plan).toEqual({ fits: false, evict: [] });
  });

  it('refuses without evicting anything when even all evictable shards would not make room', () => {
    expect(planRoom([entry('a', 10, 1, false), entry('b', 60, 1, true)], 50, 70, 100)).toEqual({ fits: false, evict: [] });
  });

  it('breaks ties in last use by chunk id', () => {
    expect(planRoom([entry('b', 10, 5, false), entry('a', 10, 5, false)], 10, 20, 20).evict.map((e) => e.chunkId)).toEqual(['a']);
  });
});

describe('lastUsedOf', () => {
  it('takes the later of the pull and the atime', () => {
    expect(lastUsedOf(1000, 5000)).toBe(5000);
    expect(lastUsedOf(1000, 500)).toBe(1000);
    expect(lastUsedOf(1000, NaN)).toBe(1000);
  });
});
