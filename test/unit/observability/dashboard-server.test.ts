import { startDashboardServer } from '../../../lib/observability/dashboard/server';
import type { PipelineSnapshot } from '../../../lib/observability/snapshot';
import { SnapshotPoller } from '../../../lib/observability/snapshot-poller';
import { snapshotFixture } from '../../support/snapshot-fixture';

/** A poller over fixtures: each poll is one second later with 2 MB more processed. */
function fakePoller(): SnapshotPoller {
  let n = 0;
  return new SnapshotPoller(async (): Promise<PipelineSnapshot> => {
    n++;
    const base = snapshotFixture();
    return { ...base, collectedAt: 1_000_000 + n * 1000, totals: { ...base.totals, bytesProcessed: n * 2_000_000, recordsIn: n * 100 } };
  });
}

describe('dashboard server', () => {
  let poller: SnapshotPoller;
  let server: Awaited<ReturnType<typeof startDashboardServer>>;
  const get = (path: string) => fetch(new URL(path, server.url));
  const json = async (path: string): Promise<any> => (await get(path)).json();

  beforeEach(async () => {
    poller = fakePoller();
    server = await startDashboardServer(poller, { port: 0 });
  });

  afterEach(async () => {
    await server.stop();
  });

  it('listens on a free port when asked for port 0, on the loopback interface', () => {
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
  });

  it('serves the page, its script and uPlot from node_modules', async () => {
    const page = await get('/');
    expect(page.headers.get('content-type')).toContain('text/html');
    const html = await page.text();
    expect(html).toContain('id="last-updated"');
    expect(html).toContain('/vendor/uPlot.iife.min.js');
    expect(html).not.toMatch(/https?:\/\//); // no CDN
    const uplot = await get('/vendor/uPlot.iife.min.js');
    expect(uplot.status).toBe(200);
    expect(await uplot.text()).toContain('uPlot');
    expect((await get('/vendor/uPlot.min.css')).headers.get('content-type')).toContain('text/css');
    expect(await (await get('/app.js')).text()).toContain('/api/snapshot');
  });

  it('answers /api/snapshot with null before the first collection', async () => {
    const body = await json('/api/snapshot');
    expect(body).toMatchObject({ snapshot: null, point: null, error: null });
  });

  it('answers /api/snapshot with the latest snapshot and its throughput point', async () => {
    await poller.pollOnce();
    await poller.pollOnce();
    const body = await json('/api/snapshot');
    expect(body.snapshot.collectedAt).toBe(1_002_000);
    expect(body.snapshot.nodes.map((n: { nodeId: string }) => n.nodeId)).toEqual(['agent-1', 'agent-2']);
    expect(body.point).toMatchObject({ t: 1_002_000, bytesPerSec: 2_000_000, recordsPerSec: 100 });
  });

  it('keeps the whole history server-side and returns the points after ?since', async () => {
    for (let i = 0; i < 4; i++) await poller.pollOnce();
    const all = await json('/api/history');
    expect(all.points.map((p: { t: number }) => p.t)).toEqual([1_001_000, 1_002_000, 1_003_000, 1_004_000]);
    const since = await json('/api/history?since=1002000');
    expect(since.points.map((p: { t: number }) => p.t)).toEqual([1_003_000, 1_004_000]);
  });

  it('reports the last collection error next to the last good snapshot', async () => {
    let fail = false;
    const flaky = new SnapshotPoller(async () => {
      if (fail) throw new Error('endpoint unreachable');
      return snapshotFixture();
    });
    const s = await startDashboardServer(flaky, { port: 0 });
    try {
      await flaky.pollOnce();
      fail = true;
      await flaky.pollOnce();
      const body = (await (await fetch(new URL('/api/snapshot', s.url))).json()) as { snapshot: { label: string }; error: { message: string } };
      expect(body.snapshot.label).toBe(snapshotFixture().label);
      expect(body.error.message).toBe('endpoint unreachable');
    } finally {
      await s.stop();
    }
  });

  it('answers 404 for unknown paths and 405 for writes', async () => {
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/../package.json')).status).toBe(404);
    expect((await fetch(new URL('/api/snapshot', server.url), { method: 'POST' })).status).toBe(405);
  });

  it('reports a port in use instead of hanging', async () => {
    await expect(startDashboardServer(fakePoller(), { port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
