import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { Readable } from 'node:stream';

/** Progress of an ingest, reported as bytes move. */
export interface IngestProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  file: string;
}

export interface IngestDeps {
  s3: S3Client;
  onProgress?: (p: IngestProgress) => void;
  /** Files uploaded at once. @default 4 */
  concurrency?: number;
}

interface SourceFile {
  name: string;
  size: number;
  open: () => Promise<Readable>;
}

/**
 * Copies a local file, a local folder (recursively) or `s3://bucket/prefix` into the ingest
 * bucket under `prefix`, keeping relative paths. Multipart and parallel (lib-storage `Upload`),
 * streaming from the source, so memory does not grow with file size.
 */
export async function ingestPath(
  source: string,
  target: { bucket: string; prefix?: string },
  deps: IngestDeps,
): Promise<{ files: number; bytes: number; keys: string[] }> {
  const files = source.startsWith('s3://') ? await listS3(deps.s3, source) : await listLocal(source);
  const prefix = target.prefix ?? '';
  const progress: IngestProgress = { bytesDone: 0, bytesTotal: files.reduce((n, f) => n + f.size, 0), filesDone: 0, filesTotal: files.length, file: '' };
  const keys: string[] = [];
  const queue = [...files];
  const worker = async () => {
    for (let file = queue.shift(); file; file = queue.shift()) {
      const key = `${prefix}${file.name}`;
      const upload = new Upload({
        client: deps.s3,
        params: { Bucket: target.bucket, Key: key, Body: await file.open() },
        queueSize: 4,
        partSize: 8 * 1024 * 1024,
      });
      let sent = 0;
      upload.on('httpUploadProgress', (p) => {
        const loaded = p.loaded ?? 0;
        progress.bytesDone += loaded - sent;
        sent = loaded;
        deps.onProgress?.({ ...progress, file: key });
      });
      await upload.done();
      progress.bytesDone += file.size - sent;
      progress.filesDone++;
      keys.push(key);
      deps.onProgress?.({ ...progress, file: key });
    }
  };
  await Promise.all(Array.from({ length: Math.min(deps.concurrency ?? 4, Math.max(1, files.length)) }, worker));
  return { files: files.length, bytes: progress.bytesTotal, keys: keys.sort() };
}

async function listLocal(path: string): Promise<SourceFile[]> {
  const info = await stat(path).catch(() => {
    throw new Error(`ingest source not found: ${path}`);
  });
  if (info.isFile()) return [{ name: basename(path), size: info.size, open: async () => createReadStream(path) }];
  const entries = await readdir(path, { recursive: true, withFileTypes: true });
  const files: SourceFile[] = [];
  for (const entry of entries) {
    if (!entry.isFile()) continue;
    const full = join(entry.parentPath ?? path, entry.name);
    files.push({ name: relative(path, full).split(sep).join('/'), size: (await stat(full)).size, open: async () => createReadStream(full) });
  }
  if (files.length === 0) throw new Error(`ingest source has no files: ${path}`);
  return files.sort((a, b) => a.name.localeCompare(b.name));
}

async function listS3(s3: S3Client, url: string): Promise<SourceFile[]> {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/.exec(url);
  if (!match) throw new Error(`invalid S3 url: ${url}`);
  const [, bucket, prefix] = match;
  const files: SourceFile[] = [];
  let token: string | undefined;
  do {
    const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of out.Contents ?? []) {
      if (!o.Key || o.Key.endsWith('/')) continue;
      const key = o.Key;
      const name = key.slice(prefix.endsWith('/') || !prefix ? prefix.length : prefix.lastIndexOf('/') + 1);
      files.push({ name, size: o.Size ?? 0, open: async () => (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as Readable });
    }
    token = out.NextContinuationToken;
  } while (token);
  if (files.length === 0) throw new Error(`ingest source has no objects: ${url}`);
  return files;
}
