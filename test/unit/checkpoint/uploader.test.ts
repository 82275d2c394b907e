import { PartRejected } from '../../../lib/checkpoint/file-upload';
import { parseSpoolManifestPath, spoolPaths } from '../../../lib/checkpoint/layout';
import { DURABLE_FORMAT, PART_FORMAT, type DurableManifest, type PartStatus, type SpoolManifest } from '../../../lib/checkpoint/manifest';
import type { CommitOutcome } from '../../../lib/checkpoint/registry';
import type { Spool } from '../../../lib/checkpoint/spool';
import { CheckpointUploader, type CheckpointBackend } from '../../../lib/checkpoint/uploader';
import { memoryLog } from '../agent/fakes';
import { VirtualClock } from '../agent/virtual-clock';

/** A spool in memory: manifests by relative path, status files by part. */
class MemorySpool implements Spool {
  readonly dir = '/spool';
  manifests = new Map<string, string>();
  versions = new Map<string, number>();
  statuses = new Map<string, PartStatus[]>();
  async listManifests() {
    return [...this.manifests.keys()].map((rel) => ({ rel, version: String(this.versions.get(rel)) }));
  }
  async readManifest(rel: string) {
    const text = this.manifests.get(rel);
    if (text === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' });
    return text;
  }
  async readStatus(job: string, step: number, rank: number) {
    return this.statuses.get(spoolPaths.status(job, step, rank))?.at(-1);
  }
  async writeStatus(job: string, step: number, rank: number, status: PartStatus) {
    const key = spoolPaths.status(job, step, rank);
    this.statuses.set(key, [...(this.statuses.get(key) ?? []), status]);
  }
  filePath(job: string, step: number, rank: number, saveId: string, name: string) {
    return `/spool/${spoolPaths.partDir(job, step, rank, saveId)}/${name}`;
  }
  async writeAgentInfo() {}
  async pruneLocal() {
    return [];
  }
  /** Set while the uploader watches for hand-offs: what `save()`'s touch of `.handoff` triggers. */
  handOff?: () => void;
  watchHandOffs(onHandOff: () => void) {
    this.handOff = onHandOff;
    return () => (this.handOff = undefined);
  }
  /** What a training process does: the manifest appears whole. */
  save(step: number, rank: number, worldSize = 1, saveId = `abcdef${step}${rank}`.padEnd(8, '0')) {
    const m: SpoolManifest = {
      format: PART_FORMAT,
      job: 'llm',
      step,
      rank,
      worldSize,
      attempt: 0,
      saveId,
      savedAt: new Date(0).toISOString(),
      files: [{ name: 'model.pt', bytes: 100 }],
      metadata: {},
    };
    const rel = spoolPaths.manifest('llm', step, rank);
    this.manifests.set(rel, JSON.stringify(m));
    this.versions.set(rel, (this.versions.get(rel) ?? 0) + 1);
    return m;
  }
  states(step: number, rank: number) {
    return (this.statuses.get(spoolPaths.status('llm', step, rank)) ?? []).map((s) => s.state);
  }
}

/** S3 and the registry in memory; each upload takes `uploadMs` of virtual time. */
class FakeBackend implements CheckpointBackend {
  uploads: Array<{ part: string; at: number }> = [];
  failures: Array<Error> = [];
  durable = new Map<string, DurableManifest>();
  ranks = new Map<number, Set<number>>();
  committed = new Set<number>();
  aborted = 0;
  constructor(
    private readonly clock: VirtualClock,
    private readonly uploadMs = 2000,
  ) {}
  async upload(m: SpoolManifest, _pathOf: (name: string) => string, opts: { signal: AbortSignal; onBytes: (n: number) => void }) {
    this.uploads.push({ part: `${m.step}/${m.rank}`, at: this.clock.now() });
    opts.onBytes(60); // S3 acknowledged a first part
    const aborted = new Promise<never>((_, reject) => opts.signal.addEventListener('abort', () => (this.aborted++, reject(new Error('aborted')))));
    await Promise.race([this.clock.sleep(this.uploadMs), aborted]);
    const failure = this.failures.shift();
    if (failure) throw failure;
    const durable: DurableManifest = { ...m, format: DURABLE_FORMAT, bucket: 'b', durableAt: '', node: 'n', bytes: 100, files: [] };
    return { durable, ref: { manifestKey: 'k', manifestSha256: 's' } };
  }
  async markPending() {}
  async register(d: DurableManifest) {
    this.durable.set(`${d.step}/${d.rank}/${d.saveId}`, d);
    const set = this.ranks.get(d.step) ?? new Set();
    set.add(d.rank);
    this.ranks.set(d.step, set);
    return { outcome: 'registered' as const, complete: false };
  }
  async findDurable(m: SpoolManifest) {
    return this.durable.get(`${m.step}/${m.rank}/${m.saveId}`);
  }
  async commit(_job: string, step: number): Promise<CommitOutcome> {
    if (this.committed.has(step)) return 'complete';
    const world = this.worldOf.get(step) ?? 1;
    if ((this.ranks.get(step)?.size ?? 0) < world) return 'not-ready';
    this.committed.add(step);
    return 'committed';
  }
  worldOf = new Map<number, number>();
  async applyRetention() {
    return [];
  }
}

function setup(uploadMs = 2000) {
  const clock = new VirtualClock(1_000_000);
  const spool = new MemorySpool();
  const backend = new FakeBackend(clock, uploadMs);
  const log = memoryLog();
  const events: number[] = [];
  const make = () => new CheckpointUploader({ spool, backend, clock, log, node: 'node-a', scanMs: 500, onDurable: (e) => events.push(e.step) });
  return { clock, spool, backend, log, events, make };
}

describe('CheckpointUploader', () => {
  it('picks a handed-off part up on the next scan and marks it DURABLE, then COMPLETE', async () => {
    const { clock, spool, backend, make } = setup();
    const uploader = make();
    uploader.start();
    await clock.advance(200);
    spool.save(1, 0);
    await clock.advance(300);
    expect(backend.uploads.map((u) => u.at - 1_000_000)).toEqual([500]);
    expect(spool.states(1, 0)).toEqual(['UPLOADING']);
    await clock.advance(2000);
    expect(spool.states(1, 0)).toEqual(['UPLOADING', 'DURABLE', 'COMPLETE']);
    await uploader.stop();
  });

  it('picks a part up at once when its hand-off is signalled, not at the next scan', async () => {
    const { clock, spool, backend, make } = setup();
    const uploader = make();
    uploader.start();
    await clock.advance(200);
    spool.save(1, 0);
    spool.handOff?.();
    await clock.advance(0);
    expect(backend.uploads.map((u) => u.at - 1_000_000)).toEqual([200]);
    await clock.advance(2000);
    await uploader.stop();
    expect(spool.handOff).toBeUndefined();
  });

  it('scans again when a hand-off is signalled during a scan', async () => {
    const { clock, spool, backend, make } = setup();
    const uploader = make();
    uploader.start(); // the first scan is under way (listing the spool)
    spool.save(1, 0);
    spool.handOff?.();
    await clock.advance(0);
    expect(backend.uploads.map((u) => u.at - 1_000_000)).toEqual([0]);
    await clock.advance(2000);
    await uploader.stop();
  });

  it('uploads a part once although scans go on while it uploads', async () => {
    const { clock, spool, backend, make } = setup(5000);
    spool.save(1, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(10_000);
    expect(backend.uploads).toHaveLength(1);
    await uploader.stop();
  });

  it('commits the step only when the last rank is durable', async () => {
    const { clock, spool, backend, make } = setup(1000);
    backend.worldOf.set(7, 2);
    spool.save(7, 0, 2);
    const uploader = make();
    uploader.start();
    await clock.advance(1500);
    expect(spool.states(7, 0)).toEqual(['UPLOADING', 'DURABLE']);
    expect(backend.committed.has(7)).toBe(false);
    spool.save(7, 1, 2);
    await clock.advance(2000);
    expect(spool.states(7, 1)).toEqual(['UPLOADING', 'DURABLE', 'COMPLETE']);
    expect(backend.committed.has(7)).toBe(true);
    await uploader.stop();
  });

  it('handles a part again when its step is saved again during the upload of the first save', async () => {
    const { clock, spool, backend, make } = setup(1000);
    backend.worldOf.set(1, 2);
    spool.save(1, 0, 2, 'aaaaaaaa');
    const uploader = make();
    uploader.start();
    await clock.advance(500);
    const second = spool.save(1, 0, 2, 'bbbbbbbb');
    await clock.advance(3000);
    expect(backend.uploads.map((u) => u.part)).toEqual(['1/0', '1/0']);
    expect((await spool.readStatus('llm', 1, 0))?.saveId).toBe(second.saveId);
    await uploader.stop();
  });

  it('uploads the oldest step first', async () => {
    const { clock, spool, backend, make } = setup(100);
    spool.save(30, 0);
    spool.save(10, 0);
    spool.save(20, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(1000);
    expect(backend.uploads.map((u) => u.part)).toEqual(['10/0', '20/0', '30/0']);
    await uploader.stop();
  });

  it('retries a failed upload after 1 s, then 2 s', async () => {
    const { clock, spool, backend, log, make } = setup(100);
    backend.failures.push(new Error('SlowDown'), new Error('SlowDown'));
    spool.save(1, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(5000);
    // Failed at 100 and (retry due 1100, next scan 1500) at 1600; due again at 3600.
    expect(backend.uploads.map((u) => u.at - 1_000_000)).toEqual([0, 1500, 4000]);
    expect(spool.states(1, 0).at(-1)).toBe('COMPLETE');
    expect(log.said('checkpoint upload failed; will retry')).toBe(2);
    await uploader.stop();
  });

  it('reports a part pending, and for how long, until it is durable (the stalled-checkpoint alarm reads this)', async () => {
    const { clock, spool, backend, make } = setup(100);
    backend.failures.push(new Error('SlowDown'), new Error('SlowDown'));
    const uploader = make();
    uploader.start();
    expect(uploader.report()).toMatchObject({ pending: 0, oldestPendingMs: 0 });
    spool.save(1, 0);
    await clock.advance(600); // listed at 500, failed at 600
    expect(uploader.report()).toMatchObject({ pending: 1, oldestPendingMs: 100, failed: 0 });
    await clock.advance(1000);
    expect(uploader.report()).toMatchObject({ pending: 1, oldestPendingMs: 1100 });
    await clock.advance(4000);
    expect(uploader.report()).toMatchObject({ pending: 0, oldestPendingMs: 0, durable: 1, bytesUploaded: 100, bytesSent: 180 });
    await uploader.stop();
  });

  it('fails a part whose local copy is not what was handed off, and does not retry it', async () => {
    const { clock, spool, backend, make } = setup(100);
    backend.failures.push(new PartRejected('model.pt has 99 bytes'));
    spool.save(1, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(5000);
    expect(backend.uploads).toHaveLength(1);
    expect(spool.states(1, 0)).toEqual(['UPLOADING', 'FAILED']);
    await uploader.stop();
  });

  it('after a restart, commits a part the registry already holds without uploading it again', async () => {
    const { clock, spool, backend, events, make } = setup(1000);
    const m = spool.save(1, 0);
    await backend.register({ ...m, format: DURABLE_FORMAT, bucket: 'b', durableAt: '', node: 'n', bytes: 100, files: [] });
    spool.statuses.set(spoolPaths.status('llm', 1, 0), [{ state: 'UPLOADING', saveId: m.saveId, node: 'n', at: '' }]);
    const uploader = make();
    uploader.start();
    await clock.advance(100);
    expect(backend.uploads).toHaveLength(0);
    expect(spool.states(1, 0).at(-1)).toBe('COMPLETE');
    expect(events).toEqual([]); // nothing newly durable
    await uploader.stop();
  });

  it('lets the upload in flight finish when stopped before its deadline', async () => {
    const { clock, spool, backend, make } = setup(2000);
    spool.save(1, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(500);
    let stopped = false;
    const stopping = uploader.stop(clock.now() + 10_000).then(() => (stopped = true));
    await clock.advance(1499);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(spool.states(1, 0).at(-1)).toBe('COMPLETE');
    expect(backend.aborted).toBe(0);
  });

  it('aborts the upload in flight at the drain deadline; it resumes from the spool later', async () => {
    const { clock, spool, backend, make } = setup(60_000);
    spool.save(1, 0);
    const uploader = make();
    uploader.start();
    await clock.advance(100);
    const stopping = uploader.stop(clock.now() + 3000);
    await clock.advance(3000);
    await stopping;
    expect(backend.aborted).toBe(1);
    expect(spool.states(1, 0)).toEqual(['UPLOADING']);
    const again = make();
    backend.failures = [];
    again.start();
    await clock.advance(60_000);
    expect(spool.states(1, 0).at(-1)).toBe('COMPLETE');
    await again.stop();
  });

  it('parses its manifests paths strictly', () => {
    expect(parseSpoolManifestPath('llm/000000000007/rank-00001.part.json')).toEqual({ job: 'llm', step: 7, rank: 1 });
    expect(parseSpoolManifestPath('llm/7/rank-00001.part.json')).toBeUndefined();
    expect(parseSpoolManifestPath('llm/000000000007/rank-00001.status.json')).toBeUndefined();
  });
});
