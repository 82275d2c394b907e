import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** The manifest's file name in the cache directory (read by the Python reader, `shardline.cache`). */
export const CACHE_MANIFEST_FILE = 'manifest.json';

/** One shard file in the cache, as the cache keeps it in memory. */
export interface CacheEntry {
  chunkId: string;
  objectId: string;
  shardKey: string;
  sha256: string;
  bytes: number;
  /** Absolute path of the file. */
  path: string;
  /** Records in the shard (the chunk's `recordsOut`), when known. */
  records?: number;
  /** When the file was pulled (or taken back after a restart), epoch ms. */
  pulledAt: number;
  /** When the shard was last used: the later of its pull and the file's atime (see `lastUsedOf`). */
  lastUsedAt: number;
  /** When its sha256 was last checked against the file's bytes, epoch ms. */
  verifiedAt: number;
  /** The file's mtime when it was last checked: a changed one means the file was written since. */
  mtimeMs: number;
  /** Whether a replica item of this node still assigns the shard here; only unassigned shards are evicted. */
  assigned: boolean;
}

/**
 * `manifest.json`: every shard file in the cache, for training processes on the host. Fields are
 * added, never renamed: the Python reader uses `shards[].{shardKey, path, sha256}`.
 */
export interface CacheManifest {
  /** Format version of this file. */
  version: 1;
  nodeId: string;
  updatedAt: string;
  /** What the cache may hold (measured from its filesystem, less headroom, under any cap). */
  capacityBytes: number;
  /** Bytes of the shard files listed. */
  usedBytes: number;
  shards: CacheManifestShard[];
}

export interface CacheManifestShard {
  chunkId: string;
  objectId: string;
  /** Absolute path of the file, as the agent sees it. */
  path: string;
  /** The path below the cache directory: where a container mounting the cache elsewhere finds the file. */
  relativePath: string;
  sha256: string;
  bytes: number;
  shardKey: string;
  /** Records in the shard; null when the ledger did not say. */
  records: number | null;
  pulledAt: string;
  lastUsedAt: string;
  verifiedAt: string;
  mtimeMs: number;
  /** False once placement no longer assigns the shard here: the file stays readable until evicted. */
  assigned: boolean;
}

/** The manifest of `entries`, sorted by chunk id so that equal caches give equal files. */
export function buildManifest(nodeId: string, entries: Iterable<CacheEntry>, capacityBytes: number, now: number, cacheDir = '/'): CacheManifest {
  const shards = [...entries]
    .sort((a, b) => a.chunkId.localeCompare(b.chunkId) || a.path.localeCompare(b.path))
    .map((e) => ({
      chunkId: e.chunkId,
      objectId: e.objectId,
      path: e.path,
      relativePath: relative(cacheDir, e.path),
      sha256: e.sha256,
      bytes: e.bytes,
      shardKey: e.shardKey,
      records: e.records ?? null,
      pulledAt: new Date(e.pulledAt).toISOString(),
      lastUsedAt: new Date(e.lastUsedAt).toISOString(),
      verifiedAt: new Date(e.verifiedAt).toISOString(),
      mtimeMs: e.mtimeMs,
      assigned: e.assigned,
    }));
  return { version: 1, nodeId, updatedAt: new Date(now).toISOString(), capacityBytes, usedBytes: shards.reduce((n, s) => n + s.bytes, 0), shards };
}

/** Writes the manifest atomically (a temporary file renamed over it), so a reader never sees half of one. */
export async function writeManifest(cacheDir: string, manifest: CacheManifest): Promise<void> {
  const path = join(cacheDir, CACHE_MANIFEST_FILE);
  const tmp = `${path}.${process.pid}.tmp`;
  await mkdir(cacheDir, { recursive: true });
  await writeFile(tmp, JSON.stringify(manifest, null, 2));
  await rename(tmp, path);
}

/** The manifest left in `cacheDir`, or undefined when there is none or it cannot be read. */
export async function readManifest(cacheDir: string): Promise<CacheManifest | undefined> {
  try {
    const doc = JSON.parse(await readFile(join(cacheDir, CACHE_MANIFEST_FILE), 'utf8')) as CacheManifest;
    return doc && Array.isArray(doc.shards) ? doc : undefined;
  } catch {
    return undefined;
  }
}
