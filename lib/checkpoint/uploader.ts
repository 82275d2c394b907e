import type { Log } from '../log';
import type { RetentionSpec, DurableManifest, PartStatus, SpoolManifest } from './manifest';
import { parseSpoolManifest } from './manifest';
import { parseSpoolManifestPath } from './layout';
import type { CommitOutcome, DurableRef, RegisterOutcome } from './registry';
import { PartRejected } from './file-upload';
import { partLabel, type Spool } from './spool';

/** What the uploader needs of a clock (the agent's `Clock` fits). */
export interface UploaderClock {
  now(): number;
  sleep(ms: number): Promise<void>;
  every(ms: number, fn: () => void, opts?: { unref?: boolean }): () => void;
}

/** Where parts go: S3 and the registry (`S3CheckpointBackend`), or a fake in unit tests. */
export interface CheckpointBackend {
  /** Uploads every file of the part and its durable manifest. */
  upload(m: SpoolManifest, pathOf: (name: string) => string, opts: { signal: AbortSignal; onBytes: (n: number) => void }): Promise<{ durable: DurableManifest; ref: DurableRef }>;
  /** Records the upload in flight (operators see it); best effort. */
  markPending(m: SpoolManifest): Promise<void>;
  register(durable: DurableManifest, ref: DurableRef, retention?: RetentionSpec): Promise<RegisterOutcome>;
  /** This very save's durable manifest when the registry has it DURABLE already (an agent back from a crash). */
  findDurable(m: SpoolManifest): Promise<DurableManifest | undefined>;
  /** Commits the step when every rank is durable; writes its `_COMPLETE.json` when it is (or was) committed. */
  commit(job: string, step: number): Promise<CommitOutcome>;
  applyRetention(job: string, retention: RetentionSpec): Promise<number[]>;
}

/** What the uploader is doing and has done (metrics, status). */
export interface UploaderReport {
  /** Parts listed and waiting their turn (or their retry). */
  queued: number;
  uploading?: { part: string; bytes: number; sent: number };
  /** Parts handed off and not yet durable or failed for good: queued, retrying or uploading. */
  pending: number;
  /** How long the oldest pending part has been waiting since its hand-off (ms; 0 when none). */
  oldestPendingMs: number;
  durable: number;
  failed: number;
  /** Bytes of parts made durable by this uploader. */
  bytesUploaded: number;
  /** Bytes S3 acknowledged (every multipart part, also of uploads that failed later): the upload rate's counter. */
  bytesSent: number;
}

/** Reported for every part that becomes durable (metrics, tests). */
export interface DurableEvent {
  job: string;
  step: number;
  rank: number;
  bytes: number;
  /** From the end of `save()` to durable. */
  msToDurable: number;
  uploadMs: number;
  committed: boolean;
}

export interface UploaderOptions {
  spool: Spool;
  backend: CheckpointBackend;
  clock: UploaderClock;
  log: Log;
  node: string;
  /** How often the spool is scanned for new parts (local directory reads only: a few per scan). @default 200 */
  scanMs?: number;
  /** Finished steps kept in the spool per job, for fast restores on this host. @default 2 */
  keepLocalSteps?: number;
  onDurable?: (event: DurableEvent) => void;
}

const FIRST_RETRY_MS = 1000;
const MAX_RETRY_MS = 60_000;

/**
 * The agent part that makes checkpoints durable: scans the spool on a timer, uploads each handed-off
 * part (one at a time, oldest step first, its files in parallel multipart parts), registers it
 * DURABLE, commits the step when it was the last rank, and writes the status file back. It owns the
 * upload: the training process may exit as soon as `save()` returns, and after an agent restart the
 * spool is scanned again — a part the registry already holds for the same save is not uploaded twice.
 * Failures are retried with backoff; a part whose local copy is not what was handed off fails for good.
 */
export class CheckpointUploader {
  private readonly scanMs: number;
  private cancelScan?: () => void;
  private cancelWatch?: () => void;
  private scanning = false;
  /** A hand-off was signalled during a scan: scan again when it ends. */
  private rescan = false;
  /** Manifests to handle, and the version of each that was listed. */
  private readonly queued = new Map<string, string>();
  /** Manifests handled, at the version listed: a manifest replaced since (a step saved again) is handled again. */
  private readonly done = new Map<string, string>();
  private readonly retryAt = new Map<string, { at: number; delay: number }>();
  private current?: { rel: string; abort: AbortController; finished: Promise<void>; bytes: number; sent: number };
  private stopped = false;
  private counts = { durable: 0, failed: 0, bytes: 0, sent: 0 };
  /** Parts not yet finished, by manifest, with when they were handed off (the manifest's time, else when first listed). */
  private readonly pendingSince = new Map<string, number>();

