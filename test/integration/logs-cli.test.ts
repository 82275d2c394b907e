import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const CLI = resolve(__dirname, '..', '..', 'bin', 'shardline.cjs');
const run = promisify(execFile);

/** Runs `shardline logs ...`; resolves with the exit code too (execFile rejects on non-zero). */
async function shardlineLogs(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [CLI, 'logs', ...args], { timeout: 60_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('shardline logs (CLI)', () => {
  let dir: string;
  const line = (time: string, fields: Record<string, unknown>) => JSON.stringify({ level: 'INFO', timestamp: time, service: 'shardline-agent', ...fields });

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shardline-logs-cli-'));
    const logFile = join(dir, 'agents', 'agent-1', 'agent.log');
    await mkdir(join(dir, 'agents', 'agent-1'), { recursive: true });
    await writeFile(join(dir, 'local.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', agents: [{ nodeId: 'agent-1', failureDomain: 'local-a', cacheDir: dir, logFile }], stateDir: dir }));
    await writeFile(logFile, [
      line('2026-11-02T10:00:01.000Z', { message: 'agent started', nodeId: 'agent-1' }),
      line('2026-11-02T10:00:03.000Z', { level: 'WARN', message: 'chunk failed', nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000000', attempt: 1, errorKind: 'throttled' }),
      'Error: unhandled rejection',
      line('2026-11-02T10:00:03.000Z', { message: 'chunk processed', nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000000', attempt: 2, totalMs: 40 }),
    ].join('\n') + '\n');
    await writeFile(join(dir, 'chunker.log'), line('2026-11-02T10:00:00.000Z', { service: 'shardline-chunker', message: 'planned object', objectId: 'o1', chunks: 1 }) + '\n');
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('prints one readable line per record, oldest first, and a summary on stderr', async () => {
    const { code, stdout, stderr } = await shardlineLogs('--state-dir', dir, '--object', 'o1');

    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n')).toEqual([
      '2026-11-02T10:00:00.000Z INFO  chunker   object=o1 planned object  chunks=1',
      '2026-11-02T10:00:03.000Z WARN  agent-1   chunk=o1-000000 attempt=1 chunk failed  errorKind=throttled',
      '2026-11-02T10:00:03.000Z INFO  agent-1   chunk=o1-000000 attempt=2 chunk processed  totalMs=40',
    ]);
    expect(stderr).toMatch(/^3 record\(s\) · searched .* of 2 log file\(s\)/);
  });

  it('prints the JSON lines as written with --json, limited to the most recent', async () => {
    const { code, stdout } = await shardlineLogs('--state-dir', dir, '--json', '--limit', '2', '--level', 'info');

    expect(code).toBe(0);
    expect(stdout.trimEnd().split('\n').map((l) => JSON.parse(l).message)).toEqual(['chunk failed', 'chunk processed']);
  });

  it('finds plain stderr lines by text', async () => {
    const { stdout } = await shardlineLogs('--state-dir', dir, '--grep', 'unhandled');

    expect(stdout).toBe('2026-11-02T10:00:03.000Z -     agent-1   Error: unhandled rejection\n');
  });

  it('exits 1 with the reason when the options contradict each other', async () => {
    const { code, stdout, stderr } = await shardlineLogs('--state-dir', dir, '--since', '5m', '--from', '2026-11-02T10:00:00Z');

    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toContain('use either --since or --from, not both');
  });

  it('exits 1 naming the directory when it holds no logs', async () => {
    const empty = await mkdtemp(join(tmpdir(), 'shardline-logs-empty-'));
    const { code, stderr } = await shardlineLogs('--state-dir', empty);
    await rm(empty, { recursive: true, force: true });

    expect(code).toBe(1);
    expect(stderr).toContain(`no log files under ${empty}`);
  });
});
