/**
 * Runs moto's standalone server as a child process: the local AWS endpoint on machines without
 * Docker or LocalStack (see /work/shared/LOCAL-AWS.md).
 *
 * Why not `python3 -m moto.server` directly: moto 5.2.1 needs three Step Functions patches
 * (moto_launcher.py). Why the extra steps here: executing state machines must be switched on
 * through `/moto-api/config` before any is created; Step Functions tasks call back to
 * `localhost:$MOTO_PORT`, so the child gets MOTO_PORT set to its own port (an inherited value
 * would send those calls to another server); and the child runs in its own process group, so
 * stopping it leaves no strays.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/** Options for {@link startMotoServer}. */
export interface MotoServerOptions {
  /** Port to listen on (127.0.0.1). @default a free port */
  readonly port?: number;
  /** File that receives the server's stdout and stderr. @default kept in memory (the tail only) */
  readonly logFile?: string;
  /** How long to wait for the server to answer. @default 20000 */
  readonly startTimeoutMs?: number;
  /** Python interpreter. @default 'python3' */
  readonly python?: string;
}

/** A running moto server. */
export interface MotoServer {
  /** e.g. `http://127.0.0.1:41234` */
  readonly endpoint: string;
  readonly port: number;
  /** Stops the server (and its process group) and waits until it has exited. */
  stop(): Promise<void>;
  /** Drops every resource on the server (`/moto-api/reset`); settings such as execution stay. */
  reset(): Promise<void>;
}

const MOTO_REQUIRED = 'python3 with moto 5.x is required; or pass --endpoint for LocalStack';
const LAUNCHER = join(__dirname, 'moto_launcher.py');
const TAIL_BYTES = 4000;

/**
 * Starts a patched moto server on 127.0.0.1, waits until it answers and enables Step Functions
 * execution. Rejects with the server's stderr tail if it exits or does not answer in time.
 */
export async function startMotoServer(opts: MotoServerOptions = {}): Promise<MotoServer> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(opts.port ?? (await freePort()), opts);
    } catch (err) {
      // A free port can be taken between probing and binding; pick another one.
      if (opts.port !== undefined || attempt >= 3 || !/address already in use/i.test((err as Error).message)) throw err;
    }
  }
}

async function launch(port: number, opts: MotoServerOptions): Promise<MotoServer> {
  const endpoint = `http://127.0.0.1:${port}`;
  const logFd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
  const child = spawn(opts.python ?? 'python3', [LAUNCHER, '-H', '127.0.0.1', '-p', String(port)], {
    env: { ...process.env, MOTO_PORT: String(port), PYTHONUNBUFFERED: '1' },
    stdio: ['ignore', logFd ?? 'ignore', logFd ?? 'pipe'],
    detached: true, // own process group: stop() signals the whole group
  });
  if (logFd !== undefined) closeSync(logFd); // the child holds its own copy
  let spawnError: Error | undefined;
  child.once('error', (err) => (spawnError = err)); // e.g. ENOENT: no python3
  let memoryTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    memoryTail = (memoryTail + chunk.toString()).slice(-TAIL_BYTES);
  });
  const tail = () => (opts.logFile ? fileTail(opts.logFile) : memoryTail).trim();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const killOnExit = () => killGroup(child, 'SIGKILL');
  process.once('exit', killOnExit);

  const stop = async () => {
    process.removeListener('exit', killOnExit);
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), 3000);
    await exited;
    clearTimeout(timer);
  };

  try {
    await waitUntilAnswering(endpoint, child, () => spawnError, opts.startTimeoutMs ?? 20000);
    await post(`${endpoint}/moto-api/config`, { stepfunctions: { execute_state_machine: true } });
  } catch (err) {
    await stop();
    const cause = (err as Error).message;
    const hint = child.exitCode === 3 || cause.includes('ENOENT') ? `${MOTO_REQUIRED}. ` : '';
    throw new Error(`moto server did not start on ${endpoint}: ${hint}${cause}\n--- server output (tail) ---\n${tail()}`, { cause: err });
  }
  return { endpoint, port, stop, reset: () => post(`${endpoint}/moto-api/reset`) };
}

async function waitUntilAnswering(endpoint: string, child: ChildProcess, spawnError: () => Error | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const error = spawnError();
    if (error) throw error;
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (code ${child.exitCode ?? child.signalCode})`);
    }
    try {
      const res = await fetch(`${endpoint}/moto-api/`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`no answer from GET /moto-api/ within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function post(url: string, body?: unknown): Promise<void> {
  const res = await fetch(url, { method: 'POST', body: body === undefined ? undefined : JSON.stringify(body) });
  if (!res.ok) throw new Error(`POST ${url}: HTTP ${res.status} ${await res.text()}`);
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    child.kill(signal); // the group is gone already, or was never created
  }
}

function fileTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(-TAIL_BYTES);
  } catch {
    return '';
  }
}

/** A port that was free a moment ago (the OS picks it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
