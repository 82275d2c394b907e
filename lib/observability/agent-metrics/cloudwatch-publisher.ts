import { PutMetricDataCommand, type CloudWatchClient, type MetricDatum } from '@aws-sdk/client-cloudwatch';
import { METRIC_NAMESPACE } from '../metric-names';
import { toRequests } from './cloudwatch-window';
import type { Log } from '../../log';

export interface CloudWatchPublisherDeps {
  cloudwatch: Pick<CloudWatchClient, 'send'>;
  /** Hands over everything recorded since the last call (see `AgentMetrics.takeCloudWatchData`). */
  take: (timestamp: Date) => MetricDatum[];
  log: Log;
  /** How often the recorder's data is taken (each take is one 1 s datapoint per metric). @default 1000 */
  intervalMs?: number;
  /**
   * How often what was taken is sent: one PutMetricData carries every second since the last send,
   * each datum stamped with its own second, so the metrics keep 1 s resolution while a node makes
   * one call per 20 s (1,000 nodes: 50 calls/s, well under the Region's PutMetricData quota). 0: every take.
   * @default DEFAULT_FLUSH_EVERY_MS
   */
  flushEveryMs?: number;
  /** @default METRIC_NAMESPACE */
  namespace?: string;
  now?: () => number;
}

/** How often the agent sends its metrics by default. */
export const DEFAULT_FLUSH_EVERY_MS = 20_000;

/** How often a persistent failure is logged again (the first one is logged at once). */
const FAILURE_LOG_EVERY_MS = 60_000;

/**
 * Publishes the agent's metrics: takes them every second (1 s datapoints) and sends them with
 * PutMetricData every `flushEveryMs`. A tick never waits for the previous one: while a send is
 * still running the data stays in the recorder for the next tick.
 * A failed send is logged (the first at once, then at most once a minute with how many datums
 * were dropped) and never thrown, so CloudWatch trouble cannot reach chunk work.
 */
export class CloudWatchPublisher {
  private timer?: NodeJS.Timeout;
  private sending?: Promise<void>;
  private failures = 0;
  private dropped = 0;
  private lastFailureLogAt = -Infinity;
  private published = 0;
  private pending: MetricDatum[] = [];
  private lastFlushAt: number;

  constructor(private readonly deps: CloudWatchPublisherDeps) {
    this.lastFlushAt = this.now();
  }

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.tick(), this.deps.intervalMs ?? 1000);
    this.timer.unref();
  }

  /** Stops the timer and sends what is left (waiting for a send under way first). */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.sending;
    await this.tick(true);
  }

  /** Datums accepted by CloudWatch so far. */
  get publishedDatums(): number {
    return this.published;
  }

  /** One round: takes the recorder's data, and sends what was taken when a flush is due (or `flush`), unless a send is still under way. */
  async tick(flush = false): Promise<void> {
    if (this.sending) return;
    const now = this.now();
    this.pending.push(...this.deps.take(new Date(now)));
    if (!flush && now - this.lastFlushAt < (this.deps.flushEveryMs ?? DEFAULT_FLUSH_EVERY_MS)) return;
    this.lastFlushAt = now;
    const datums = this.pending;
    this.pending = [];
    if (datums.length === 0) return;
    this.sending = this.send(datums).finally(() => (this.sending = undefined));
    await this.sending;
  }

  private now(): number {
    return (this.deps.now ?? Date.now)();
  }

  private async send(datums: MetricDatum[]): Promise<void> {
    const namespace = this.deps.namespace ?? METRIC_NAMESPACE;
    for (const batch of toRequests(datums)) {
      try {
        await this.deps.cloudwatch.send(new PutMetricDataCommand({ Namespace: namespace, MetricData: batch }));
        this.published += batch.length;
        if (this.failures > 0) {
          this.deps.log('info', 'metrics publishing recovered', { failures: this.failures, droppedDatums: this.dropped });
          this.failures = 0;
          this.dropped = 0;
          this.lastFailureLogAt = -Infinity;
        }
      } catch (err) {
        this.failures++;
        this.dropped += batch.length;
        const now = (this.deps.now ?? Date.now)();
        if (now - this.lastFailureLogAt >= FAILURE_LOG_EVERY_MS) {
          this.lastFailureLogAt = now;
          this.deps.log('warn', 'metrics not published to CloudWatch', { error: (err as Error).message, failures: this.failures, droppedDatums: this.dropped });
        }
      }
    }
  }
}
