import { GetMetricStatisticsCommand } from '@aws-sdk/client-cloudwatch';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { waitForMetricsUrls } from '../../local/agent-metrics-endpoint';
import { METRICS_BASE_PORT_ENV } from '../../local/agent-processes';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { AgentMetric, METRIC_NAMESPACE } from '../../lib/observability/metric-names';
import { waitFor } from '../support/wait';

/** Sum of one sample over every series of `name` whose labels include `labels`. */
function total(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

describe('agent metrics in a local pipeline (2 agent processes, local endpoint)', () => {
  let env: LocalEnvironment;
  let clients: AwsClients;
  const previousBase = process.env[METRICS_BASE_PORT_ENV];
  const previousFlush = process.env.SHARDLINE_METRICS_FLUSH_SECONDS;

  beforeAll(async () => {
    process.env[METRICS_BASE_PORT_ENV] = '0'; // free ports: never collides with other local runs
    process.env.SHARDLINE_METRICS_FLUSH_SECONDS = '2'; // the agents send every 2 s (20 s by default)
    env = await startLocalEnvironment({ agents: 2, stateDir: mkdtempSync(join(tmpdir(), 'shardline-metrics-')), config: { chunkSizeBytes: 256 * 1024, replicationFactor: 2 } });
    clients = createAwsClients({ endpoint: env.state.endpoint, region: env.state.region });
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
    if (previousBase === undefined) delete process.env[METRICS_BASE_PORT_ENV];
    else process.env[METRICS_BASE_PORT_ENV] = previousBase;
    if (previousFlush === undefined) delete process.env.SHARDLINE_METRICS_FLUSH_SECONDS;
    else process.env.SHARDLINE_METRICS_FLUSH_SECONDS = previousFlush;
  });

  it('serves per-agent /metrics and publishes to CloudWatch what the agents processed; log lines carry correlation keys', async () => {
    const body = Array.from({ length: 8000 }, (_, i) => JSON.stringify({ id: i, text: `record ${i} ${'x'.repeat(i % 100)}` })).join('\n');
    const key = 'metrics/e2e.jsonl';
    await clients.s3.send(new PutObjectCommand({ Bucket: env.state.resources.ingestBucket, Key: key, Body: body }));
    const ledger = new ObjectLedger(clients.doc, env.state.resources.ledgerTable);
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === key && o.status === 'COMPLETE'), 120_000);
    expect(object.chunkCount).toBeGreaterThan(2);

    const urls = await waitForMetricsUrls(env.agents, 10_000);
    expect(urls.every((u) => u?.startsWith('http://127.0.0.1:'))).toBe(true);
    const scrape = async () => Promise.all(urls.map(async (u) => (await fetch(u as string)).text()));
    // Every chunk was committed exactly once by one of the agents. (The object completes inside the
    // last chunk's handling, just before its report reaches the recorder: hence the short wait.)
    const processed = (texts: string[]) => texts.map((t) => total(t, 'shardline_chunks_total', { result: 'processed' })).reduce((a, b) => a + b, 0);
    const texts = await waitFor(async () => {
      const t = await scrape();
      return processed(t) >= object.chunkCount && t;
    }, 10_000);
    expect(processed(texts)).toBe(object.chunkCount);
    expect(texts.map((t) => total(t, 'shardline_chunk_phase_seconds_count', { phase: 'download' })).reduce((a, b) => a + b, 0)).toBe(object.chunkCount);
    expect(texts.map((t) => total(t, 'shardline_records_processed_total')).reduce((a, b) => a + b, 0)).toBe(8000);
    // One agent leads, and reports both nodes healthy.
    await waitFor(async () => (await scrape()).some((t) => total(t, 'shardline_healthy_nodes') === 2), 15_000);

    // 1 s datapoints, sent every 2 s here: the counts reach CloudWatch (Stage "local").
    const sum = async (metricName: string) => {
      const out = await clients.cloudwatch.send(
        new GetMetricStatisticsCommand({
          Namespace: METRIC_NAMESPACE,
          MetricName: metricName,
          Dimensions: [{ Name: 'Stage', Value: 'local' }],
          StartTime: new Date(Date.now() - 3_600_000),
          EndTime: new Date(Date.now() + 60_000),
          Period: 3600,
          Statistics: ['Sum', 'SampleCount'],
        }),
      );
      return out.Datapoints?.[0];
    };
    await waitFor(async () => (await sum(AgentMetric.chunksProcessed))?.Sum === object.chunkCount, 15_000);
    expect((await sum(AgentMetric.downloadMs))?.SampleCount).toBe(object.chunkCount);
    expect((await sum(AgentMetric.recordsProcessed))?.Sum).toBe(8000);

    const logLines = env.state.agents
      .flatMap((a) => readFileSync(a.logFile, 'utf8').split('\n'))
      .filter((l) => l.includes('"chunk processed"'))
      .map((l) => JSON.parse(l));
    expect(logLines).toHaveLength(object.chunkCount);
    for (const line of logLines) {
      expect(line).toMatchObject({
        objectId: object.objectId,
        chunkId: expect.stringMatching(new RegExp(`^${object.objectId}-\\d{6}$`)),
        attempt: expect.any(Number),
        nodeId: expect.stringMatching(/^agent-\d$/),
      });
      expect(line).toEqual(
        expect.objectContaining({ downloadMs: expect.any(Number), processMs: expect.any(Number), uploadMs: expect.any(Number), commitMs: expect.any(Number), queueWaitMs: expect.any(Number) }),
      );
    }
  }, 240_000);
});
