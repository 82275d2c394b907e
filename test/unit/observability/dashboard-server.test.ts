import { request } from 'node:http';
import { CONTENT_SECURITY_POLICY, isLoopbackHost, startDashboardServer } from '../../../lib/observability/dashboard/server';
import type { PipelineSnapshot } from '../../../lib/observability/snapshot';
import { SnapshotPoller } from '../../../lib/observability/snapshot-poller';
import { snapshotFixture } from '../../support/snapshot-fixture';

/** A GET to the server at 127.0.0.1 with the Host header given (none when undefined): fetch cannot set Host. */
function getWithHost(port: number, path: string, host: string | undefined): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, setHost: false, headers: host === undefined ? {} : { host } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

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

  it('answers Host localhost, 127.0.0.1 and [::1] at its port, and refuses any other name or port with 421 (DNS rebinding)', async () => {
    const { port } = server;
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, `LocalHost:${port}`]) {
      expect({ host, status: (await getWithHost(port, '/api/snapshot', host)).status }).toEqual({ host, status: 200 });
    }
    for (const host of [`evil.example:${port}`, 'evil.example', `127.0.0.1.nip.io:${port}`, `localhost:${port + 1}`, 'localhost', `[::2]:${port}`, `localhost:${port}@evil`, '']) {
      const res = await getWithHost(port, '/api/snapshot', host);
      expect({ host, status: res.status }).toEqual({ host, status: 421 });
      expect(res.headers['content-security-policy']).toBe(CONTENT_SECURITY_POLICY);
    }
    // No Host at all: node's HTTP/1.1 parser refuses it before the dashboard sees it.
    expect((await getWithHost(port, '/api/snapshot', undefined)).status).toBe(400);
  });

  it('takes a Host without port only when the dashboard is on port 80', () => {
    expect(isLoopbackHost('localhost', 80)).toBe(true);
    expect(isLoopbackHost('localhost:80', 80)).toBe(true);
    expect(isLoopbackHost('localhost', 8377)).toBe(false);
  });

  it('sends a same-origin-only Content-Security-Policy and nosniff with every answer', async () => {
    expect(CONTENT_SECURITY_POLICY).toBe(
      "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    );
    for (const path of ['/', '/app.js', '/app.css', '/vendor/uPlot.iife.min.js', '/vendor/uPlot.min.css', '/api/snapshot', '/api/history', '/nope']) {
      const res = await get(path);
      expect({ path, csp: res.headers.get('content-security-policy'), nosniff: res.headers.get('x-content-type-options') }).toEqual({ path, csp: CONTENT_SECURITY_POLICY, nosniff: 'nosniff' });
    }
  });

  it('has a page that needs nothing the policy forbids: no inline script, style or handler, no other origin', async () => {
    const html = await (await get('/')).text();
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
    for (const [tag] of html.matchAll(/<script\b[^>]*>/g)) expect(tag).toMatch(/\ssrc="\/[^/]/);
    for (const [, url] of html.matchAll(/(?:src|href)="([^"]*)"/g)) expect(url).toMatch(/^\/[^/]/);
    const css = await get('/app.css');
    expect(css.headers.get('content-type')).toContain('text/css');
    expect(await css.text()).toContain('#chart');
  });

  it('reports a port in use instead of hanging', async () => {
    await expect(startDashboardServer(fakePoller(), { port: server.port })).rejects.toThrow(/EADDRINUSE/);
  });
});
