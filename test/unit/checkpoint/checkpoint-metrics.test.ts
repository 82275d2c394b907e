import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { Registry } from 'prom-client';
import type { UploaderReport } from '../../../lib/checkpoint/uploader';
import { AgentMetrics } from '../../../lib/observability/agent-metrics/recorder';
import { CheckpointMetric, CheckpointMetrics, publishWithAgentMetrics } from '../../../lib/observability/checkpoint-metrics';

const report = (r: Partial<UploaderReport> = {}): UploaderReport => ({ queued: 0, pending: 0, oldestPendingMs: 0, durable: 0, failed: 0, bytesUploaded: 0, bytesSent: 0, ...r });
const named = (datums: MetricDatum[], name: string) => datums.filter((d) => d.MetricName === name);
const at = new Date(1_700_000_000_000);

describe('CheckpointMetrics', () => {
  it('publishes bytes sent and failures per interval, time to durable per part, and the oldest pending part', () => {
    const metrics = new CheckpointMetrics({ stage: 'test', registry: new Registry() });
    let now = report({ bytesSent: 1000 });
    metrics.attach(() => now);
    metrics.durable({ job: 'j', step: 1, rank: 0, bytes: 64, msToDurable: 4200, uploadMs: 4100, committed: true });
    metrics.durable({ job: 'j', step: 1, rank: 1, bytes: 64, msToDurable: 4200, uploadMs: 3900, committed: false });
    now = report({ bytesSent: 5000, failed: 1, pending: 2, oldestPendingMs: 61_400 });
    const first = metrics.takeCloudWatchData(at);
    expect(named(first, CheckpointMetric.bytesUploaded)).toEqual([expect.objectContaining({ Value: 4000, Unit: 'Bytes', Dimensions: [{ Name: 'Stage', Value: 'test' }], StorageResolution: 1 })]);
    expect(named(first, CheckpointMetric.timeToDurableMs)).toEqual([expect.objectContaining({ Values: [4200], Counts: [2] })]);
    expect(named(first, CheckpointMetric.uploadMs)[0]).toMatchObject({ Values: [3900, 4100], Counts: [1, 1] });
    expect(named(first, CheckpointMetric.partsDurable)[0].Value).toBe(2);
    expect(named(first, CheckpointMetric.partsFailed)[0].Value).toBe(1);
    expect(named(first, CheckpointMetric.oldestPendingSeconds)[0]).toMatchObject({ Value: 61, Unit: 'Seconds' });
    expect(named(first, CheckpointMetric.partsPending)[0].Value).toBe(2);
    // Nothing new: only the gauges, every second (0 too: the alarm reads the Maximum).
    now = report({ bytesSent: 5000, failed: 1 });
    const second = metrics.takeCloudWatchData(at);
    expect(second.map((d) => [d.MetricName, d.Value])).toEqual([
      [CheckpointMetric.oldestPendingSeconds, 0],
      [CheckpointMetric.partsPending, 0],
    ]);
  });

  it('sends nothing but what was recorded before an uploader is attached', () => {
    const metrics = new CheckpointMetrics({ stage: 'test', registry: new Registry() });
    expect(metrics.takeCloudWatchData(at)).toEqual([]);
  });

  it('rides along with the agent recorder, so the one publisher sends both', async () => {
    const agent = new AgentMetrics({ stage: 'test', nodeId: 'n1' });
    const metrics = new CheckpointMetrics({ stage: 'test', registry: agent.registry });
    metrics.attach(() => report({ bytesSent: 0, pending: 1, oldestPendingMs: 3000, durable: 1 }));
    publishWithAgentMetrics(agent, metrics);
    const names = agent.takeCloudWatchData(at).map((d) => d.MetricName);
    expect(names).toEqual(expect.arrayContaining(['ChunksInFlight', CheckpointMetric.oldestPendingSeconds, CheckpointMetric.partsPending]));
    const text = await agent.prometheusText();
    expect(text).toContain('shardline_checkpoint_oldest_pending_seconds{stage="test",node="n1"} 3');
    expect(text).toContain('shardline_checkpoint_parts_total{result="durable",stage="test",node="n1"} 1');
  });
});
