import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { CheckpointObserver } from '../checkpoint/agent-part';
import type { DurableEvent, UploaderReport } from '../checkpoint/uploader';
import { CloudWatchWindow } from './agent-metrics/cloudwatch-window';
import { CheckpointMetric } from './checkpoint-metric-names';

export { CheckpointMetric };

const SECONDS_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800];

/**
 * The checkpoint uploader's metrics, as an observer of it (`CheckpointAgentOptions.observer`):
 * Prometheus series on the agent's registry, and CloudWatch datums that `takeCloudWatchData`
 * hands over with the agent's others (see `publishWithAgentMetrics`). Recording only touches memory.
 */
export class CheckpointMetrics implements CheckpointObserver {
  private readonly window: CloudWatchWindow;
  private report?: () => UploaderReport;
  /** The counters at the last take, for the per-interval sums. */
  private taken = { bytesSent: 0, failed: 0 };
  private readonly seconds: Histogram<'phase'>;

  constructor(opts: { stage: string; registry: Registry }) {
    this.window = new CloudWatchWindow(opts.stage);
    const registers = [opts.registry];
    const report = () => this.report?.();
    this.seconds = new Histogram({
      name: 'shardline_checkpoint_part_seconds',
      help: 'Checkpoint parts: to_durable is from the end of save() to registered DURABLE; upload is the upload, checks and registration',
      labelNames: ['phase'],
      buckets: SECONDS_BUCKETS,
      registers,
    });
    // Counters read from the uploader's own at scrape time.
    new Counter({
      name: 'shardline_checkpoint_parts_total',
      help: 'Checkpoint parts finished by this agent, by result (durable, failed)',
      labelNames: ['result'],
      registers,
      collect() {
        const r = report();
        if (!r) return;
        this.reset();
        this.inc({ result: 'durable' }, r.durable);
        this.inc({ result: 'failed' }, r.failed);
      },
    });
    new Counter({
      name: 'shardline_checkpoint_bytes_uploaded_total',
      help: 'Bytes of checkpoint parts S3 acknowledged',
      registers,
      collect() {
        const r = report();
        if (!r) return;
        this.reset();
        this.inc(r.bytesSent);
      },
    });
    new Gauge({
      name: 'shardline_checkpoint_oldest_pending_seconds',
      help: 'How long the oldest checkpoint part handed off on this host has not been durable (0: none)',
      registers,
      collect() {
        this.set((report()?.oldestPendingMs ?? 0) / 1000);
      },
    });
    new Gauge({
      name: 'shardline_checkpoint_parts_pending',
      help: 'Checkpoint parts handed off on this host and not yet durable',
      registers,
      collect() {
        this.set(report()?.pending ?? 0);
      },
    });
  }

  attach(report: () => UploaderReport): void {
    this.report = report;
    const r = report();
    this.taken = { bytesSent: r.bytesSent, failed: r.failed };
  }

  durable(e: DurableEvent): void {
    this.seconds.observe({ phase: 'to_durable' }, e.msToDurable / 1000);
    this.seconds.observe({ phase: 'upload' }, e.uploadMs / 1000);
    this.window.observe(CheckpointMetric.timeToDurableMs, 'Milliseconds', e.msToDurable);
    this.window.observe(CheckpointMetric.uploadMs, 'Milliseconds', e.uploadMs);
    this.window.add(CheckpointMetric.partsDurable, 'Count', 1);
  }

  /** Everything since the last call, and the gauges sampled now (nothing before an uploader is attached). */
  takeCloudWatchData(timestamp: Date): MetricDatum[] {
    const r = this.report?.();
    if (!r) return this.window.take(timestamp);
    const failed = r.failed - this.taken.failed;
    this.window.add(CheckpointMetric.bytesUploaded, 'Bytes', r.bytesSent - this.taken.bytesSent);
    this.window.add(CheckpointMetric.partsFailed, 'Count', failed);
    this.taken = { bytesSent: r.bytesSent, failed: r.failed };
    return [
      ...this.window.take(timestamp),
      // Every second, 0 included: the alarm reads the Maximum across agents.
      this.window.gauge(CheckpointMetric.oldestPendingSeconds, 'Seconds', Math.round(r.oldestPendingMs / 1000), timestamp),
      this.window.gauge(CheckpointMetric.partsPending, 'Count', r.pending, timestamp),
    ];
  }
}

/**
 * Has the agent's publisher send the checkpoint datums with its own: whatever takes the agent
 * recorder's CloudWatch data (once a second, one batched PutMetricData) gets these too.
 */
export function publishWithAgentMetrics(agent: { takeCloudWatchData(timestamp?: Date): MetricDatum[] }, checkpoints: CheckpointMetrics): void {
  const takeAgent = agent.takeCloudWatchData.bind(agent);
  agent.takeCloudWatchData = (timestamp = new Date()) => [...takeAgent(timestamp), ...checkpoints.takeCloudWatchData(timestamp)];
}
