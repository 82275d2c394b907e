import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Target } from '../../aws/target';
import { collectSnapshot, type SnapshotOptions } from '../snapshot';
import { SnapshotPoller } from '../snapshot-poller';

/** The default port of the local dashboard. */
import { DEFAULT_DASHBOARD_PORT } from './default-port';

/** A running dashboard server. */
export interface Dashboard {
  url: string;
  port: number;
  poller: SnapshotPoller;
  stop(): Promise<void>;
}

export interface DashboardServerOptions {
  /** 0 picks a free port. @default 8377 */
  port?: number;
  /** Only the local machine by default: the page shows bucket names and errors. @default 127.0.0.1 */
  host?: string;
}

/** Files the page needs, all from this repository and node_modules: no CDN, no network. */
const STATIC: Record<string, { file: () => string; type: string }> = {
  '/': { file: () => join(__dirname, 'static', 'index.html'), type: 'text/html; charset=utf-8' },
  '/app.js': { file: () => join(__dirname, 'static', 'app.js'), type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: () => join(__dirname, 'static', 'app.css'), type: 'text/css; charset=utf-8' },
  '/vendor/uPlot.iife.min.js': { file: () => require.resolve('uplot/dist/uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  '/vendor/uPlot.min.css': { file: () => require.resolve('uplot/dist/uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

/**
 * Scripts, styles, data and images from this server only; nothing inline (the page's style is
 * `/app.css`; `element.style` from scripts is not inline markup), no plugins, no frames, no forms.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The names a browser on this machine reaches the dashboard by. */
const LOOPBACK_NAMES: ReadonlySet<string> = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Whether a request's Host header names this machine's loopback at the dashboard's port. Anything
 * else is refused, so that a web page whose DNS name was rebound to 127.0.0.1 cannot read the
 * dashboard's API from the browser.
 */
export function isLoopbackHost(hostHeader: string | undefined, port: number): boolean {
  if (!hostHeader) return false;
  const m = /^(\[[^\]]*\]|[^:]+)(?::(\d+))?$/.exec(hostHeader.toLowerCase());
  if (!m || !LOOPBACK_NAMES.has(m[1])) return false;
  return m[2] === undefined ? port === 80 : Number(m[2]) === port;
}

/**
 * Serves the dashboard page and its JSON API over node:http:
 * - `GET /api/snapshot`: the latest snapshot, its throughput point and the last collection error;
 * - `GET /api/history?since=<epoch ms>`: the throughput series of the whole session (or the
 *   points after `since`), kept server-side so a reload shows the past.
 * The poller is started and stopped by the caller.
 */
export async function startDashboardServer(poller: SnapshotPoller, opts: DashboardServerOptions = {}): Promise<Omit<Dashboard, 'poller'> & { server: Server }> {
  const host = opts.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    if (!isLoopbackHost(req.headers.host, (server.address() as AddressInfo).port)) return send(res, 421, 'text/plain; charset=utf-8', 'misdirected request: use http://localhost:<port>/');
    handle(poller, req, res).catch((err) => send(res, 500, 'text/plain; charset=utf-8', `internal error: ${(err as Error).message}`));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? DEFAULT_DASHBOARD_PORT, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    server,
    port,
    url: `http://${host}:${port}/`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** Starts polling `target` every `intervalMs` and serves the dashboard for it. */
export async function startDashboard(target: Target, opts: DashboardServerOptions & SnapshotOptions & { intervalMs?: number; onError?: (err: Error) => void } = {}): Promise<Dashboard> {
  const poller = new SnapshotPoller(() => collectSnapshot(target, opts), { intervalMs: opts.intervalMs ?? 1000, onError: opts.onError });
  const server = await startDashboardServer(poller, opts);
  poller.start();
  return {
    url: server.url,
    port: server.port,
    poller,
    stop: async () => {
      await poller.stop();
      await server.stop();
    },
  };
}

async function handle(poller: SnapshotPoller, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'text/plain; charset=utf-8', 'method not allowed');
  const url = new URL(req.url ?? '/', 'http://dashboard');
  if (url.pathname === '/api/snapshot') {
    return sendJson(res, { snapshot: poller.latest ?? null, point: poller.tracker.current() ?? null, error: poller.lastError ?? null, serverTime: Date.now() });
  }
  if (url.pathname === '/api/history') {
    const since = url.searchParams.get('since');
    const sinceMs = since !== null && since !== '' && Number.isFinite(Number(since)) ? Number(since) : undefined;
    return sendJson(res, { points: poller.tracker.points(sinceMs), serverTime: Date.now() });
  }
  if (url.pathname === '/favicon.ico') return send(res, 204, 'image/x-icon', '');
  const asset = STATIC[url.pathname === '/index.html' ? '/' : url.pathname];
  if (!asset) return send(res, 404, 'text/plain; charset=utf-8', 'not found');
  send(res, 200, asset.type, await readFile(asset.file()));
}

function sendJson(res: ServerResponse, body: unknown): void {
  send(res, 200, 'application/json; charset=utf-8', JSON.stringify(body));
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer): void {
  res.writeHead(status, {
    'content-type': type,
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-security-policy': CONTENT_SECURITY_POLICY,
    'referrer-policy': 'no-referrer',
  });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
