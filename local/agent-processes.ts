import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root';

const PROJECT_ROOT = packageRoot(__dirname);

/**
 * How to start the agent: compiled with plain node when this file is itself compiled (the CLI runs
 * from dist/, so it never needs tsx), from its TypeScript entry through tsx when running from the
 * sources (jest, tsx), so tests need no build.
 */
export const AGENT_COMMAND: readonly string[] = __filename.endsWith('.js')
  ? ['--enable-source-maps', join(__dirname, '..', 'agent-container', 'main.js')]
  : ['--require', 'tsx/cjs', join(__dirname, '..', 'agent-container', 'main.ts')];

/** One local agent process acting as one training node. */
export interface LocalAgent {
  nodeId: string;
  failureDomain: string;
  cacheDir: string;
  /** The checkpoint spool of this "host" (`--checkpoint-dir`): training processes of the node save here. */
  checkpointDir: string;
  logFile: string;
  process: ChildProcess;
}

/** Environment variable with the base port of local agents' /metrics (agent i: base + i; 0: free ports). */
export const METRICS_BASE_PORT_ENV = 'SHARDLINE_METRICS_BASE_PORT';
export const DEFAULT_METRICS_BASE_PORT = 9400;

/** The /metrics port agent `index` asks for; a busy one falls back to a free port (see its log line 'metrics endpoint listening'). */
export function localMetricsPort(index: number, env: Record<string, string | undefined>): number {
  const raw = env[METRICS_BASE_PORT_ENV] ?? process.env[METRICS_BASE_PORT_ENV];
  const base = raw === undefined || raw === '' ? DEFAULT_METRICS_BASE_PORT : Number(raw);
  return Number.isInteger(base) && base > 0 && base + index <= 65535 ? base + index : 0;
}

/** Local failure domains cycle so that replicas can land in distinct ones. */
export const LOCAL_FAILURE_DOMAINS = ['local-a', 'local-b', 'local-c'];

/**
 * Starts agent `index` as a child process with its own node id, failure domain, cache directory,
 * checkpoint spool and log file (JSON lines, one per log record).
 */
export async function startLocalAgent(index: number, stateDir: string, env: Record<string, string>, extraArgs: string[] = []): Promise<LocalAgent> {
  const nodeId = `agent-${index}`;
  const dir = join(stateDir, 'agents', nodeId);
  const cacheDir = join(dir, 'cache');
  const checkpointDir = join(dir, 'checkpoints');
  const logFile = join(dir, 'agent.log');
  const failureDomain = LOCAL_FAILURE_DOMAINS[(index - 1) % LOCAL_FAILURE_DOMAINS.length];
  await mkdir(cacheDir, { recursive: true });
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      ...AGENT_COMMAND,
      '--node-id',
      nodeId,
      '--failure-domain',
      failureDomain,
      '--cache-dir',
      cacheDir,
      '--checkpoint-dir',
      checkpointDir,
      '--metrics-port',
      String(localMetricsPort(index, env)),
      '--metrics-host',
      '127.0.0.1',
      ...extraArgs,
    ],
    { cwd: PROJECT_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  return { nodeId, failureDomain, cacheDir, checkpointDir, logFile, process: child };
}

/** Sends SIGTERM (the agent drains) and waits; SIGKILL after `graceMs`. */
export async function stopLocalAgent(agent: LocalAgent, graceMs = 15000): Promise<void> {
  const child = agent.process;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
