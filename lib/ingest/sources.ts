import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createReadStream, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

/** One file to ingest: its key relative to the target prefix, its size, and how to stream it. */
export interface SourceFile {
  /** Relative path with `/` separators, e.g. `a/b/part-0.jsonl`. */
  name: string;
  size: number;
  /** Opens a fresh stream; called only when the file's turn comes, so idle sources hold nothing open. */
  open: () => Promise<Readable>;
}

const HINT = 'expected a local file, a local folder or s3://bucket/prefix';
// Bigger reads than the 64 KiB default: fewer syscalls while filling 8 MiB parts.
const READ_CHUNK = 1024 * 1024;

/** Lists a local source: a file gives its base name, a folder every file below it (recursively). */
export async function listLocalSource(path: string): Promise<SourceFile[]> {
  const info = await statOrUndefined(path);
  if (!info) throw new Error(`ingest source not found: ${path} (${HINT})`);
  if (info.isFile()) return [localFile(path, basename(path), info.size)];
  if (!info.isDirectory()) throw new Error(`ingest source is neither a file nor a folder: ${path}`);
  const files: SourceFile[] = [];
  for (const entry of await readdir(path, { recursive: true, withFileTypes: true })) {
    if (entry.isDirectory()) continue;
    const full = join(entry.parentPath, entry.name);
    // stat (not lstat) so a symlink to a file counts as that file; broken links are skipped.
    const target = await statOrUndefined(full);
    if (target?.isFile()) files.push(localFile(full, relative(path, full).split(sep).join('/'), target.size));
  }
  if (files.length === 0) throw new Error(`ingest source has no files: ${path}`);
  return files.sort((a, b) => (a.name < b.name ? -1 : 1));
}

function localFile(path: string, name: string, size: number): SourceFile {
  return { name, size, open: async () => createReadStream(path, { highWaterMark: READ_CHUNK }) };
}

async function statOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await stat(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Splits `s3://bucket/prefix` into bucket and prefix (which may be empty). */
export function parseS3Url(url: string): { bucket: string; prefix: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`invalid S3 url: ${url} (${HINT})`);
  return { bucket: match[1], prefix: match[2] };
}

/**
 * Lists an S3 source the way a local path is read: `s3://b/data/x.jsonl` (an object) gives
 * `x.jsonl`; `s3://b/data` or `s3://b/data/` (a "folder") gives the keys below it, relative to it;
 * a partial name such as `s3://b/data/part-` gives the matching keys relative to `data/`.
 */
export async function listS3Source(s3: S3Client, url: string): Promise<SourceFile[]> {
  const { bucket, prefix } = parseS3Url(url);
  const objects = new Map<string, number>();
  let token: string | undefined;
  try {
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) if (o.Key && !o.Key.endsWith('/')) objects.set(o.Key, o.Size ?? 0);
      token = out.NextContinuationToken;
    } while (token);
  } catch (err) {
    if ((err as Error).name === 'NoSuchBucket') throw new Error(`ingest source not found: bucket ${bucket} does not exist (${url})`, { cause: err });
    throw err;
  }

  let base: string;
  let keys = [...objects.keys()];
  if (prefix === '' || prefix.endsWith('/')) base = prefix;
  else if (objects.has(prefix)) [base, keys] = [prefix.slice(0, prefix.lastIndexOf('/') + 1), [prefix]];
  else if (keys.some((k) => k.startsWith(`${prefix}/`))) [base, keys] = [`${prefix}/`, keys.filter((k) => k.startsWith(`${prefix}/`))];
  else base = prefix.slice(0, prefix.lastIndexOf('/') + 1);
  if (keys.length === 0) throw new Error(`ingest source not found: no objects under ${url}`);

  return keys.sort().map((key) => ({
    name: key.slice(base.length),
    size: objects.get(key) ?? 0,
    // A plain GET stream works against any endpoint and account; CopyObject would need the
    // target's credentials to read the source bucket.
    open: async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable,
  }));
}
