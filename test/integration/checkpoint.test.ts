import { GetObjectCommand, ListObjectVersionsCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { realClock } from '../../lib/agent/clock';
import { writeLocalState } from '../../lib/aws/local-state';
import { wireCheckpointUploader, type CheckpointPart } from '../../lib/checkpoint/agent-part';
import { S3CheckpointBackend, type CompleteMarker } from '../../lib/checkpoint/backend';
import type { JobView } from '../../lib/checkpoint/job-view';
import { s3Keys, spoolPaths } from '../../lib/checkpoint/layout';
import type { PartStatus } from '../../lib/checkpoint/manifest';
import { applyRetention } from '../../lib/checkpoint/prune';
import { CheckpointRegistry } from '../../lib/checkpoint/registry';
import { CorruptCheckpoint, restoreCheckpoint } from '../../lib/checkpoint/restore';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { SHARDLINE_FROM_SOURCES } from '../support/cli';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { waitFor } from '../support/wait';
import { savePart } from '../unit/checkpoint/spool-writer';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const quiet = () => undefined;

/**
 * Two "hosts" (two spool directories, each with its own uploader, as two agents would run) against
 * a local endpoint with the stack provisioned: parts go up in multipart parts, the step commits
 * when the last rank is durable, and restores give the bytes back, checked part by part.
 */
describe('checkpoints (uploader, registry and restore against a local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let registry: CheckpointRegistry;
  let bucket: string;
  let root: string;
  const spools = ['host-a', 'host-b'];
  const uploaders: CheckpointPart[] = [];

  const spoolOf = (i: number) => join(root, spools[i]);
  const statusOf = async (i: number, job: string, step: number, rank: number) =>
    JSON.parse(await readFile(join(spoolOf(i), spoolPaths.status(job, step, rank)), 'utf8').catch(() => '{}')) as Partial<PartStatus>;
  const whenState = (i: number, job: string, step: number, rank: number, state: string) => waitFor(async () => (await statusOf(i, job, step, rank)).state === state || undefined, 60_000, 100);

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    bucket = env.resources.processedBucket;
    registry = new CheckpointRegistry(env.clients.doc, env.resources.ledgerTable);
    root = await mkdtemp(join(tmpdir(), 'shardline-ckpt-'));
    for (const [i, node] of spools.entries()) {
      const part = wireCheckpointUploader(
        { s3: env.clients.s3, doc: env.clients.doc, bucket, ledgerTable: env.resources.ledgerTable, node, clock: realClock, log: quiet },
        { dir: spoolOf(i), scanMs: 100, concurrency: 3, keepLocalSteps: 10, endpoint: env.server.endpoint },
      );
      await part.start();
      uploaders.push(part);
    }
  });

  afterAll(async () => {
    await Promise.all(uploaders.map((u) => u.stop()));
    await env?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('uploads two ranks from two hosts, commits the step once, and restores identical bytes elsewhere', async () => {
    const files: Array<Record<string, Buffer>> = [
      { 'model.pt': randomBytes(21 * MiB), 'meta.json': Buffer.from('{"lr": 0.1}') },
      { 'model.pt': randomBytes(33 * MiB + 7), 'empty.bin': Buffer.alloc(0) },
    ];
    await Promise.all([0, 1].map((rank) => savePart(spoolOf(rank), { job: 'llm', step: 100, rank, worldSize: 2, files: files[rank] })));
    await Promise.all([0, 1].map((rank) => waitFor(async () => ['DURABLE', 'COMPLETE'].includes((await statusOf(rank, 'llm', 100, rank)).state ?? '') || undefined, 60_000, 100)));
    const latest = await waitFor(() => registry.latest('llm'), 10_000, 100);
    expect(latest.step).toBe(100);
    // The committer's status says COMPLETE (soon after the commit: it writes the marker first).
    await waitFor(async () => (await Promise.all([0, 1].map((rank) => statusOf(rank, 'llm', 100, rank)))).some((s) => s.state === 'COMPLETE') || undefined, 10_000, 50);
    const step = await registry.step('llm', 100);
    expect([step?.state, step?.committedBy && spools.includes(step.committedBy)]).toEqual(['COMPLETE', true]);
    // 21 MiB in 16 MiB parts: two parts, each with its sha256 (rank 1's 33 MiB file is hashed on a worker thread).
    const status = await statusOf(0, 'llm', 100, 0);
    expect(status.durable?.files.find((f) => f.name === 'model.pt')?.parts).toHaveLength(2);

    const marker = JSON.parse(await s3Text(s3Keys.complete('llm', 100))) as CompleteMarker;
    expect(marker.parts.map((p) => p.rank)).toEqual([0, 1]);

    const dest = join(root, 'restore-1');
    const restored = await restoreCheckpoint({ s3: env.clients.s3, registry, bucket }, { job: 'llm', dest });
    expect(restored.step).toBe(100);
    for (const rank of [0, 1]) {
      for (const [name, bytes] of Object.entries(files[rank])) expect(sha(await readFile(join(dest, `rank-0000${rank}`, name)))).toBe(sha(bytes));
    }
    expect(new Set(restored.files.map((f) => f.source))).toEqual(new Set(['s3']));
  });

  it('never completes a step one rank never saves', async () => {
    await savePart(spoolOf(0), { job: 'half', step: 1, rank: 0, worldSize: 2, files: { 'w.bin': randomBytes(MiB) } });
    await whenState(0, 'half', 1, 0, 'DURABLE');
    await new Promise((r) => setTimeout(r, 500));
    expect(await registry.latest('half')).toBeUndefined();
    expect((await registry.step('half', 1))?.state).toBe('PENDING');
    await expect(restoreCheckpoint({ s3: env.clients.s3, registry, bucket }, { job: 'half', step: 1, dest: join(root, 'no') })).rejects.toThrow(/not complete/);
  });

  it('detects a corrupted part on restore and reads it from the other copy', async () => {
    const model = randomBytes(18 * MiB);
    await savePart(spoolOf(0), { job: 'fix', step: 5, rank: 0, worldSize: 1, files: { 'model.pt': model } });
    await whenState(0, 'fix', 5, 0, 'COMPLETE');
    const local = join(spoolOf(0), spoolPaths.partDir('fix', 5, 0, (await registry.part('fix', 5, 0))?.saveId as string), 'model.pt');
    // A flipped byte in the second part of the local copy: that part comes from S3, the rest stays local.
    await flipByte(local, 9 * MiB);
    const a = await restoreCheckpoint({ s3: env.clients.s3, registry, bucket }, { job: 'fix', dest: join(root, 'fix-a'), localCopies: [spoolOf(0)] });
    expect(a.files[0]).toMatchObject({ source: 'mixed', repairedParts: 1 });
    expect(sha(await readFile(join(root, 'fix-a', 'model.pt')))).toBe(sha(model));

    // The S3 copy overwritten with other bytes (a newer version of the key): the local copy serves.
    await flipByte(local, 9 * MiB); // repaired locally again
    const key = s3Keys.file('fix', 5, 0, (await registry.part('fix', 5, 0))?.saveId as string, 'model.pt');
    const tampered = Buffer.from(model);
    tampered[100] ^= 0xff;
    await env.clients.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: tampered }));
    const b = await restoreCheckpoint({ s3: env.clients.s3, registry, bucket }, { job: 'fix', dest: join(root, 'fix-b'), localCopies: [spoolOf(0)] });
    expect(b.files[0]).toMatchObject({ source: 'local', repairedParts: 0 });
    expect(sha(await readFile(join(root, 'fix-b', 'model.pt')))).toBe(sha(model));

    // No good copy left: refused, and nothing half-written is left behind.
    await flipByte(local, 100);
    await expect(restoreCheckpoint({ s3: env.clients.s3, registry, bucket }, { job: 'fix', dest: join(root, 'fix-c'), localCopies: [spoolOf(0)] })).rejects.toThrow(CorruptCheckpoint);
    await expect(readFile(join(root, 'fix-c', 'model.pt'))).rejects.toThrow(/ENOENT/);
  });

  it('prunes down to the newest K complete steps, keeping every Nth, with their objects and items', async () => {
    for (const step of [10, 20, 30, 40, 50]) {
      await savePart(spoolOf(1), { job: 'keep', step, rank: 0, worldSize: 1, files: { 'w.bin': randomBytes(64 * 1024) } });
      await whenState(1, 'keep', step, 0, 'COMPLETE');
    }
    const pruned = await applyRetention({ s3: env.clients.s3, registry, bucket, now: Date.now }, 'keep', { keepLast: 2, keepEvery: 20 });
    expect(pruned).toEqual([10, 30]);
    expect((await registry.steps('keep')).map((s) => s.step)).toEqual([20, 40, 50]);
    expect((await registry.completeSteps('keep')).map((s) => s.step)).toEqual([50, 40, 20]);
    // Agents may not delete versions: pruned objects are noncurrent, left to the lifecycle rule.
    for (const step of [10, 30]) {
      const { current, noncurrent } = await versionsUnder(s3Keys.step('keep', step));
      expect([current, noncurrent > 0]).toEqual([0, true]);
    }
    expect((await versionsUnder(s3Keys.step('keep', 50))).current).toBeGreaterThan(0);
  });

  it('applies the retention a job saves with, after each commit', async () => {
    for (const step of [1, 2, 3, 4]) {
      await savePart(spoolOf(0), { job: 'auto', step, rank: 0, worldSize: 1, files: { 'w.bin': randomBytes(1024) }, retention: { keepLast: 2 } });
      await whenState(0, 'auto', step, 0, 'COMPLETE');
    }
    // The committer prunes after it wrote its COMPLETE status.
    await waitFor(async () => (await registry.steps('auto')).map((s) => s.step).join() === '3,4' || undefined, 10_000, 100);
    expect((await registry.completeSteps('auto')).map((s) => s.step)).toEqual([4, 3]);
  });

  it('lets a newer attempt start a step over, so that no complete step mixes attempts', async () => {
    await savePart(spoolOf(0), { job: 'elastic', step: 7, rank: 0, worldSize: 2, attempt: 0, files: { 'w.bin': Buffer.from('attempt 0') } });
    await whenState(0, 'elastic', 7, 0, 'DURABLE');
    const fresh = await Promise.all([0, 1].map((rank) => savePart(spoolOf(1), { job: 'elastic', step: 7, rank, worldSize: 2, attempt: 1, files: { 'w.bin': Buffer.from(`attempt 1 rank ${rank}`) } })));
    await waitFor(() => registry.latest('elastic'), 30_000, 100);
    // The committer (the last rank it took) writes `_COMPLETE.json` after the commit, then its COMPLETE status.
    await whenState(1, 'elastic', 7, 1, 'COMPLETE');
    const marker = JSON.parse(await s3Text(s3Keys.complete('elastic', 7))) as CompleteMarker;
    expect(marker.attempt).toBe(1);
    expect(marker.parts.map((p) => p.saveId)).toEqual(fresh.map((m) => m.saveId));
  });

  it('does not upload again a part the registry already holds for the same save (an agent back from a crash)', async () => {
    const m = await savePart(spoolOf(0), { job: 'again', step: 1, rank: 0, worldSize: 1, files: { 'w.bin': randomBytes(6 * MiB) } });
    await whenState(0, 'again', 1, 0, 'COMPLETE');
    // As if the agent died before writing its status: the status still says UPLOADING.
    await writeStatus(0, 'again', 1, 0, { state: 'UPLOADING', saveId: m.saveId, node: 'host-a', at: new Date().toISOString() });
    const backend = new S3CheckpointBackend({ s3: env.clients.s3, registry, bucket, node: 'host-a', now: Date.now });
    expect((await backend.findDurable(m))?.saveId).toBe(m.saveId);
    const restarted = wireCheckpointUploader(
      { s3: env.clients.s3, doc: env.clients.doc, bucket, ledgerTable: env.resources.ledgerTable, node: 'host-a', clock: realClock, log: quiet },
      { dir: spoolOf(0), scanMs: 100 },
    );
    await restarted.start();
    await whenState(0, 'again', 1, 0, 'COMPLETE');
    await restarted.stop();
    expect(await versionsUnder(s3Keys.file('again', 1, 0, m.saveId, 'w.bin'))).toEqual({ current: 1, noncurrent: 0 });
  });

  it('lets operators list, show, restore and prune through the CLI', async () => {
    const bytes = new Map<number, Buffer>();
    for (const step of [1, 2, 3]) {
      bytes.set(step, randomBytes(200_000));
      await savePart(spoolOf(0), { job: 'cli', step, rank: 0, worldSize: 1, files: { 'w.bin': bytes.get(step) as Buffer } });
      await whenState(0, 'cli', step, 0, 'COMPLETE');
    }
    await savePart(spoolOf(0), { job: 'cli', step: 4, rank: 0, worldSize: 2, files: { 'w.bin': Buffer.from('half') } });
    await whenState(0, 'cli', 4, 0, 'DURABLE');
    const stateDir = join(root, 'cli-state');
    await mkdir(stateDir, { recursive: true });
    await writeLocalState({ endpoint: env.server.endpoint, region: 'us-east-1', resources: env.resources, config: parsePipelineConfig({}), agents: [], stateDir, startedAt: new Date().toISOString() });
    const cli = async (...args: string[]) => (await promisify(execFile)(process.execPath, [...SHARDLINE_FROM_SOURCES, 'checkpoints', ...args, '--state-dir', stateDir], { timeout: 60_000 })).stdout;

    const listed = JSON.parse(await cli('list', '--job', 'cli', '--json')) as JobView;
    expect(listed.latestComplete).toBe(3);
    expect(listed.steps.map((s) => [s.step, s.state, s.ranksDurable, s.worldSize])).toEqual([
      [1, 'COMPLETE', 1, 1],
      [2, 'COMPLETE', 1, 1],
      [3, 'COMPLETE', 1, 1],
      [4, 'PENDING', 1, 2],
    ]);
    expect(await cli('show', '--job', 'cli')).toMatch(/job cli step 3: COMPLETE, 1\/1 ranks durable/);
    const restored = await cli('restore', '--job', 'cli', '--step', '2', '--rank', '0', '--dest', join(root, 'cli-out'));
    expect(restored).toMatch(/restored cli step 2: 1 file/);
    expect(sha(await readFile(join(root, 'cli-out', 'w.bin')))).toBe(sha(bytes.get(2) as Buffer));
    expect(await cli('prune', '--job', 'cli', '--keep-last', '1', '--dry-run')).toMatch(/would prune 2 step\(s\) of cli: 1, 2/);
    expect(await cli('prune', '--job', 'cli', '--keep-last', '1')).toMatch(/pruned 2 step\(s\) of cli: 1, 2/);
    expect((await registry.steps('cli')).map((s) => s.step)).toEqual([3, 4]);
  });

  async function s3Text(key: string): Promise<string> {
    const out = await env.clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    return (out.Body as { transformToString(): Promise<string> }).transformToString();
  }

  async function versionsUnder(prefix: string): Promise<{ current: number; noncurrent: number }> {
    const out = await env.clients.s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: prefix }));
    const versions = out.Versions ?? [];
    return { current: versions.filter((v) => v.IsLatest).length, noncurrent: versions.filter((v) => !v.IsLatest).length };
  }

  async function writeStatus(i: number, job: string, step: number, rank: number, status: PartStatus): Promise<void> {
    const { writeAtomically } = await import('../../lib/checkpoint/spool');
    await writeAtomically(join(spoolOf(i), spoolPaths.status(job, step, rank)), status);
  }
});

async function flipByte(path: string, offset: number): Promise<void> {
  const fh = await open(path, 'r+');
  const b = Buffer.alloc(1);
  await fh.read(b, 0, 1, offset);
  b[0] ^= 0xff;
  await fh.write(b, 0, 1, offset);
  await fh.close();
}
