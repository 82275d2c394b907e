import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { CacheManifest, CacheManifestShard } from './cache-manifest';

/** A file found below the cache's `shards/` directory. */
export interface DiskFile {
  path: string;
  bytes: number;
  mtimeMs: number;
  atimeMs: number;
}

/** A shard the cache should hold at `path`: one of this node's replica items, or an entry of the last manifest. */
export interface ExpectedShard {
  chunkId: string;
  objectId: string;
  shardKey: string;
  sha256: string;
  bytes: number;
  records?: number;
  path: string;
}

/** What to do with one file found on disk when the cache is opened. */
export type FileVerdict =
  | { kind: 'remove'; file: DiskFile; reason: 'partial' | 'unknown' }
  | {
      kind: 'check';
      file: DiskFile;
      shard: ExpectedShard;
      /** A replica item of this node assigns it (else only the last manifest knew it). */
      assigned: boolean;
      /** The last manifest listed it with this sha256, size and mtime: unchanged since it was verified. */
      vouched?: CacheManifestShard;
    };

/** Suffixes of files a pull or a manifest write left half-written. */
const PARTIAL = /\.(partial|tmp)$/;

/**
 * Sorts the files found on disk against what the ledger assigns to this node and what the last
 * manifest listed: half-written files and files neither knows are removed; the others are checked
 * against their sha256 (or trusted, when the last manifest vouches that they have not changed
 * since they were verified). A file the ledger no longer assigns but the last manifest listed is
 * kept as an unassigned shard, readable until it is evicted.
 */
export function classifyFiles(files: DiskFile[], assigned: ExpectedShard[], previous?: CacheManifest): FileVerdict[] {
  const byPath = new Map(assigned.map((s) => [s.path, s]));
  const listed = new Map((previous?.shards ?? []).map((s) => [s.path, s]));
  return files.map((file): FileVerdict => {
    if (PARTIAL.test(file.path)) return { kind: 'remove', file, reason: 'partial' };
    const last = listed.get(file.path);
    const shard = byPath.get(file.path) ?? (last ? fromManifest(last) : undefined);
    if (!shard) return { kind: 'remove', file, reason: 'unknown' };
    const vouched = last && last.sha256 === shard.sha256 && last.bytes === file.bytes && last.mtimeMs === file.mtimeMs ? last : undefined;
    return { kind: 'check', file, shard, assigned: byPath.has(file.path), ...(vouched ? { vouched } : {}) };
  });
}

function fromManifest(s: CacheManifestShard): ExpectedShard {
  return { chunkId: s.chunkId, objectId: s.objectId, shardKey: s.shardKey, sha256: s.sha256, bytes: s.bytes, path: s.path, ...(typeof s.records === 'number' ? { records: s.records } : {}) };
}

/** Every regular file below `dir`, recursively (none when it does not exist). */
export async function listFiles(dir: string): Promise<DiskFile[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const files: DiskFile[] = [];
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await listFiles(path)));
    else if (e.isFile()) {
      const s = await stat(path).catch(() => undefined);
      if (s) files.push({ path, bytes: s.size, mtimeMs: s.mtimeMs, atimeMs: s.atimeMs });
    }
  }
  return files;
}

/**
 * The sha256 of a file, read without touching its atime where the platform allows it
 * (`O_NOATIME`: the agent owns its files), so that checks do not count as uses for LRU.
 */
export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  const noAtime = (constants as Record<string, number>).O_NOATIME ?? 0;
  // O_NOATIME is refused (EPERM) on a file the process neither owns nor may own: read it plainly then.
  const file = await open(path, constants.O_RDONLY | noAtime).catch(() => open(path, 'r'));
  await pipeline(file.createReadStream(), hash);
  return hash.digest('hex');
}
