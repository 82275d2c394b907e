import type { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { listLocalSource, listS3Source, type SourceFile } from './sources';
import { isHdfsUrl, listHdfsSource, type WebHdfsOptions } from './webhdfs';

/** Progress of an ingest, reported as bytes move (bytes count towards the file being sent). */
export interface IngestProgress {
  bytesDone: number;
  bytesTotal: number;
  filesDone: number;
  filesTotal: number;
  /** Key of the file that moved last. */
  file: string;
}

/** Where ingested files go: `s3://bucket/prefix/<relative path>`. */
export interface IngestTarget {
  bucket: string;
  /** Key prefix, treated as a folder (a missing trailing `/` is added). @default '' (bucket root) */
  prefix?: string;
}

/** What an ingest needs from outside. */
export interface IngestDeps {
  s3: S3Client;
  onProgress?: (p: IngestProgress) => void;
  /** Files uploaded at once, each with up to 4 parts in flight. @default 4 */
  concurrency?: number;
  /** How `hdfs://`, `webhdfs://` and `swebhdfs://` sources are read. @default port 9870 for hdfs://, no user, no token */
  webhdfs?: WebHdfsOptions;
}

/** What an ingest moved; `keys` are sorted. */
export interface IngestResult {
  files: number;
  bytes: number;
  keys: string[];
}

/** 8 MiB parts: above S3's 5 MiB minimum, and 4 in flight per file keep memory near 32 MiB a file. */
export const PART_SIZE = 8 * 1024 * 1024;
const PARTS_IN_FLIGHT = 4;

/**
 * Copies a local file, a local folder (recursively), `s3://bucket/prefix` or an HDFS path
 * (`hdfs://`, `webhdfs://`, `swebhdfs://`, read over WebHDFS) into `target`, keeping each file's
 * path relative to the source under the prefix. Streams from the source into lib-storage `Upload`
 * (multipart, parallel parts), so memory does not grow with file size; S3 sources are read with
 * GetObject, which works against any endpoint and across accounts. On the
 * first failure no new file starts, uploads in flight are aborted (with their parts), and the
 * error is thrown. A missing source throws `ingest source not found: …`.
 */
export async function ingestPath(source: string, target: IngestTarget, deps: IngestDeps): Promise<IngestResult> {
  const files = await listSource(source, deps);
  const prefix = normalizePrefix(target.prefix);
  const progress: IngestProgress = { bytesDone: 0, bytesTotal: files.reduce((n, f) => n + f.size, 0), filesDone: 0, filesTotal: files.length, file: '' };
  const report = (file: string, bytes: number) => {
    progress.bytesDone += bytes;
    progress.file = file;
    deps.onProgress?.({ ...progress });
  };

  const queue = [...files];
  const inFlight = new Set<Upload>();
  const keys: string[] = [];
  let failure: unknown;
  const worker = async () => {
    for (let file = queue.shift(); file && failure === undefined; file = queue.shift()) {
      try {
        const key = await uploadOne(file, `${prefix}${file.name}`, target.bucket, deps.s3, inFlight, report);
        keys.push(key);
        progress.filesDone++;
        report(key, 0);
      } catch (err) {
        failure ??= err;
        for (const upload of inFlight) void upload.abort();
      }
    }
  };
  const workers = Math.max(1, Math.min(deps.concurrency ?? 4, files.length));
  await Promise.all(Array.from({ length: workers }, worker));
  if (failure !== undefined) throw failure;
  return { files: files.length, bytes: progress.bytesTotal, keys: keys.sort() };
}

function listSource(source: string, deps: IngestDeps): Promise<SourceFile[]> {
  if (source.startsWith('s3://')) return listS3Source(deps.s3, source);
  if (isHdfsUrl(source)) return listHdfsSource(source, deps.webhdfs);
  return listLocalSource(source);
}

async function uploadOne(file: SourceFile, key: string, bucket: string, s3: S3Client, inFlight: Set<Upload>, report: (key: string, bytes: number) => void): Promise<string> {
  const body = await file.open();
  const upload = new Upload({ client: s3, params: { Bucket: bucket, Key: key, Body: body }, queueSize: PARTS_IN_FLIGHT, partSize: PART_SIZE });
  let sent = 0;
  upload.on('httpUploadProgress', (p) => {
    // lib-storage reports a running total per upload; the ingest reports deltas across files.
    const loaded = Math.min(p.loaded ?? 0, file.size);
    if (loaded > sent) report(key, loaded - sent);
    sent = Math.max(sent, loaded);
  });
  inFlight.add(upload);
  try {
    await upload.done();
  } catch (err) {
    body.destroy(); // an abandoned S3 body would otherwise keep its socket
    throw err;
  } finally {
    inFlight.delete(upload);
  }
  if (file.size > sent) report(key, file.size - sent);
  return key;
}

/** `''` stays the bucket root; anything else becomes a folder: no leading `/`, one trailing `/`. */
function normalizePrefix(prefix = ''): string {
  const trimmed = prefix.replace(/^\/+/, '');
  return trimmed === '' || trimmed.endsWith('/') ? trimmed : `${trimmed}/`;
}