  constructor(private readonly opts: UploaderOptions) {
    this.scanMs = opts.scanMs ?? 200;
  }

  /** Scans now, then every `scanMs`, and whenever a training process signals a hand-off. */
  start(): void {
    this.stopped = false;
    this.cancelScan = this.opts.clock.every(this.scanMs, () => void this.scan());
    this.cancelWatch = this.opts.spool.watchHandOffs?.(
      () => void this.scan(),
      (err) => this.opts.log('warn', 'checkpoint spool not watched; scanning on the timer only', { spool: this.opts.spool.dir, error: err.message }),
    );
    void this.scan();
  }

  /** What is going on (metrics, status). */
  report(): UploaderReport {
    const c = this.current;
    const oldest = Math.min(...this.pendingSince.values());
    return {
      queued: this.queued.size,
      ...(c ? { uploading: { part: c.rel, bytes: c.bytes, sent: c.sent } } : {}),
      pending: this.pendingSince.size,
      oldestPendingMs: Number.isFinite(oldest) ? Math.max(0, this.opts.clock.now() - oldest) : 0,
      durable: this.counts.durable,
      failed: this.counts.failed,
      bytesUploaded: this.counts.bytes,
      bytesSent: this.counts.sent,
    };
  }

  /**
   * Stops scanning and lets the upload in flight finish until `deadline` (epoch ms); past it the
   * upload is aborted (it resumes from the spool when an agent runs on this host again).
   */
  async stop(deadline = Number.POSITIVE_INFINITY): Promise<void> {
    this.stopped = true;
    this.cancelScan?.();
    this.cancelWatch?.();
    const current = this.current;
    if (!current) return;
    const left = deadline - this.opts.clock.now();
    if (Number.isFinite(left)) {
      const expired = await Promise.race([current.finished.then(() => false), this.opts.clock.sleep(Math.max(0, left)).then(() => true)]);
      if (expired) {
        this.opts.log('warn', 'checkpoint upload aborted by drain', { part: current.rel });
        current.abort.abort();
      }
    }
    await current.finished;
  }

  /** One pass over the spool: queues the parts not yet handled, then works through the queue. */
  async scan(): Promise<void> {
    if (this.stopped) return;
    if (this.scanning) {
      this.rescan = true;
      return;
    }
    this.scanning = true;
    this.rescan = false;
    try {
      const now = this.opts.clock.now();
      const listed = await this.opts.spool.listManifests();
      for (const { rel, version, handedOffAt } of listed) {
        if (this.done.get(rel) === version || this.current?.rel === rel) continue;
        if (!this.pendingSince.has(rel)) this.pendingSince.set(rel, Math.min(now, handedOffAt ?? now));
        const retry = this.retryAt.get(rel);
        if (retry && retry.at > now) continue;
        this.queued.set(rel, version);
      }
      // Forget what the spool no longer holds (steps pruned locally).
      const present = new Set(listed.map((m) => m.rel));
      for (const rel of this.done.keys()) if (!present.has(rel)) this.done.delete(rel);
      for (const rel of this.pendingSince.keys()) if (!present.has(rel)) this.pendingSince.delete(rel);
    } catch (err) {
      this.opts.log('error', 'checkpoint spool scan failed', { spool: this.opts.spool.dir, error: (err as Error).message });
    } finally {
      this.scanning = false;
    }
    if (this.rescan) return this.scan();
    await this.drainQueue();
  }

