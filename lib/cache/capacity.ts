import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';

/** What the filesystem under the cache directory says about its size. */
export interface FsStats {
  /** Size of the filesystem. */
  totalBytes: number;
  /** Bytes an unprivileged writer can still use (`bavail`, not `bfree`: root's reserve is not ours). */
  availableBytes: number;
}

/** How much of its filesystem the cache may use. */
export interface CapacityPolicy {
  /** Fraction of the filesystem always left free (for the OS, Docker, and rounding). @default 0.1 */
  headroomFraction?: number;
  /** Bytes always left free, when more than the headroom fraction. @default 0 */
  reserveBytes?: number;
  /** An operator's cap (`--cache-capacity-gib`, `SHARDLINE_CACHE_CAPACITY_BYTES`), applied below what was measured. */
  capBytes?: number;
}

export const DEFAULT_HEADROOM_FRACTION = 0.1;

/** Bytes left free on the cache's filesystem whatever the cache holds. */
export function reservedBytes(fs: FsStats, policy: CapacityPolicy = {}): number {
  return Math.max(policy.reserveBytes ?? 0, Math.ceil(fs.totalBytes * (policy.headroomFraction ?? DEFAULT_HEADROOM_FRACTION)));
}

/**
 * Bytes the cache may hold: what it holds now plus what is free on its filesystem, less the
 * reserve, never more than the filesystem less the reserve, and never more than an operator's
 * cap. On a dedicated volume that is the volume less its headroom; on a shared disk what others
 * write shrinks it, so the disk never fills because of the cache.
 */
export function cacheCapacity(fs: FsStats, usedBytes: number, policy: CapacityPolicy = {}): number {
  const reserve = reservedBytes(fs, policy);
  const measured = Math.max(0, Math.min(fs.totalBytes - reserve, usedBytes + fs.availableBytes - reserve));
  return Math.floor(policy.capBytes !== undefined ? Math.min(policy.capBytes, measured) : measured);
}

/** The filesystem holding `dir`, from `statfs(2)`. */
export async function statFs(dir: string): Promise<FsStats> {
  const s = await statfs(dir);
  return { totalBytes: s.blocks * s.bsize, availableBytes: s.bavail * s.bsize };
}

/** Bytes of every file below `dir` (0 when it does not exist). */
export async function bytesBelow(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await bytesBelow(path);
    else if (e.isFile()) total += (await stat(path).catch(() => ({ size: 0 }))).size;
  }
  return total;
}

/** The capacity of the cache at `dir` as measured now (used when the node joins, before the cache is opened). */
export async function measureCacheCapacity(
  dir: string,
  policy: CapacityPolicy = {},
  fsOf: (dir: string) => Promise<FsStats> = statFs,
): Promise<{ capacityBytes: number; usedBytes: number; fs: FsStats }> {
  const [fs, usedBytes] = await Promise.all([fsOf(dir), bytesBelow(dir)]);
  return { capacityBytes: cacheCapacity(fs, usedBytes, policy), usedBytes, fs };
}
