import { PutObjectCommand } from '@aws-sdk/client-s3';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import { generateJsonlDataset } from '../../local/dataset';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { startDashboard, type Dashboard } from '../../lib/observability/dashboard/server';
import { colourStats, decodePng } from '../support/png';

// The callbacks given to page.evaluate / waitForFunction run in the browser; the project is
// type-checked without the DOM library, so these two globals are declared for this file only.
declare const window: any;
declare const document: any;

/** Debian's Chromium; the browser is never downloaded. */
const CHROMIUM = '/usr/bin/chromium';
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.warn(`dashboard browser test SKIPPED: ${CHROMIUM} is missing (apt-get install chromium)`);
const describeWithChromium = haveChromium ? describe : describe.skip;

/** Reads the page's test hooks (window.shardlineDashboard) and a few DOM facts. */
async function pageState(page: Page) {
  return page.evaluate(() => {
    const d = window.shardlineDashboard as { data: number[][]; updates: number };
    const canvas = document.querySelector('#chart canvas');
    let inkedPixels = 0;
    if (canvas) {
      const pixels: Uint8ClampedArray = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
      for (let i = 3; i < pixels.length; i += 4) if (pixels[i] > 0) inkedPixels++;
    }
    return {
      points: d.data[0].length,
      peakMBps: Math.max(0, ...d.data[1].filter((v) => v != null)),
      updates: d.updates,
      inkedPixels,
      lastUpdated: Number(document.getElementById('last-updated').getAttribute('data-t')),
    };
  });
}

describeWithChromium('web dashboard in Chromium (2 agents, local endpoint)', () => {
  let env: LocalEnvironment;
  let target: Target;
  let dashboard: Dashboard;
  let browser: Browser;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'shardline-dashboard-e2e-'));
    env = await startLocalEnvironment({ agents: 2, stateDir: join(dir, 'state'), config: { chunkSizeBytes: 512 * 1024, replicationFactor: 2 } });
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'e2e' };
    dashboard = await startDashboard(target, { port: 0, replicationFactor: 2, heartbeatTimeoutMs: env.state.config.heartbeatTimeoutSeconds * 1000 });
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await dashboard?.stop();
    await env?.stop();
  });

  it('shows nodes, an object reaching 100 %, a throughput chart with points, and refreshes every second', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (err) => pageErrors.push(err.message));
    await page.goto(dashboard.url);

    // Both agents appear in the node table.
    await page.waitForFunction(() => document.querySelectorAll('#nodes tr.node').length === 2, undefined, { timeout: 30_000 });
    expect(await page.locator('#nodes tr.node').evaluateAll((rows) => rows.map((r: any) => r.getAttribute('data-node-id')))).toEqual(['agent-1', 'agent-2']);

    // Ingest a few MB (several chunks) and wait for its progress bar to reach 100 %.
    const data = await generateJsonlDataset({ path: join(dir, 'train.jsonl'), sizeBytes: 4_000_000 });
    const key = 'e2e/dashboard/train.jsonl';
    await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: readFileSync(data.path) }));
    const row = page.locator(`.object[data-key="${key}"]`);
    await row.waitFor({ timeout: 60_000 });
    await page.waitForFunction((k) => document.querySelector(`.object[data-key="${k}"]`)?.getAttribute('data-pct') === '100', key, { timeout: 90_000 });
    expect(await row.locator('.pct').textContent()).toBe('100%');
    expect(await row.locator('.detail').textContent()).toMatch(/^(\d+)\/\1 chunks/);

    // The chart has points, saw data flow, and drew on its canvas.
    const state = await pageState(page);
    expect(state.points).toBeGreaterThanOrEqual(3);
    expect(state.peakMBps).toBeGreaterThan(0);
    expect(state.inkedPixels).toBeGreaterThan(500);

    // "last updated" advances within about two seconds (the page polls every second).
    const before = (await pageState(page)).lastUpdated;
    await page.waitForFunction((t) => Number(document.getElementById('last-updated').getAttribute('data-t')) > t, before, { timeout: 2500 });

    // A reload shows the session's past: the history is kept server-side.
    await page.reload();
    await page.waitForFunction((n) => window.shardlineDashboard.data[0].length >= n, state.points, { timeout: 5000 });
    await page.waitForFunction(() => document.querySelectorAll('.object').length > 0, undefined, { timeout: 5000 });
    expect((await pageState(page)).peakMBps).toBeGreaterThan(0);

    const path = join(dir, 'dashboard.png');
    const png = await page.screenshot({ path, fullPage: true });
    console.log(`dashboard screenshot: ${path}`);
    const image = decodePng(png);
    expect(image.width).toBe(1280);
    expect(image.height).toBeGreaterThanOrEqual(900);
    const colours = colourStats(image);
    expect(colours.distinct).toBeGreaterThan(50);
    expect(colours.dominantShare).toBeLessThan(0.95);
    expect(pageErrors).toEqual([]);
  }, 180_000);
});
