import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { realClock } from '../../lib/agent/clock';
import type { Target } from '../../lib/aws/target';
import { wireCheckpointUploader, type CheckpointPart } from '../../lib/checkpoint/agent-part';
import { PART_FORMAT, type SpoolManifest } from '../../lib/checkpoint/manifest';
import { CheckpointRegistry } from '../../lib/checkpoint/registry';
import { renderCheckpointRows, type CheckpointStatusRow } from '../../lib/observability/checkpoint-rows';
import { startDashboard } from '../../lib/observability/dashboard/server';
import { collectSnapshot } from '../../lib/observability/snapshot';
import { collectStatus } from '../../lib/observability/status';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { waitFor } from '../support/wait';
import { savePart } from '../unit/checkpoint/spool-writer';

// page.waitForFunction callbacks run in the browser; the project is type-checked without the DOM library.
declare const document: any;

const CHROMIUM = '/usr/bin/chromium';
const MiB = 1024 * 1024;

/**
 * `status` and the dashboard show each job's checkpoints: a job with step 10 complete (2 ranks),
 * step 20 with one rank of two durable, and a part of step 30 being uploaded.
 */
describe('checkpoints in status and the dashboard', () => {
  let env: ProvisionedEndpoint;
  let target: Target;
  let root: string;
  let uploader: CheckpointPart;
  const startedAt = Date.now();

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    target = { clients: env.clients, resources: env.resources, label: 'test' };
    root = await mkdtemp(join(tmpdir(), 'shardline-ckpt-status-'));
    uploader = wireCheckpointUploader(
      { s3: env.clients.s3, doc: env.clients.doc, bucket: env.resources.processedBucket, ledgerTable: env.resources.ledgerTable, node: 'host-a', clock: realClock, log: () => undefined },
      { dir: root, scanMs: 100 },
    );
    await uploader.start();
    for (const rank of [0, 1]) await savePart(root, { job: 'llm', step: 10, rank, worldSize: 2, files: { 'w.bin': Buffer.alloc(MiB, rank) } });
    await savePart(root, { job: 'llm', step: 20, rank: 0, worldSize: 2, files: { 'w.bin': Buffer.alloc(MiB, 2) } });
    const registry = new CheckpointRegistry(env.clients.doc, env.resources.ledgerTable);
    await waitFor(async () => (await registry.step('llm', 20))?.ranks?.size === 1 || undefined, 60_000, 100);
    await waitFor(async () => (await registry.latest('llm'))?.step === 10 || undefined, 60_000, 100);
    // A part of step 30 whose upload is under way on another host.
    const uploading: SpoolManifest = {
      format: PART_FORMAT,
      job: 'llm',
      step: 30,
      rank: 1,
      worldSize: 2,
      attempt: 0,
      saveId: 'feedc0de00000001',
      savedAt: new Date().toISOString(),
      files: [{ name: 'w.bin', bytes: 5 * MiB }],
      metadata: {},
    };
    await registry.markPending(uploading, 'host-b', startedAt);
  });

  afterAll(async () => {
    await uploader?.stop();
    await env?.server.stop();
    await rm(root, { recursive: true, force: true });
  });

  const expectRows = (rows: CheckpointStatusRow[] | undefined) => {
    expect(rows).toHaveLength(1);
    const [row] = rows as CheckpointStatusRow[];
    expect(row).toMatchObject({ job: 'llm', latestComplete: 10, pendingSteps: [{ step: 20, ranksDurable: 1, worldSize: 2 }] });
    expect(row.uploading).toEqual([expect.objectContaining({ step: 30, rank: 1, node: 'host-b', bytes: 5 * MiB, saveId: 'feedc0de00000001' })]);
    expect(row.uploading[0].ageMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(row.latestCompletedAt as string)).toBeGreaterThanOrEqual(startedAt - 1000);
  };

  it('lists each job with its last complete step and the uploads in flight in `status`', async () => {
    const status = await collectStatus(target);
    expectRows(status.checkpoints);
    const text = renderCheckpointRows(status.checkpoints ?? []).join('\n');
    expect(text).toContain('llm\t10\t');
    expect(text).toContain('20 (1/2 ranks)');
    expect(text).toContain('llm step 30 rank 1: 5.2 MB from host-b');
  });

  it('puts the same rows into the live snapshot, from the scan it makes anyway', async () => {
    const snapshot = await collectSnapshot(target);
    expectRows(snapshot.checkpoints);
  });

  (existsSync(CHROMIUM) ? it : it.skip)('shows them on the dashboard page', async () => {
    const dashboard = await startDashboard(target, { port: 0, intervalMs: 500 });
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
      const page = await browser.newPage();
      await page.goto(`http://localhost:${dashboard.port}/`);
      await page.waitForFunction(() => document.querySelector('tr.checkpoint[data-job="llm"][data-latest="10"][data-uploading="1"]') !== null, undefined, { timeout: 30_000 });
      const text = await page.textContent('tr.checkpoint[data-job="llm"]');
      expect(text).toContain('20 (1/2 ranks)');
      expect(text).toContain('step 30 rank 1 on host-b');
    } finally {
      await browser?.close();
      await dashboard.stop();
    }
  });
});
