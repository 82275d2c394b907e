import { CreateLogGroupCommand, CreateLogStreamCommand, PutLogEventsCommand, type CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { stackLogGroups } from '../../cli/commands/logs';
import { createAwsClients } from '../../lib/aws/clients';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { cloudWatchLogsFor } from '../../lib/logs/cloudwatch-logs-client';
import { searchCloudWatchLogs, type LogGroupSource } from '../../lib/logs/cloudwatch-search';
import { buildLogQuery, type LogQueryOptions } from '../../lib/logs/query';

const AGENTS = '/shardline-test/AgentLogs';
const CHUNKER = '/shardline-test/ChunkerLogs';

describe('searchCloudWatchLogs (moto CloudWatch Logs)', () => {
  let moto: MotoServer;
  let logs: CloudWatchLogsClient;
  let groups: LogGroupSource[];
  const t0 = Date.now() - 10 * 60_000; // ten minutes ago: inside CloudWatch's accepted window
  const at = (s: number) => t0 + s * 1000;
  const record = (s: number, fields: Record<string, unknown>) => ({ timestamp: at(s), message: JSON.stringify({ level: 'INFO', timestamp: new Date(at(s)).toISOString(), ...fields }) });

  beforeAll(async () => {
    moto = await startMotoServer();
    logs = cloudWatchLogsFor(createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' }));
    groups = stackLogGroups({ agentLogGroup: AGENTS, chunkerLogGroup: CHUNKER });
    const put = async (group: string, stream: string, events: Array<{ timestamp: number; message: string }>) => {
      await logs.send(new CreateLogStreamCommand({ logGroupName: group, logStreamName: stream }));
      await logs.send(new PutLogEventsCommand({ logGroupName: group, logStreamName: stream, logEvents: events }));
    };
    await logs.send(new CreateLogGroupCommand({ logGroupName: AGENTS }));
    await logs.send(new CreateLogGroupCommand({ logGroupName: CHUNKER }));
    await put(AGENTS, 'agent/agent/task-1', [
      record(1, { message: 'agent started', nodeId: 'agent-1' }),
      record(3, { message: 'chunk failed', nodeId: 'agent-1', level: 'WARN', objectId: 'o1', chunkId: 'o1-000000', attempt: 1, error: { name: 'Error', message: 'SlowDown' } }),
      { timestamp: at(3), message: 'Error: unhandled rejection (plain stderr)' },
      record(5, { message: 'chunk processed', nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000000', attempt: 2, runId: 'r1' }),
    ]);
    await put(AGENTS, 'agent/agent/task-2', [
      record(2, { message: 'chunk processed', nodeId: 'agent-2', objectId: 'o1', chunkId: 'o1-000001', attempt: 1, runId: 'r1' }),
      record(4, { message: 'commit refused', nodeId: 'agent-2', level: 'ERROR', objectId: 'o2', chunkId: 'o2-000000', attempt: 1 }),
    ]);
    await put(CHUNKER, '2026/11/02/[$LATEST]abc', [
      { timestamp: at(0), message: 'START RequestId: 1 Version: $LATEST' },
      record(0, { message: 'planned object', service: 'shardline-chunker', objectId: 'o1', chunks: 2 }),
      record(6, { message: 'ingest event failed', service: 'shardline-chunker', level: 'ERROR', objectId: 'o3' }),
    ]);
  });
  afterAll(() => moto?.stop());

  const search = async (opts: LogQueryOptions, pageSize?: number) => {
    const result = await searchCloudWatchLogs(logs, groups, buildLogQuery(opts), { pageSize });
    return { result, lines: result.records.map((r) => `${Math.round((r.time - t0) / 1000)} ${r.node ?? '-'} ${r.message}`) };
  };

  it('finds the records of an object in both groups, in time order, when the filter pattern is JSON (applied client-side on moto)', async () => {
    const { lines, result } = await search({ object: 'o1' });

    expect(lines).toEqual(['0 chunker planned object', '2 agent-2 chunk processed', '3 agent-1 chunk failed', '5 agent-1 chunk processed']);
    expect(result.eventsScanned).toBe(9); // moto ignores JSON patterns: all 9 events come back
  });

  it('selects by level, node, run and chunk', async () => {
    expect((await search({ level: 'error' })).lines).toEqual(['4 agent-2 commit refused', '6 chunker ingest event failed']);
    expect((await search({ node: 'chunker' })).lines).toEqual(['0 chunker START RequestId: 1 Version: $LATEST', '0 chunker planned object', '6 chunker ingest event failed']);
    expect((await search({ run: 'r1', node: 'agent-1' })).lines).toEqual(['5 agent-1 chunk processed']);
    expect((await search({ chunk: 'o1-000000', level: 'warn' })).lines).toEqual(['3 agent-1 chunk failed']);
  });

  it('sends text alone as a phrase that moto filters server-side, and finds plain-text lines by it', async () => {
    const { lines, result } = await search({ grep: 'unhandled rejection' });

    expect(lines).toEqual(['3 - Error: unhandled rejection (plain stderr)']);
    expect(result.eventsScanned).toBe(1);
  });

  it('keeps records inside the time window only', async () => {
    expect((await search({ from: new Date(at(2)).toISOString(), to: new Date(at(4)).toISOString(), level: 'info' })).lines).toEqual([
      '2 agent-2 chunk processed',
      '3 agent-1 chunk failed',
      '4 agent-2 commit refused',
    ]);
    expect((await search({ since: '1s' })).lines).toEqual([]);
  });

  it('returns the most recent records, oldest first, when the limit cuts, across pages', async () => {
    const { lines, result } = await search({ limit: 2 }, 2);

    expect(lines).toEqual(['5 agent-1 chunk processed', '6 chunker ingest event failed']);
    expect(result.pages).toBeGreaterThan(4);
    expect(result.truncated).toBe(true);
  });

  it('reports a group whose pages it stopped reading', async () => {
    const result = await searchCloudWatchLogs(logs, groups, buildLogQuery({}), { pageSize: 2, maxPages: 1 });

    expect(result.incompleteGroups).toEqual([AGENTS, CHUNKER]);
    expect(result.truncated).toBe(true);
  });
});
