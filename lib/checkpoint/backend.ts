import { HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { partSizeFor, putJson, uploadFile } from './file-upload';
import { s3Keys } from './layout';
import { DURABLE_FORMAT, type DurableFile, type DurableManifest, type RetentionSpec, type SpoolManifest } from './manifest';
import { applyRetention } from './prune';
import type { CheckpointRegistry, CommitOutcome, DurableRef } from './registry';
import { getJson } from './s3-objects';
import type { ByteThrottle } from './throttle';
import type { CheckpointBackend } from './uploader';

/** Format tag of `_COMPLETE.json`. */
export const COMPLETE_FORMAT = 'shardline.checkpoint-complete/v1';

/** `checkpoints/<job>/<step>/_COMPLETE.json`: written after the commit, for readers that use S3 only. */
export interface CompleteMarker {
  format: typeof COMPLETE_FORMAT;
  job: string;
  step: number;
  attempt: number;
  worldSize: number;
  completedAt: string;
  committedBy?: string;
  bytes: number;
  parts: Array<{ rank: number; saveId: string; manifestKey: string; manifestSha256: string; bytes: number; node: string }>;
}

export interface S3BackendOptions {
  s3: S3Client;
  registry: CheckpointRegistry;
  bucket: string;
  node: string;
  now: () => number;
  /** Preferred multipart part size (raised for files over ~140 GB). @default 16 MiB */
  partSize?: number;
  /** Multipart parts in flight at once, per host. @default 4 */
  concurrency?: number;
  throttle?: ByteThrottle;
}

/** Parts go to the processed bucket under `checkpoints/`, and into the registry in the ledger table. */
export class S3CheckpointBackend implements CheckpointBackend {
  constructor(private readonly o: S3BackendOptions) {}

  async upload(m: SpoolManifest, pathOf: (name: string) => string, opts: { signal: AbortSignal; onBytes: (n: number) => void }): Promise<{ durable: DurableManifest; ref: DurableRef }> {
    const { s3, bucket } = this.o;
    const files: DurableFile[] = [];
    // One file at a time, each in `concurrency` parallel parts: a part's bandwidth is bounded per host.
    for (const f of m.files) {
      const key = s3Keys.file(m.job, m.step, m.rank, m.saveId, f.name);
      const up = await uploadFile(s3, {
        bucket,
        key,
        path: pathOf(f.name),
        bytes: f.bytes,
        expectedSha256: f.sha256,
        partSize: partSizeFor(f.bytes, this.o.partSize),
        queueSize: this.o.concurrency ?? 4,
        throttle: this.o.throttle,
        signal: opts.signal,
        onBytes: opts.onBytes,
      });
      files.push({ name: f.name, key, bytes: up.bytes, sha256: up.sha256, partSize: up.partSize, parts: up.parts });
    }
    const durable: DurableManifest = {
      format: DURABLE_FORMAT,
      job: m.job,
      step: m.step,
      rank: m.rank,
      worldSize: m.worldSize,
      attempt: m.attempt,
      saveId: m.saveId,
      bucket,
      savedAt: m.savedAt,
      durableAt: new Date(this.o.now()).toISOString(),
      node: this.o.node,
      bytes: files.reduce((n, f) => n + f.bytes, 0),
      metadata: m.metadata,
      files,
    };
    const manifestKey = s3Keys.manifest(m.job, m.step, m.rank, m.saveId);
    const manifestSha256 = await putJson(s3, bucket, manifestKey, durable);
    return { durable, ref: { manifestKey, manifestSha256 } };
  }

  async markPending(m: SpoolManifest): Promise<void> {
    await this.o.registry.markPending(m, this.o.node, this.o.now());
  }

  register(durable: DurableManifest, ref: DurableRef, retention?: RetentionSpec) {
    return this.o.registry.register(durable, ref, this.o.now(), retention);
  }

  async findDurable(m: SpoolManifest): Promise<DurableManifest | undefined> {
    const part = await this.o.registry.part(m.job, m.step, m.rank);
    if (part?.state !== 'DURABLE' || part.saveId !== m.saveId || !part.manifestKey) return undefined;
    return getJson<DurableManifest>(this.o.s3, this.o.bucket, part.manifestKey, part.manifestSha256);
  }

  async commit(job: string, step: number): Promise<CommitOutcome> {
    const outcome = await this.o.registry.commit(job, step, this.o.node, this.o.now());
    if (outcome !== 'not-ready') await this.ensureMarker(job, step);
    return outcome;
  }

  applyRetention(job: string, retention: RetentionSpec): Promise<number[]> {
    return applyRetention({ s3: this.o.s3, registry: this.o.registry, bucket: this.o.bucket, now: this.o.now }, job, retention);
  }

  /** Writes the step's `_COMPLETE.json` from the registry unless it exists (a committer that died before writing it). */
  async ensureMarker(job: string, step: number): Promise<void> {
    const key = s3Keys.complete(job, step);
    const exists = await this.o.s3.send(new HeadObjectCommand({ Bucket: this.o.bucket, Key: key })).then(
      () => true,
      (err: Error) => {
        if (err.name === 'NotFound' || err.name === 'NoSuchKey') return false;
        throw err;
      },
    );
    if (exists) return;
    await putJson(this.o.s3, this.o.bucket, key, await completeMarker(this.o.registry, job, step));
  }
}

/** The `_COMPLETE.json` of a committed step, from the registry. */
export async function completeMarker(registry: CheckpointRegistry, job: string, step: number): Promise<CompleteMarker> {
  const [item, parts] = await Promise.all([registry.step(job, step), registry.parts(job, step)]);
  if (item?.state !== 'COMPLETE') throw new Error(`step ${step} of ${job} is not complete`);
  const mine = parts.filter((p) => p.state === 'DURABLE' && p.attempt === item.attempt && p.manifestKey && p.manifestSha256).sort((a, b) => a.rank - b.rank);
  if (mine.length !== item.worldSize) throw new Error(`step ${step} of ${job} is complete but lists ${mine.length} of ${item.worldSize} parts`);
  return {
    format: COMPLETE_FORMAT,
    job,
    step,
    attempt: item.attempt,
    worldSize: item.worldSize,
    completedAt: new Date(item.completedAt ?? 0).toISOString(),
    committedBy: item.committedBy,
    bytes: mine.reduce((n, p) => n + p.bytes, 0),
    parts: mine.map((p) => ({ rank: p.rank, saveId: p.saveId, manifestKey: p.manifestKey as string, manifestSha256: p.manifestSha256 as string, bytes: p.bytes, node: p.node })),
  };
}
