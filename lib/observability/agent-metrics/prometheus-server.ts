import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface MetricsEndpoint {
  /** The port actually listened on (a free one when 0 was asked for, or the asked one was busy). */
  port: number;
  url: string;
  close(): Promise<void>;
}

export interface MetricsEndpointOptions {
  /** 0 picks a free port. */
  port: number;
  /** @default '0.0.0.0' (a Prometheus scraper on another host must reach it) */
  host?: string;
  /** When the port is taken, listen on a free one instead of failing. @default true */
  fallbackToFreePort?: boolean;
  /** The Prometheus text exposition and its content type. */
  render: () => Promise<string>;
  contentType: string;
}

/**
 * Serves `GET /metrics` (Prometheus text format). Any other path is a 404. A busy port falls back
 * to a free one, so several local agents (or test runs) never collide: the caller logs the port.
 */
export async function startMetricsEndpoint(opts: MetricsEndpointOptions): Promise<MetricsEndpoint> {
  const host = opts.host ?? '0.0.0.0';
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics\n');
      return;
    }
    opts.render().then(
      (text) => res.writeHead(200, { 'content-type': opts.contentType }).end(text),
      (err) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
    );
  });
  // The endpoint must never keep an agent alive that is otherwise done.
  server.unref();
  try {
    await listen(server, opts.port, host);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || opts.fallbackToFreePort === false || opts.port === 0) throw err;
    await listen(server, 0, host);
  }
  const port = (server.address() as AddressInfo).port;
  const shownHost = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host;
  return {
    port,
    url: `http://${shownHost}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections(); // keep-alive scrapers would hold close() open
      }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}
