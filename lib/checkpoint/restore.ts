import type { S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { mkdir, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { rankLabel, spoolPaths } from './layout';
import type { DurableFile, DurableManifest } from './manifest';
import type { CheckpointRegistry } from './registry';
import { getBytes, getJson } from './s3-objects';

export interface RestoreDeps {
  s3: S3Client;
  registry: CheckpointRegistry;
  bucket: string;
}

export interface RestoreRequest {
  job: string;
  /** @default the newest complete step */
  step?: number;
  /** @default every rank */
  ranks?: number[];
  dest: string;
  /** Put each rank's files in `dest/rank-NNNNN/` (always when restoring several ranks). */
  byRank?: boolean;
  /** Spool directories that may hold a local copy (tried before S3, part by part). */
  localCopies?: string[];
  /** Parts read at once per file. @default 4 */
  concurrency?: number;
}

export interface RestoredFile {
  rank: number;
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  /** Where the bytes came from: a local copy, S3, or both (some parts of a local copy were bad). */
  source: 'local' | 's3' | 'mixed';
  /** Parts of the first copy tried whose sha256 did not match, read again from another copy. */
  repairedParts: number;
}

/** No copy of a part has the bytes the manifest lists. */
export class CorruptCheckpoint extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CorruptCheckpoint';
  }
}

/**
 * Restores a complete step: every file of the ranks asked for, each part checked against its
 * sha256 and read from the next copy (a local spool copy first, then S3) when it does not match,
 * the whole file checked against its sha256, then renamed into place. Never restores an incomplete step.
 */
export async function restoreCheckpoint(deps: RestoreDeps, req: RestoreRequest): Promise<{ step: number; files: RestoredFile[] }> {
  const step = req.step ?? (await deps.registry.latest(req.job))?.step;
  if (step === undefined) throw new Error(`job ${req.job} has no complete checkpoint`);
  const item = await deps.registry.step(req.job, step);
  if (item?.state !== 'COMPLETE') throw new Error(`step ${step} of job ${req.job} is not complete (${item?.state ?? 'unknown'}): it cannot be restored`);
  const parts = (await deps.registry.parts(req.job, step)).filter((p) => p.attempt === item.attempt && p.state === 'DURABLE');
  const ranks = req.ranks ?? parts.map((p) => p.rank);
  const byRank = req.byRank ?? ranks.length > 1;
  const files: RestoredFile[] = [];
  for (const rank of ranks) {
    const part = parts.find((p) => p.rank === rank);
    if (!part?.manifestKey) throw new Error(`step ${step} of job ${req.job} has no rank ${rank} (world size ${item.worldSize})`);
    const manifest = await getJson<DurableManifest>(deps.s3, deps.bucket, part.manifestKey, part.manifestSha256);
    if (!manifest) throw new CorruptCheckpoint(`the manifest of rank ${rank} is missing from s3://${deps.bucket}/${part.manifestKey}`);
    const dir = byRank ? join(req.dest, rankLabel(rank)) : req.dest;
    await mkdir(dir, { recursive: true });
    const locals = (req.localCopies ?? []).map((spool) => (name: string) => join(spool, spoolPaths.partDir(req.job, step, rank, part.saveId), name));
    for (const file of manifest.files) {
      const localPath = await firstExisting(
        locals.map((pathOf) => pathOf(file.name)),
        file.bytes,
      );
      files.push({ rank, ...(await restoreFile(deps, file, join(dir, file.name), localPath, req.concurrency ?? 4)) });
    }
  }
  return { step, files };
}

async function firstExisting(paths: string[], bytes: number): Promise<string | undefined> {
  for (const p of paths) if ((await stat(p).catch(() => undefined))?.size === bytes) return p;
  return undefined;
}

type Reader = { name: 'local' | 's3'; read: (start: number, end: number) => Promise<Buffer | undefined> };

async function restoreFile(deps: RestoreDeps, file: DurableFile, path: string, localPath: string | undefined, concurrency: number): Promise<Omit<RestoredFile, 'rank'>> {
  const local = localPath ? await open(localPath, 'r') : undefined;
  const readers: Reader[] = [
    ...(local ? [{ name: 'local' as const, read: (start: number, end: number) => readRange(local, start, end) }] : []),
    { name: 's3', read: (start, end) => (end > start ? getBytes(deps.s3, deps.bucket, file.key, { start, end }) : Promise.resolve(Buffer.alloc(0))) },
  ];
  const tmp = `${path}.partial`;
  const out = await open(tmp, 'w');
  const whole = createHash('sha256');
  const used = new Set<string>();
  let repairedParts = 0;
  try {
    const fetchPart = async (i: number): Promise<Buffer> => {
      const start = i * file.partSize;
      const end = Math.min(file.bytes, start + file.partSize);
      for (const [n, reader] of readers.entries()) {
        const bytes = await reader.read(start, end).catch(() => undefined);
        if (bytes && bytes.length === end - start && createHash('sha256').update(bytes).digest('hex') === file.parts[i]) {
          if (n > 0) repairedParts++;
          used.add(reader.name);
          return bytes;
        }
      }
      throw new CorruptCheckpoint(`part ${i} of ${file.name} matches its sha256 in no copy (${readers.map((r) => r.name).join(', ')})`);
    };
    // A window of parts read ahead, written and hashed in order.
    const window: Promise<Buffer>[] = [];
    for (let next = 0, i = 0; i < file.parts.length; i++) {
      while (next < file.parts.length && next < i + concurrency) {
        const ahead = fetchPart(next++);
        ahead.catch(() => undefined); // awaited in turn below; a failure is not left unhandled meanwhile
        window.push(ahead);
      }
      const bytes = await (window.shift() as Promise<Buffer>);
      whole.update(bytes);
      await out.write(bytes, 0, bytes.length, i * file.partSize);
    }
    const sha256 = whole.digest('hex');
    if (sha256 !== file.sha256) throw new CorruptCheckpoint(`${file.name}: sha256 ${sha256} is not the manifest's ${file.sha256}`);
    await out.close();
    await rename(tmp, path);
    const source = used.size > 1 ? 'mixed' : used.has('local') ? 'local' : 's3';
    return { name: file.name, path, bytes: file.bytes, sha256, source, repairedParts };
  } catch (err) {
    await out.close().catch(() => undefined);
    await rm(tmp, { force: true });
    throw err;
  } finally {
    await local?.close();
  }
}

async function readRange(fh: FileHandle, start: number, end: number): Promise<Buffer> {
  const buf = Buffer.alloc(end - start);
  let got = 0;
  while (got < buf.length) {
    const { bytesRead } = await fh.read(buf, got, buf.length - got, start + got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}
