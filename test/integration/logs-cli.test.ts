import { CloudFormationClient, CreateStackCommand } from '@aws-sdk/client-cloudformation';
import { CreateLogStreamCommand, PutLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createAwsClients } from '../../lib/aws/clients';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { cloudWatchLogsFor } from '../../lib/logs/cloudwatch-logs-client';
import { RESOURCES } from '../../lib/resources';
import { SHARDLINE_FROM_SOURCES } from '../support/cli';

const run = promisify(execFile);

/** Runs `shardline logs ...`; resolves with the exit code too (execFile rejects on non-zero). */
async function shardlineLogs(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return shardlineLogsWith({}, ...args);
}

async function shardlineLogsWith(env: Record<string, string>, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, [...SHARDLINE_FROM_SOURCES, 'logs', ...args], { timeout: 60_000, env: { ...process.env, ...env } });
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
    await writeFile(
      join(dir, 'local.json'),
      JSON.stringify({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', agents: [{ nodeId: 'agent-1', failureDomain: 'local-a', cacheDir: dir, logFile }], stateDir: dir }),
    );
    await writeFile(
      logFile,
      [
        line('2026-11-02T10:00:01.000Z', { message: 'agent started', nodeId: 'agent-1' }),
        line('2026-11-02T10:00:03.000Z', { level: 'WARN', message: 'chunk failed', nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000000', attempt: 1, errorKind: 'throttled' }),
        'Error: unhandled rejection',
        line('2026-11-02T10:00:03.000Z', { message: 'chunk processed', nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000000', attempt: 2, totalMs: 40 }),
      ].join('\n') + '\n',
    );
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
    expect(
      stdout
        .trimEnd()
        .split('\n')
        .map((l) => JSON.parse(l).message),
    ).toEqual(['chunk failed', 'chunk processed']);
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

  // --stack: the log group names come from the stack's outputs (CloudFormation on moto here).
  describe('with --stack', () => {
    let moto: MotoServer;
    const env = () => ({ AWS_ENDPOINT_URL: moto.endpoint, AWS_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });

    beforeAll(async () => {
      moto = await startMotoServer();
      const outputs = Object.fromEntries(Object.values(RESOURCES).map((r) => [r.outputName, { Value: `unused-${r.outputName}` }]));
      outputs[RESOURCES.agentLogGroup.outputName] = { Value: { Ref: 'AgentLogs' } } as never;
      outputs[RESOURCES.chunkerLogGroup.outputName] = { Value: { Ref: 'ChunkerLogs' } } as never;
      const TemplateBody = JSON.stringify({
        Resources: {
          AgentLogs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/test/agents' } },
          ChunkerLogs: { Type: 'AWS::Logs::LogGroup', Properties: { LogGroupName: '/test/chunker' } },
        },
        Outputs: outputs,
      });
      await new CloudFormationClient({ endpoint: moto.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }).send(
        new CreateStackCommand({ StackName: 'Shardline-test', TemplateBody }),
      );
      const logs = cloudWatchLogsFor(createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' }));
      const now = Date.now();
      for (const [group, events] of [
        ['/test/agents', [line(new Date(now - 60_000).toISOString(), { level: 'ERROR', message: 'commit refused', nodeId: 'agent-9', chunkId: 'o7-000001' })]],
        [
          '/test/chunker',
          [
            line(new Date(now - 30_000).toISOString(), { message: 'planned object', objectId: 'o7' }),
            line(new Date(now - 3 * 3_600_000).toISOString(), { message: 'too old for the default hour', objectId: 'o7' }),
          ],
        ],
      ] as const) {
        await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: 's' }));
        await logs.send(
          new PutLogEventsCommand({
            logGroupName: group,
            logStreamName: 's',
            logEvents: events.map((message) => ({ timestamp: Date.parse(JSON.parse(message).timestamp), message })).sort((a, b) => a.timestamp - b.timestamp),
          }),
        );
      }
    });
    afterAll(() => moto?.stop());

    it("searches the stack's log groups over the last hour by default", async () => {
      const { code, stdout, stderr } = await shardlineLogsWith(env(), '--stack', 'Shardline-test', '--object', 'o7');

      expect(code).toBe(0);
      expect(
        stdout
          .trimEnd()
          .split('\n')
          .map((l) => l.replace(/^\S+ /, '')),
      ).toEqual(['ERROR agent-9   chunk=o7-000001 commit refused', 'INFO  chunker   object=o7 planned object']);
      expect(stderr).toMatch(/^2 record\(s\) · searched 2 events in 2 page\(s\) of 2 log group\(s\)/m); // the 3-hour-old event is outside the window
    });

    it('reaches further back when asked', async () => {
      const { stdout } = await shardlineLogsWith(env(), '--stack', 'Shardline-test', '--node', 'chunker', '--since', '4h', '--json');

      expect(
        stdout
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l).message),
      ).toEqual(['too old for the default hour', 'planned object']);
    });
  });
});
