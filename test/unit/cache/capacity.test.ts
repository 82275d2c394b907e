import { cacheCapacity, reservedBytes } from '../../../lib/cache/capacity';

const GB = 1e9;

describe('cacheCapacity', () => {
  it('advertises a dedicated volume less 10% headroom', () => {
    expect(cacheCapacity({ totalBytes: 1000 * GB, availableBytes: 1000 * GB }, 0)).toBe(900 * GB);
  });

  it('stays the same as the cache fills its own volume', () => {
    expect(cacheCapacity({ totalBytes: 1000 * GB, availableBytes: 400 * GB }, 600 * GB)).toBe(900 * GB);
  });

  it('shrinks on a shared disk as others use it, so the disk never fills', () => {
    // 100 GB disk, 70 GB used by others, 10 GB by the cache, 20 GB free: the cache may grow to 20 GB (10 free kept).
    expect(cacheCapacity({ totalBytes: 100 * GB, availableBytes: 20 * GB }, 10 * GB)).toBe(20 * GB);
    expect(cacheCapacity({ totalBytes: 100 * GB, availableBytes: 5 * GB }, 0)).toBe(0);
  });

  it('keeps a configured reserve when it is more than the headroom', () => {
    expect(reservedBytes({ totalBytes: 100 * GB, availableBytes: 0 }, { reserveBytes: 25 * GB })).toBe(25 * GB);
    expect(cacheCapacity({ totalBytes: 100 * GB, availableBytes: 100 * GB }, 0, { reserveBytes: 25 * GB })).toBe(75 * GB);
    expect(cacheCapacity({ totalBytes: 100 * GB, availableBytes: 100 * GB }, 0, { headroomFraction: 0.2 })).toBe(80 * GB);
  });

  it('applies an operator cap below what was measured, never above', () => {
    expect(cacheCapacity({ totalBytes: 1000 * GB, availableBytes: 1000 * GB }, 0, { capBytes: 200 * GB })).toBe(200 * GB);
    expect(cacheCapacity({ totalBytes: 100 * GB, availableBytes: 100 * GB }, 0, { capBytes: 500 * GB })).toBe(90 * GB);
  });
});
