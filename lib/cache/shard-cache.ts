import { mkdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import type { Log } from '../log';
import { buildManifest, readManifest, writeManifest, type CacheEntry } from './cache-manifest';
import { cacheCapacity, statFs, type CapacityPolicy, type FsStats } from './capacity';
import { lastUsedOf, planRoom, type RoomPlan } from './eviction';
import { classifyFiles, listFiles, sha256OfFile, type ExpectedShard } from './reconcile';

export interface ShardCacheOptions {
  /** The cache directory: shard files live under `shards/<objectId>/`, the manifest beside them. */
  dir: string;
  nodeId: string;
  policy?: CapacityPolicy;
  now: () => number;
  log: Log;
  /** Measures the cache's filesystem (tests give a small one). @default statfs(2) */
  fsOf?: (dir: string) => Promise<FsStats>;
}

/** The cache as a heartbeat, `status` and the dashboard show it. */
export interface CacheReport {
  capacityBytes: number;
  usedBytes: number;
  /** Capacity not used yet. */
  freeBytes: number;
  /** What the filesystem itself has left. */
  fsAvailableBytes: number;
  shards: number;
  /** Shards placement no longer assigns here (evicted first when room is needed). */
  unassigned: number;
}

/** What opening the cache found on disk. */
export interface OpenReport {
  kept: number;
  /** Kept without hashing: the last manifest vouched they had not changed since checked. */
  vouched: number;
  removed: Array<{ path: string; reason: 'partial' | 'unknown' | 'corrupt' }>;
}

/** A file that stopped matching what the cache holds (gone, changed, or failing its sha256). */
export interface BadFile {
  entry: CacheEntry;
  reason: 'missing' | 'corrupt';
}

/** How long checksum updates alone wait before the manifest is rewritten for them. */
const VERIFY_FLUSH_MS = 60_000;

/**
 * The host's shard cache on disk: which shard files it holds, what it may hold (measured from its
 * filesystem), what to evict to make room, and `manifest.json`, rewritten atomically on every
 * change. It knows nothing of the ledger: the replica puller decides what is assigned here.
 */
export class ShardCache {
  private readonly entries = new Map<string, CacheEntry>();
  private capacity = 0;
  private fsAvailable = 0;
  private dirty = false;
  private verifiedSinceFlush = false;
  private lastFlush = 0;

  constructor(private readonly opts: ShardCacheOptions) {}

  get dir(): string {
    return this.opts.dir;
  }

  get usedBytes(): number {
    let used = 0;
    for (const e of this.entries.values()) used += e.bytes;
    return used;
  }

  get capacityBytes(): number {
    return this.capacity;
  }

  list(): CacheEntry[] {
    return [...this.entries.values()];
  }

  /** Where a shard's file lives; throws when that would be outside the cache (see `safePathOf`). */
  pathOf(shard: { objectId: string; shardKey: string }): string {
    const path = this.safePathOf(shard);
    if (path === undefined) throw new Error(unsafePathReason(shard));
    return path;
  }

  /**
   * Where a shard's file lives: `<dir>/shards/<objectId>/<file name of shardKey>`, or undefined
   * when the objectId or the key's file name is not one plain path segment, so that the file would
   * resolve anywhere else (`../../x`, `a/b`, `..`, empty). Ids come from work messages and the
   * ledger: the cache never trusts them to name a path.
   */
  safePathOf(shard: { objectId: string; shardKey: string }): string | undefined {
    const file = basename(shard.shardKey);
    if (!isPlainSegment(shard.objectId) || !isPlainSegment(file)) return undefined;
    const shardsDir = join(this.opts.dir, 'shards');
    const path = join(shardsDir, shard.objectId, file);
    return resolve(path).startsWith(resolve(shardsDir) + sep) ? path : undefined;
  }

  /** The entry holding exactly this shard (same file, same sha256), if the cache has it. */
  find(shard: { objectId: string; shardKey: string; sha256: string }): CacheEntry | undefined {
    const entry = this.entries.get(this.pathOf(shard));
    return entry && entry.sha256 === shard.sha256 ? entry : undefined;
  }

  /**
   * Takes back what a previous run left on disk: keeps the files that `assigned` (this node's
   * replica items) or the last manifest know and whose sha256 matches, removes half-written,
   * unknown and corrupt ones, then writes the manifest.
   */
  async open(assigned: ExpectedShard[]): Promise<OpenReport> {
    const shardsDir = join(this.opts.dir, 'shards');
    await mkdir(shardsDir, { recursive: true });
    const previous = await readManifest(this.opts.dir);
    const report: OpenReport = { kept: 0, vouched: 0, removed: [] };
    const now = this.opts.now();
    for (const verdict of classifyFiles(await listFiles(shardsDir), assigned, previous)) {
      const { file } = verdict;
      if (verdict.kind === 'remove') {
        await rm(file.path, { force: true });
        report.removed.push({ path: file.path, reason: verdict.reason });
        continue;
      }
      const { shard, vouched } = verdict;
      const valid = file.bytes === shard.bytes && (vouched !== undefined || (await sha256OfFile(file.path).catch(() => '')) === shard.sha256);
      if (!valid) {
        await rm(file.path, { force: true });
        report.removed.push({ path: file.path, reason: 'corrupt' });
        continue;
      }
      const pulledAt = vouched ? Date.parse(vouched.pulledAt) : file.mtimeMs;
      const records = shard.records ?? (typeof vouched?.records === 'number' ? vouched.records : undefined);
      this.entries.set(file.path, {
        chunkId: shard.chunkId,
        objectId: shard.objectId,
        shardKey: shard.shardKey,
        sha256: shard.sha256,
        bytes: shard.bytes,
        path: file.path,
        ...(records !== undefined ? { records } : {}),
        pulledAt,
        lastUsedAt: lastUsedOf(pulledAt, file.atimeMs),
        // A vouched file is served at once but counts as never checked, so the background scrub
        // hashes it again soon after a restart (bounded bytes per pass): damage that kept the
        // size and mtime (bit rot, a copy that preserved timestamps) is still found.
        verifiedAt: vouched ? 0 : now,
        mtimeMs: file.mtimeMs,
        assigned: verdict.assigned,
      });
      report.kept++;
      if (vouched) report.vouched++;
    }
    for (const { path } of report.removed) await removeEmptyParent(path, shardsDir);
    await this.refreshCapacity();
    this.dirty = true;
    await this.flush();
    return report;
  }

  /** Marks which entries placement still assigns here; returns how many changed. */
  syncAssigned(isAssigned: (entry: CacheEntry) => boolean): number {
    let changed = 0;
    for (const e of this.entries.values()) {
      const assigned = isAssigned(e);
      if (assigned === e.assigned) continue;
      e.assigned = assigned;
      changed++;
    }
    if (changed > 0) this.dirty = true;
    return changed;
  }

  /** Measures the filesystem again and returns the capacity. */
  async refreshCapacity(): Promise<number> {
    const fs = await (this.opts.fsOf ?? statFs)(this.opts.dir);
    const capacity = cacheCapacity(fs, this.usedBytes, this.opts.policy);
    if (capacity !== this.capacity) this.dirty = true;
    this.capacity = capacity;
    this.fsAvailable = fs.availableBytes;
    return capacity;
  }

  /** What to evict for `bytes` more to fit (see `planRoom`), against the capacity last measured. */
  planRoom(bytes: number): RoomPlan {
    return planRoom(this.entries.values(), bytes, this.usedBytes, this.capacity);
  }

  /** Where a pull writes before its sha256 is checked. */
  partialPathOf(shard: { objectId: string; shardKey: string }): string {
    return `${this.pathOf(shard)}.partial`;
  }

  /** Makes a checked partial file a cached shard, assigned here. */
  async admit(partial: string, shard: Omit<ExpectedShard, 'path'>): Promise<CacheEntry> {
    const path = this.pathOf(shard);
    await rename(partial, path);
    const s = await stat(path);
    const now = this.opts.now();
    const entry: CacheEntry = { ...shard, path, pulledAt: now, lastUsedAt: now, verifiedAt: now, mtimeMs: s.mtimeMs, assigned: true };
    this.entries.set(path, entry);
    this.dirty = true;
    // The filesystem shrank by the file: keep free space current for the next pull's check.
    this.fsAvailable = Math.max(0, this.fsAvailable - shard.bytes);
    return entry;
  }

  /** Creates the directory a shard's partial file goes to. */
  async prepare(shard: { objectId: string; shardKey: string }): Promise<string> {
    const partial = this.partialPathOf(shard);
    await mkdir(dirname(partial), { recursive: true });
    return partial;
  }

  /** Removes a shard: out of the manifest first (so readers stop choosing it), then off the disk. */
  async remove(entry: CacheEntry): Promise<void> {
    if (this.entries.get(entry.path) !== entry) return;
    this.entries.delete(entry.path);
    this.dirty = true;
    await this.flush();
    await rm(entry.path, { force: true });
    this.fsAvailable += entry.bytes;
    await removeEmptyParent(entry.path, join(this.opts.dir, 'shards'));
  }

  /**
   * Cheap check of every entry: a file that is gone, or whose size or mtime changed since it was
   * checked, is hashed again now. Returns the files that no longer hold their shard.
   */
  async statCheck(): Promise<BadFile[]> {
    const bad: BadFile[] = [];
    for (const entry of this.list()) {
      const s = await stat(entry.path).catch(() => undefined);
      if (!s) bad.push({ entry, reason: 'missing' });
      else if (s.size !== entry.bytes || s.mtimeMs !== entry.mtimeMs) {
        if (await this.rehash(entry, s.mtimeMs)) continue;
        bad.push({ entry, reason: 'corrupt' });
      }
    }
    return bad;
  }

  /**
   * Hashes again the entries not checked for `everyMs`, oldest check first, until `budgetBytes`
   * are read (a background scrub that never competes much with training reads). Returns the files
   * that no longer hold their shard.
   */
  async verifyDue(everyMs: number, budgetBytes: number): Promise<BadFile[]> {
    const now = this.opts.now();
    const due = this.list()
      .filter((e) => now - e.verifiedAt >= everyMs)
      .sort((a, b) => a.verifiedAt - b.verifiedAt);
    const bad: BadFile[] = [];
    let read = 0;
    for (const entry of due) {
      if (read > 0 && read + entry.bytes > budgetBytes) break;
      read += entry.bytes;
      const s = await stat(entry.path).catch(() => undefined);
      if (!s) bad.push({ entry, reason: 'missing' });
      else if (!(await this.rehash(entry, s.mtimeMs))) bad.push({ entry, reason: 'corrupt' });
    }
    return bad;
  }

  /** Writes the manifest if anything changed (checksum dates alone: at most once a minute). */
  async flush(): Promise<boolean> {
    const now = this.opts.now();
    if (!this.dirty && !(this.verifiedSinceFlush && now - this.lastFlush >= VERIFY_FLUSH_MS)) return false;
    await writeManifest(this.opts.dir, buildManifest(this.opts.nodeId, this.entries.values(), this.capacity, now, this.opts.dir));
    this.dirty = false;
    this.verifiedSinceFlush = false;
    this.lastFlush = now;
    return true;
  }

  report(): CacheReport {
    const used = this.usedBytes;
    let unassigned = 0;
    for (const e of this.entries.values()) if (!e.assigned) unassigned++;
    return { capacityBytes: this.capacity, usedBytes: used, freeBytes: Math.max(0, this.capacity - used), fsAvailableBytes: this.fsAvailable, shards: this.entries.size, unassigned };
  }

  private async rehash(entry: CacheEntry, mtimeMs: number): Promise<boolean> {
    const ok = (await sha256OfFile(entry.path).catch(() => '')) === entry.sha256;
    if (ok) {
      entry.verifiedAt = this.opts.now();
      if (entry.mtimeMs !== mtimeMs) this.dirty = true;
      entry.mtimeMs = mtimeMs;
      this.verifiedSinceFlush = true;
    }
    return ok;
  }
}

/** One file or directory name: not empty, `.` or `..`, and without separators or NUL. */
function isPlainSegment(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[/\\\0]/.test(name);
}

/** Why a shard has no path in the cache (for logs and the replica's refusal). */
export function unsafePathReason(shard: { objectId: string; shardKey: string }): string {
  return `unsafe cache path: objectId ${JSON.stringify(shard.objectId)} and shardKey ${JSON.stringify(shard.shardKey)} do not resolve inside the cache directory`;
}

/** Removes the object directory a shard file was in once it is empty. */
async function removeEmptyParent(path: string, shardsDir: string): Promise<void> {
  const parent = dirname(path);
  if (parent !== shardsDir && parent.startsWith(shardsDir)) await rmdir(parent).catch(() => undefined);
}
