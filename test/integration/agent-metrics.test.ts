import { GetMetricDataCommand, GetMetricStatisticsCommand, type Statistic } from '@aws-sdk/client-cloudwatch';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ChunkReport } from '../../lib/agent/chunk-worker';
import { SHORT } from '../../lib/ledger/items';
import { startAgentTelemetry } from '../../lib/observability/agent-metrics/agent-telemetry';
import { CloudWatchPublisher } from '../../lib/observability/agent-metrics/cloudwatch-publisher';
import { countShardsBelowReplication, LeaderGaugeSampler } from '../../lib/observability/agent-metrics/leader-gauges';
import { AgentMetrics } from '../../lib/observability/agent-metrics/recorder';
import { AgentMetric, METRIC_NAMESPACE } from '../../lib/observability/metric-names';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const processed = (downloadMs: number, chunkId: string): ChunkReport => ({
  result: 'processed',
  chunkId,
  objectId: 'obj',
  attempt: 1,
  queueWaitMs: 50,
  totalMs: downloadMs + 100,
  stages: { leaseMs: 3, workMs: downloadMs + 60, commitMs: 20, finalizeMs: 2 },
  outcome: {
    counts: { recordsIn: 100, recordsOut: 99, recordsRejected: 1, recordsFiltered: 0, bytesIn: 4096 },
    shard: { key: 'k', bytes: 10, sha256: 'x' } as never,
    timings: { downloadMs, processMs: 40, uploadMs: 20 },
  },
});

