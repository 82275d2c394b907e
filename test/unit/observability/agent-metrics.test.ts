import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import type { ChunkReport } from '../../../lib/agent/chunk-worker';
import { CloudWatchPublisher } from '../../../lib/observability/agent-metrics/cloudwatch-publisher';
import { CloudWatchWindow, PUT_METRIC_DATA_LIMITS, toRequests } from '../../../lib/observability/agent-metrics/cloudwatch-window';
import { AgentMetrics } from '../../../lib/observability/agent-metrics/recorder';
import { AgentMetric } from '../../../lib/observability/metric-names';

const processed = (over: Partial<ChunkReport> = {}, timings = { downloadMs: 40, processMs: 25, uploadMs: 15 }): ChunkReport => ({
  result: 'processed',
  chunkId: 'o-000000',
  objectId: 'o',
  attempt: 1,
  queueWaitMs: 100,
  totalMs: 120,
  stages: { leaseMs: 5, workMs: 80, commitMs: 30, finalizeMs: 5 },
  outcome: {
    counts: { recordsIn: 10, recordsOut: 8, recordsRejected: 2, recordsFiltered: 0, bytesIn: 1000 },
    shard: { key: 's', bytes: 1, sha256: 'x' } as never,
    timings,
  },
  ...over,
});

const datum = (datums: MetricDatum[], name: string, dims: Record<string, string> = {}) =>
  datums.filter((d) => d.MetricName === name && JSON.stringify(d.Dimensions) === JSON.stringify([{ Name: 'Stage', Value: 'test' }, ...Object.entries(dims).map(([Name, Value]) => ({ Name, Value }))]));