  private async drainQueue(): Promise<void> {
    while (!this.current && !this.stopped) {
      const rel = [...this.queued.keys()].sort()[0];
      if (rel === undefined) return;
      const version = this.queued.get(rel) as string;
      this.queued.delete(rel);
      const abort = new AbortController();
      let finish!: () => void;
      const finished = new Promise<void>((resolve) => (finish = resolve));
      this.current = { rel, abort, finished, bytes: 0, sent: 0 };
      try {
        await this.handle(rel, abort.signal);
        this.done.set(rel, version);
        this.retryAt.delete(rel);
        this.pendingSince.delete(rel);
      } catch (err) {
        const previous = this.retryAt.get(rel)?.delay;
        const delay = previous === undefined ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, previous * 2);
        this.retryAt.set(rel, { at: this.opts.clock.now() + delay, delay });
        this.opts.log('warn', 'checkpoint upload failed; will retry', { part: rel, retryInMs: delay, error: (err as Error).message });
      } finally {
        this.current = undefined;
        finish();
      }
    }
  }

  /** Takes one part as far as it goes: durable, committed if it was the last rank, status written. */
  private async handle(rel: string, signal: AbortSignal): Promise<void> {
    const { spool, backend, clock, log, node } = this.opts;
    const where = parseSpoolManifestPath(rel) as { job: string; step: number; rank: number };
    let m: SpoolManifest;
    try {
      m = parseSpoolManifest(await spool.readManifest(rel));
      if (m.job !== where.job || m.step !== where.step || m.rank !== where.rank) throw new Error(`the manifest names ${partLabel(m.job, m.step, m.rank)}, not its place in the spool`);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // pruned or replaced meanwhile
      return this.fail(where, 'unknown', `unreadable part manifest: ${(err as Error).message}`);
    }
    const status = await spool.readStatus(m.job, m.step, m.rank);
    if (status?.saveId === m.saveId && (status.state === 'COMPLETE' || status.state === 'FAILED')) return;
    let durable = status?.saveId === m.saveId && status.state === 'DURABLE' ? status.durable : undefined;
    let uploadMs = 0;
    let fresh = false;
    // A part with no status was never picked up by an agent: it cannot be in the registry yet.
    if (!durable && status?.saveId === m.saveId) durable = await backend.findDurable(m);
    if (!durable) {
      const bytes = m.files.reduce((n, f) => n + f.bytes, 0);
      if (this.current) this.current.bytes = bytes;
      await spool.writeStatus(m.job, m.step, m.rank, { state: 'UPLOADING', saveId: m.saveId, node, at: new Date(clock.now()).toISOString() });
      // Alongside the upload, not before it: a PENDING mark that lands late cannot replace DURABLE (it is conditional).
      const pending = backend.markPending(m).catch((err) => log('warn', 'checkpoint pending mark failed', { part: rel, error: (err as Error).message }));
      const started = clock.now();
      let uploaded;
      try {
        uploaded = await backend.upload(m, (name) => spool.filePath(m.job, m.step, m.rank, m.saveId, name), {
          signal,
          onBytes: (n) => {
            this.counts.sent += n;
            if (this.current) this.current.sent += n;
          },
        });
      } catch (err) {
        if (err instanceof PartRejected) return this.fail(m, m.saveId, err.message);
        throw err;
      }
      await pending;
      const registered = await backend.register(uploaded.durable, uploaded.ref, m.retention);
      if (registered.outcome === 'refused') return this.fail(m, m.saveId, `registry refused the part: ${registered.reason}`);
      durable = uploaded.durable;
      uploadMs = clock.now() - started;
      fresh = true;
      this.counts.bytes += durable.bytes;
    }
    await spool.writeStatus(m.job, m.step, m.rank, { state: 'DURABLE', saveId: m.saveId, node, at: new Date(clock.now()).toISOString(), durable });
    const outcome = await backend.commit(m.job, m.step);
    const now = clock.now();
    if (fresh) {
      this.counts.durable++;
      const msToDurable = Math.max(0, now - Date.parse(m.savedAt));
      log('info', 'checkpoint part durable', { job: m.job, step: m.step, rank: m.rank, bytes: durable.bytes, uploadMs, msToDurable, commit: outcome });
      this.opts.onDurable?.({ job: m.job, step: m.step, rank: m.rank, bytes: durable.bytes, msToDurable, uploadMs, committed: outcome === 'committed' });
    }
    if (outcome !== 'not-ready') {
      await spool.writeStatus(m.job, m.step, m.rank, { state: 'COMPLETE', saveId: m.saveId, node, at: new Date(now).toISOString(), durable, completedAt: new Date(now).toISOString() });
    }
    if (outcome === 'committed') {
      log('info', 'checkpoint step complete', { job: m.job, step: m.step, worldSize: m.worldSize });
      if (m.retention) {
        const pruned = await backend.applyRetention(m.job, m.retention).catch((err) => {
          log('warn', 'checkpoint retention failed', { job: m.job, error: (err as Error).message });
          return [];
        });
        if (pruned.length > 0) log('info', 'checkpoint steps pruned', { job: m.job, steps: pruned });
      }
    }
    const removed = await spool.pruneLocal(m.job, this.opts.keepLocalSteps ?? 2).catch(() => []);
    if (removed.length > 0) log('debug', 'local checkpoint copies removed', { job: m.job, steps: removed });
  }

  private async fail(where: { job: string; step: number; rank: number }, saveId: string, error: string): Promise<void> {
    this.counts.failed++;
    this.opts.log('error', 'checkpoint part failed', { part: partLabel(where.job, where.step, where.rank), error });
    const status: PartStatus = { state: 'FAILED', saveId, node: this.opts.node, at: new Date(this.opts.clock.now()).toISOString(), error };
    await this.opts.spool.writeStatus(where.job, where.step, where.rank, status);
  }
}