/** The value of the sample of `name` whose labels include `labels` (in any order), from Prometheus text. */
function sampleOf(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)\{(.*)\} (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...m[2].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('agent metrics against the local endpoint (real SDK clients)', () => {
  let local: ProvisionedEndpoint;
  const started = new Date(Date.now() - 60_000);

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
  }, 60_000);
  afterAll(async () => local?.server.stop());

  async function statistics(stage: string, metricName: string, statistics: Statistic[], extra: Record<string, string> = {}) {
    const out = await local.clients.cloudwatch.send(
      new GetMetricStatisticsCommand({
        Namespace: METRIC_NAMESPACE,
        MetricName: metricName,
        Dimensions: [{ Name: 'Stage', Value: stage }, ...Object.entries(extra).map(([Name, Value]) => ({ Name, Value }))],
        StartTime: started,
        EndTime: new Date(Date.now() + 60_000),
        Period: 3600,
        Statistics: statistics,
      }),
    );
    return out.Datapoints ?? [];
  }

  it('publishes a second of chunk reports that GetMetricStatistics and GetMetricData read back', async () => {
    const stage = `it-publish-${Date.now()}`;
    const metrics = new AgentMetrics({ stage, nodeId: 'node-a' });
    metrics.setInFlightSource(() => 2);
    metrics.recordChunk(processed(40, 'c0'));
    metrics.recordChunk(processed(60, 'c1'));
    metrics.recordChunk(processed(80, 'c2'));
    metrics.recordChunk({ result: 'failed', chunkId: 'c3', errorKind: 's3', error: 'NoSuchKey' });
    metrics.recordThrottle('DynamoDB');
    metrics.recordThrottle('DynamoDB');
    const logs: string[] = [];
    const publisher = new CloudWatchPublisher({ cloudwatch: local.clients.cloudwatch, take: (t) => metrics.takeCloudWatchData(t), log: (_l, m) => logs.push(m), flushEveryMs: 0 });

    await publisher.tick();

    expect(logs).toEqual([]);
    const download = await statistics(stage, AgentMetric.downloadMs, ['SampleCount', 'Sum', 'Minimum', 'Maximum']);
    expect(download).toEqual([expect.objectContaining({ SampleCount: 3, Sum: 180, Minimum: 40, Maximum: 80 })]);
    expect(await statistics(stage, AgentMetric.chunksProcessed, ['Sum'])).toEqual([expect.objectContaining({ Sum: 3 })]);
    expect(await statistics(stage, AgentMetric.bytesProcessed, ['Sum'])).toEqual([expect.objectContaining({ Sum: 3 * 4096 })]);
    expect(await statistics(stage, AgentMetric.chunkErrors, ['Sum'], { ErrorKind: 's3' })).toEqual([expect.objectContaining({ Sum: 1 })]);
    expect(await statistics(stage, AgentMetric.throttles, ['Sum'], { Service: 'DynamoDB' })).toEqual([expect.objectContaining({ Sum: 2 })]);
    expect(await statistics(stage, AgentMetric.chunksInFlight, ['Maximum'])).toEqual([expect.objectContaining({ Maximum: 2 })]);

    const data = await local.clients.cloudwatch.send(
      new GetMetricDataCommand({
        StartTime: started,
        EndTime: new Date(Date.now() + 60_000),
        MetricDataQueries: [
          { Id: 'commit', MetricStat: { Metric: { Namespace: METRIC_NAMESPACE, MetricName: AgentMetric.commitMs, Dimensions: [{ Name: 'Stage', Value: stage }] }, Period: 3600, Stat: 'SampleCount' } },
        ],
      }),
    );
    expect(data.MetricDataResults?.[0]?.Values).toEqual([3]);
  });

  it('serves /metrics over HTTP, falls back to a free port when the asked one is busy, and logs the port', async () => {
    const busy: Server = createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
    const busyPort = (busy.address() as AddressInfo).port;
    const logs: Array<{ message: string; fields?: Record<string, unknown> }> = [];
    const telemetry = await startAgentTelemetry({
      stage: 'it-http',
      nodeId: 'node-h',
      metricsPort: busyPort,
      metricsHost: '127.0.0.1',
      leader: { doc: local.clients.doc, ledgerTable: local.resources.ledgerTable, healthyNodes: async () => 3 },
      log: (_level, message, fields) => logs.push({ message, fields }),
      processMetrics: false,
    });
    try {
      telemetry.hooks.onChunk(processed(30, 'h0'));
      telemetry.hooks.onChunk({ result: 'lease-lost', chunkId: 'h1', errorKind: 'lease-lost' });
      telemetry.hooks.onReplicaPulled({ chunkId: 'h0', objectId: 'obj' });
      telemetry.metrics.setInFlightSource(() => 1);

      const port = telemetry.endpoint?.port;
      expect(port).toBeGreaterThan(0);
      expect(port).not.toBe(busyPort);
      expect(logs).toContainEqual({ message: 'metrics endpoint listening', fields: { port, url: `http://127.0.0.1:${port}/metrics`, requestedPort: busyPort } });

      const res = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = await res.text();
      const labels = { stage: 'it-http', node: 'node-h' };
      expect(sampleOf(text, 'shardline_chunk_phase_seconds_count', { ...labels, phase: 'download' })).toBe(1);
      expect(sampleOf(text, 'shardline_chunk_phase_seconds_sum', { ...labels, phase: 'download' })).toBeCloseTo(0.03, 6);
      expect(sampleOf(text, 'shardline_chunks_total', { ...labels, result: 'processed' })).toBe(1);
      expect(sampleOf(text, 'shardline_chunk_errors_total', { ...labels, kind: 'lease-lost' })).toBe(1);
      expect(sampleOf(text, 'shardline_replicas_pulled_total', labels)).toBe(1);
      expect(sampleOf(text, 'shardline_chunks_in_flight', labels)).toBe(1);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    } finally {
      await telemetry.stop();
      await new Promise((r) => busy.close(r));
    }
  });

  it('samples shards below R from the ledger index and healthy nodes, for the leader to publish', async () => {
    const table = local.resources.ledgerTable;
    for (const i of [1, 2]) {
      await local.clients.doc.send(new PutCommand({ TableName: table, Item: { pk: `OBJ#short-${i}`, sk: 'CHUNK#000000', status: 'PROCESSED', shortOfReplicas: SHORT } }));
    }
    await local.clients.doc.send(new PutCommand({ TableName: table, Item: { pk: 'OBJ#fine', sk: 'CHUNK#000000', status: 'PROCESSED' } }));
    expect(await countShardsBelowReplication(local.clients.doc, table)).toBe(2);

    const metrics = new AgentMetrics({ stage: 'it-leader', nodeId: 'node-l' });
    const sampler = new LeaderGaugeSampler({ doc: local.clients.doc, ledgerTable: table, healthyNodes: async () => 5, log: () => undefined }, (v) => metrics.setLeaderGauges(v));
    await sampler.sample();
    metrics.recordLeaderSweep(9);

    const datums = metrics.takeCloudWatchData();
    expect(datums.find((d) => d.MetricName === AgentMetric.shardsBelowReplication)?.Value).toBe(2);
    expect(datums.find((d) => d.MetricName === AgentMetric.healthyNodes)?.Value).toBe(5);
    expect(datums.find((d) => d.MetricName === AgentMetric.leaderChanges)?.Value).toBe(1);
  });
});
