/**
 * The compiled entry points under dist/ (`npm run build`, which `npm ci` runs): the CLI through
 * bin/shardline.cjs with plain node, local mode's agent command, and the CDK stack synthesized
 * from the compiled infra (local mode does that in-process), with the run-time assets beside them.
 * The other tests run the TypeScript sources; this one builds dist/ in place first.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
const DIST = join(ROOT, 'dist');
const run = promisify(execFile);
const shardline = (...args: string[]) => run(process.execPath, [join(ROOT, 'bin', 'shardline.cjs'), ...args], { cwd: tmpdir(), timeout: 60_000 });

describe('compiled entry points (dist/)', () => {
  beforeAll(async () => {
    await run('npm', ['run', 'build'], { cwd: ROOT, timeout: 300_000 });
  }, 300_000);

  it('answers `shardline --help` and `shardline status --help` with plain node', async () => {
    const help = await shardline('--help');
    const status = await shardline('status', '--help');

    expect(help.stdout).toContain('Usage: shardline [options] [command]');
    expect(status.stdout).toContain('Usage: shardline status [options]');
  });

  it('searches local logs with `shardline logs`', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'shardline-compiled-logs-'));
    try {
      await mkdir(join(dir, 'agents', 'agent-1'), { recursive: true });
      await writeFile(join(dir, 'agents', 'agent-1', 'agent.log'), '{"level":"WARN","timestamp":"2026-11-02T10:00:03.000Z","message":"chunk failed","nodeId":"agent-1","chunkId":"o1-000000"}\n');

      const { stdout, stderr } = await shardline('logs', '--state-dir', dir, '--level', 'warn');

      expect(stdout).toBe('2026-11-02T10:00:03.000Z WARN  agent-1   chunk=o1-000000 chunk failed\n');
      expect(stderr).toMatch(/^1 record\(s\)/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('starts local agents from the compiled agent with plain node, not tsx', async () => {
    const script = `process.stdout.write(JSON.stringify(require(${JSON.stringify(join(DIST, 'local', 'agent-processes.js'))}).AGENT_COMMAND))`;
    const command = JSON.parse((await run(process.execPath, ['-e', script])).stdout) as string[];

    expect(command).toEqual(['--enable-source-maps', join(DIST, 'agent-container', 'main.js')]);
    expect((await run(process.execPath, [...command, '--help'])).stdout).toContain('Usage: shardline-agent');
  });

  it('synthesizes the stack from the compiled infra, as local mode does', async () => {
    const script = `
      const { synthesizeTemplate } = require(${JSON.stringify(join(DIST, 'local', 'provision', 'synthesize.js'))});
      const { createShardlineStack } = require(${JSON.stringify(join(DIST, 'infra', 'shardline-stack.js'))});
      const { defaultStageConfig } = require(${JSON.stringify(join(DIST, 'infra', 'config.js'))});
      const template = synthesizeTemplate((app) => createShardlineStack(app, 'ShardlineLocal', defaultStageConfig('local')));
      process.stdout.write(JSON.stringify(Object.values(template.Resources).map((r) => r.Type)));`;
    const types = JSON.parse((await run(process.execPath, ['-e', script], { maxBuffer: 16 * 1024 * 1024, timeout: 120_000 })).stdout) as string[];

    expect(types).toEqual(expect.arrayContaining(['AWS::Lambda::Function', 'AWS::ECS::TaskDefinition', 'AWS::SQS::Queue']));
  }, 120_000);

  it('copies the files read through __dirname next to the compiled code', () => {
    for (const asset of ['lib/observability/dashboard/static/index.html', 'lib/observability/dashboard/static/app.js', 'local/emulator/moto_launcher.py']) {
      expect(existsSync(join(DIST, asset)) ? asset : `missing: ${asset}`).toBe(asset);
    }
  });
});