/** One sample value from the Prometheus text, e.g. `shardline_chunks_total{result="processed",...}`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('AgentMetrics', () => {
  let clock: number;
  const newMetrics = () => new AgentMetrics({ stage: 'test', nodeId: 'node-1', now: () => clock });
  beforeEach(() => {
    clock = 1_700_000_000_000;
  });

  it('aggregates processed chunks into per-stage value/count arrays and summed counters', () => {
    const m = newMetrics();
    m.recordChunk(processed());
    m.recordChunk(processed({ queueWaitMs: 100.4, totalMs: 300 }, { downloadMs: 60, processMs: 25, uploadMs: 15 }));
    m.recordChunk(processed({ result: 'duplicate', outcome: undefined }));

    const datums = m.takeCloudWatchData(new Date(clock));

    expect(datum(datums, AgentMetric.queueWaitMs)).toEqual([expect.objectContaining({ Values: [100], Counts: [2], Unit: 'Milliseconds', StorageResolution: 1 })]);
    expect(datum(datums, AgentMetric.downloadMs)[0]).toMatchObject({ Values: [40, 60], Counts: [1, 1] });
    expect(datum(datums, AgentMetric.processMs)[0]).toMatchObject({ Values: [25], Counts: [2] });
    expect(datum(datums, AgentMetric.uploadMs)[0]).toMatchObject({ Values: [15], Counts: [2] });
    expect(datum(datums, AgentMetric.commitMs)[0]).toMatchObject({ Values: [30], Counts: [2] });
    expect(datum(datums, AgentMetric.totalMs)[0]).toMatchObject({ Values: [120, 300], Counts: [1, 1] });
    expect(datum(datums, AgentMetric.chunksProcessed)[0]).toMatchObject({ Value: 2, Unit: 'Count' });
    expect(datum(datums, AgentMetric.bytesProcessed)[0]).toMatchObject({ Value: 2000, Unit: 'Bytes' });
    expect(datum(datums, AgentMetric.recordsProcessed)[0]).toMatchObject({ Value: 20 });
    expect(datum(datums, AgentMetric.recordsRejected)[0]).toMatchObject({ Value: 4 });
    expect(datums.every((d) => d.Timestamp?.getTime() === clock && d.StorageResolution === 1)).toBe(true);
  });

  it('counts errors both in total and by kind, and throttles by service', () => {
    const m = newMetrics();
    m.recordChunk({ result: 'failed', chunkId: 'c', errorKind: 's3', error: 'x' });
    m.recordChunk({ result: 'failed', chunkId: 'c', errorKind: 's3', error: 'x' });
    m.recordChunk({ result: 'failed', errorKind: 'malformed', error: 'x' });
    m.recordChunk({ result: 'lease-lost', chunkId: 'c' });
    m.recordThrottle('S3');
    m.recordThrottle('DynamoDB');
    m.recordThrottle('DynamoDB');

    const datums = m.takeCloudWatchData();

    expect(datum(datums, AgentMetric.chunkErrors)).toEqual([expect.objectContaining({ Value: 4 })]);
    expect(datum(datums, AgentMetric.chunkErrors, { ErrorKind: 's3' })[0]).toMatchObject({ Value: 2 });
    expect(datum(datums, AgentMetric.chunkErrors, { ErrorKind: 'malformed' })[0]).toMatchObject({ Value: 1 });
    expect(datum(datums, AgentMetric.chunkErrors, { ErrorKind: 'lease-lost' })[0]).toMatchObject({ Value: 1 });
    expect(datum(datums, AgentMetric.throttles, { Service: 'S3' })[0]).toMatchObject({ Value: 1 });
    expect(datum(datums, AgentMetric.throttles, { Service: 'DynamoDB' })[0]).toMatchObject({ Value: 2 });
    expect(datum(datums, AgentMetric.chunksProcessed)).toEqual([]);
  });

  it('hands each interval over once: the next take has only the gauges', () => {
    const m = newMetrics();
    let inFlight = 3;
    m.setInFlightSource(() => inFlight);
    m.recordChunk(processed());
    m.recordReplicaPulled(2);
    const first = m.takeCloudWatchData();
    expect(datum(first, AgentMetric.replicasPulled)[0]).toMatchObject({ Value: 2 });
    expect(datum(first, AgentMetric.chunksInFlight)[0]).toMatchObject({ Value: 3 });

    inFlight = 0;
    const second = m.takeCloudWatchData();
    expect(second.map((d) => d.MetricName)).toEqual([AgentMetric.chunksInFlight]);
    expect(second[0].Value).toBe(0);
  });

  it('publishes the leader gauges only while the leader samples are fresh, and counts leader changes by token', () => {
    const m = newMetrics();
    m.recordLeaderSweep(1);
    m.recordLeaderSweep(1);
    m.setLeaderGauges({ healthyNodes: 3, shardsBelowReplication: 2 });
    const leading = m.takeCloudWatchData();
    expect(datum(leading, AgentMetric.leaderChanges)[0]).toMatchObject({ Value: 1 });
    expect(datum(leading, AgentMetric.healthyNodes)[0]).toMatchObject({ Value: 3 });
    expect(datum(leading, AgentMetric.shardsBelowReplication)[0]).toMatchObject({ Value: 2 });

    clock += 10_000; // no sample since: no longer leader
    const after = m.takeCloudWatchData();
    expect(datum(after, AgentMetric.healthyNodes)).toEqual([]);

    m.recordLeaderSweep(2); // leads again, with a new fencing token
    expect(datum(m.takeCloudWatchData(), AgentMetric.leaderChanges)[0]).toMatchObject({ Value: 1 });
  });

  it('serves Prometheus text with histograms, counters and gauges holding the recorded values', async () => {
    const m = newMetrics();
    m.setInFlightSource(() => 2);
    m.recordChunk(processed());
    m.recordChunk(processed({}, { downloadMs: 3000, processMs: 25, uploadMs: 15 }));
    m.recordChunk({ result: 'failed', errorKind: 'transform', chunkId: 'c' });
    m.recordChunk({ result: 'busy', chunkId: 'c' });
    m.recordThrottle('S3');
    m.recordReplicaPulled();
    m.recordLeaderSweep(7);
    m.setLeaderGauges({ healthyNodes: 4, shardsBelowReplication: 1 });

    const text = await m.prometheusText();

    expect(sample(text, 'shardline_chunk_phase_seconds_count', { phase: 'download', stage: 'test', node: 'node-1' })).toBe(2);
    expect(sample(text, 'shardline_chunk_phase_seconds_sum', { phase: 'download' })).toBeCloseTo(3.04, 5);
    expect(sample(text, 'shardline_chunk_phase_seconds_bucket', { phase: 'download', le: '0.05' })).toBe(1);
    expect(sample(text, 'shardline_chunk_phase_seconds_bucket', { phase: 'download', le: '5' })).toBe(2);
    expect(sample(text, 'shardline_chunk_phase_seconds_count', { phase: 'queue_wait' })).toBe(2);
    expect(sample(text, 'shardline_chunk_phase_seconds_count', { phase: 'commit' })).toBe(2);
    expect(sample(text, 'shardline_chunks_total', { result: 'processed' })).toBe(2);
    expect(sample(text, 'shardline_chunks_total', { result: 'busy' })).toBe(1);
    expect(sample(text, 'shardline_chunk_errors_total', { kind: 'transform' })).toBe(1);
    expect(sample(text, 'shardline_bytes_processed_total')).toBe(2000);
    expect(sample(text, 'shardline_records_processed_total')).toBe(20);
    expect(sample(text, 'shardline_records_rejected_total')).toBe(4);
    expect(sample(text, 'shardline_throttles_total', { service: 'S3' })).toBe(1);
    expect(sample(text, 'shardline_replicas_pulled_total')).toBe(1);
    expect(sample(text, 'shardline_leader_changes_total')).toBe(1);
    expect(sample(text, 'shardline_chunks_in_flight')).toBe(2);
    expect(sample(text, 'shardline_healthy_nodes', { leader: 'node-1' })).toBe(4);
    expect(sample(text, 'shardline_shards_below_replication')).toBe(1);
    expect(text).toContain('node="node-1"');
    expect(text).toContain('stage="test"');

    clock += 10_000; // stopped leading: the cluster gauges disappear rather than go stale
    const later = await m.prometheusText();
    expect(sample(later, 'shardline_healthy_nodes')).toBeUndefined();
  });
});

describe('CloudWatchWindow and toRequests (PutMetricData limits)', () => {
  it('splits more than 150 distinct values of one metric over several datums', () => {
    const w = new CloudWatchWindow('test');
    for (let v = 0; v < 400; v++) w.observe(AgentMetric.downloadMs, 'Milliseconds', v);
    w.observe(AgentMetric.downloadMs, 'Milliseconds', 7);
    const datums = w.take(new Date());
    expect(datums).toHaveLength(3);
    expect(datums.every((d) => (d.Values?.length ?? 0) <= PUT_METRIC_DATA_LIMITS.valuesPerDatum)).toBe(true);
    expect(datums.flatMap((d) => d.Counts ?? []).reduce((a, b) => a + b, 0)).toBe(401);
    expect(datums[0].Counts?.[7]).toBe(2);
    expect(w.empty).toBe(true);
  });

  it('ignores zero counter increments and non-finite observations', () => {
    const w = new CloudWatchWindow('test');
    w.add(AgentMetric.chunksProcessed, 'Count', 0);
    w.observe(AgentMetric.processMs, 'Milliseconds', Number.NaN);
    expect(w.take(new Date())).toEqual([]);
  });

  it('batches datums into requests of at most 1000 datums and under the payload limit', () => {
    const small = Array.from({ length: 2500 }, (_, i) => ({ MetricName: 'M', Value: i }));
    expect(toRequests(small).map((r) => r.length)).toEqual([1000, 1000, 500]);
    const big = Array.from({ length: 400 }, () => ({ MetricName: 'M', Values: Array.from({ length: 150 }, (_, i) => 1e9 + i), Counts: Array.from({ length: 150 }, () => 1e6) }));
    const requests = toRequests(big);
    expect(requests.length).toBeGreaterThan(1);
    expect(requests.flat()).toHaveLength(400);
    for (const r of requests) expect(JSON.stringify(r).length).toBeLessThanOrEqual(PUT_METRIC_DATA_LIMITS.bytesPerRequest + r.length);
  });
});

describe('CloudWatchPublisher', () => {
  const metricData = (n: number): MetricDatum[] => Array.from({ length: n }, (_, i) => ({ MetricName: `M${i}`, Value: 1 }));

  it('sends what it takes under the Shardline namespace, and nothing when there is nothing', async () => {
    const sent: Array<{ Namespace?: string; MetricData?: MetricDatum[] }> = [];
    const takes = [metricData(3), []];
    const publisher = new CloudWatchPublisher({
      cloudwatch: { send: async (c: { input: object }) => void sent.push(c.input) } as never,
      take: () => takes.shift() ?? [],
      log: () => undefined,
      flushEveryMs: 0,
    });
    await publisher.tick();
    await publisher.tick();
    expect(sent).toHaveLength(1);
    expect(sent[0].Namespace).toBe('Shardline');
    expect(sent[0].MetricData).toHaveLength(3);
    expect(publisher.publishedDatums).toBe(3);
  });

  it('logs a failed send once (not on every tick) and never throws', async () => {
    const logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
    let fail = true;
    const publisher = new CloudWatchPublisher({
      cloudwatch: {
        send: async () => {
          if (fail) throw new Error('endpoint down');
        },
      } as never,
      take: () => metricData(2),
      log: (level, message, fields) => logs.push({ level, message, fields }),
      flushEveryMs: 0,
    });
    await publisher.tick();
    await publisher.tick();
    await publisher.tick();
    expect(logs).toEqual([{ level: 'warn', message: 'metrics not published to CloudWatch', fields: { error: 'endpoint down', failures: 1, droppedDatums: 2 } }]);
    fail = false;
    await publisher.tick();
    expect(logs[1]).toMatchObject({ level: 'info', message: 'metrics publishing recovered', fields: { failures: 3, droppedDatums: 6 } });
  });

  it('does not start a second send while one is under way: the data waits for the next tick', async () => {
    let release!: () => void;
    const sends: number[] = [];
    let taken = 0;
    const publisher = new CloudWatchPublisher({
      cloudwatch: {
        send: (c: { input: { MetricData: MetricDatum[] } }) => {
          sends.push(c.input.MetricData.length);
          return new Promise<void>((r) => (release = r));
        },
      } as never,
      take: () => {
        taken++;
        return metricData(1);
      },
      log: () => undefined,
      flushEveryMs: 0,
    });
    const first = publisher.tick();
    await publisher.tick(); // returns at once: a send is under way
    expect(sends).toEqual([1]);
    expect(taken).toBe(1);
    release();
    await first;
  });

  it('sends every second taken in one request per 20 s, each datum stamped with its own second, and the rest at stop', async () => {
    let now = 1_000_000;
    const sent: MetricDatum[][] = [];
    const publisher = new CloudWatchPublisher({
      cloudwatch: { send: async (c: { input: { MetricData: MetricDatum[] } }) => void sent.push(c.input.MetricData) } as never,
      take: (t) => [{ MetricName: 'ChunksInFlight', Value: 0, Timestamp: t }],
      log: () => undefined,
      now: () => now,
    });
    for (let i = 0; i < 45; i++) {
      now += 1000;
      await publisher.tick();
    }
    expect(sent.map((r) => r.length)).toEqual([20, 20]);
    expect(sent[0].map((d) => (d.Timestamp as Date).getTime() - 1_000_000)).toEqual(Array.from({ length: 20 }, (_, i) => (i + 1) * 1000));
    await publisher.stop();
    expect(sent.map((r) => r.length)).toEqual([20, 20, 6]); // five seconds pending, and the one stop takes
  });
});
