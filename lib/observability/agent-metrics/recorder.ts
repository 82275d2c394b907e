import type { MetricDatum } from '@aws-sdk/client-cloudwatch';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { ChunkReport } from '../../agent/chunk-worker';
import type { ThrottleService } from '../../aws/throttling';
import { AgentMetric, ERROR_KIND_DIMENSION, SERVICE_DIMENSION } from '../metric-names';
import { CloudWatchWindow } from './cloudwatch-window';

/**
 * A chunk's latency split into phases: the CloudWatch metric and the Prometheus `phase` label
 * (not `stage`, which names the deployment stage on every series, like CloudWatch's `Stage`).
 */
export const CHUNK_PHASES = [
  { phase: 'queue_wait', metric: AgentMetric.queueWaitMs, ms: (r: ChunkReport) => r.queueWaitMs },
  { phase: 'download', metric: AgentMetric.downloadMs, ms: (r: ChunkReport) => r.outcome?.timings.downloadMs },
  { phase: 'process', metric: AgentMetric.processMs, ms: (r: ChunkReport) => r.outcome?.timings.processMs },
  { phase: 'upload', metric: AgentMetric.uploadMs, ms: (r: ChunkReport) => r.outcome?.timings.uploadMs },
  { phase: 'commit', metric: AgentMetric.commitMs, ms: (r: ChunkReport) => r.stages?.commitMs },
  { phase: 'total', metric: AgentMetric.totalMs, ms: (r: ChunkReport) => r.totalMs },
] as const;

/** Histogram buckets in seconds: from a few ms (commit on a quiet table) to minutes (a big chunk). */
const PHASE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

export interface AgentMetricsOptions {
  /** The `Stage` dimension (CloudWatch) and `stage` label (Prometheus). */
  stage: string;
  nodeId: string;
  /** How long the leader's gauges stay valid without a new sample (then this node is no longer leader). @default 3000 */
  leaderGaugesTtlMs?: number;
  /** Also export Node's process metrics (CPU, memory, event loop lag) to Prometheus. @default false */
  processMetrics?: boolean;
  now?: () => number;
}

/** What the leader measures about the whole cluster. */
export interface LeaderGaugeValues {
  healthyNodes: number;
  shardsBelowReplication: number;
}

/**
 * The agent's one metrics recorder. It is fed chunk reports (`AgentDeps.onChunk`), throttles,
 * replica pulls and the leader's samples; it keeps Prometheus metrics (served on `/metrics`) and
 * a CloudWatch window that the publisher takes once a second. Every call is synchronous and only
 * touches memory, so recording never delays chunk work.
 */
export class AgentMetrics {
  readonly registry = new Registry();
  private readonly window: CloudWatchWindow;
  private readonly now: () => number;
  private inFlightSource: () => number = () => 0;
  private leaderGauges?: { values: LeaderGaugeValues; at: number };
  private leaderToken?: string;

  private readonly phaseSeconds: Histogram<'phase'>;
  private readonly chunks: Counter<'result'>;
  private readonly errors: Counter<'kind'>;
  private readonly bytes: Counter;
  private readonly records: Counter;
  private readonly rejected: Counter;
  private readonly throttles: Counter<'service'>;
  private readonly leaderChanges: Counter;
  private readonly replicasPulled: Counter;
  private readonly cacheEvents: Counter<'event'>;
  private cacheReport?: { usedBytes: number; capacityBytes: number };

  constructor(private readonly opts: AgentMetricsOptions) {
    this.now = opts.now ?? Date.now;
    this.window = new CloudWatchWindow(opts.stage);
    const registers = [this.registry];
    this.registry.setDefaultLabels({ stage: opts.stage, node: opts.nodeId });
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, prefix: 'shardline_agent_' });
    this.phaseSeconds = new Histogram({
      name: 'shardline_chunk_phase_seconds',
      help: 'Chunk latency by phase (queue_wait, download, process, upload, commit; total is lease to finalize)',
      labelNames: ['phase'],
      buckets: PHASE_BUCKETS,
      registers,
    });
    this.chunks = new Counter({ name: 'shardline_chunks_total', help: 'Chunk messages handled, by result (processed, duplicate, busy, lease-lost, failed)', labelNames: ['result'], registers });
    this.errors = new Counter({
      name: 'shardline_chunk_errors_total',
      help: 'Failed chunk attempts by kind (s3, dynamodb, sqs, transform, lease-lost, malformed, injected, other)',
      labelNames: ['kind'],
      registers,
    });
    this.bytes = new Counter({ name: 'shardline_bytes_processed_total', help: 'Bytes of committed chunks read from the ingest bucket', registers });
    this.records = new Counter({ name: 'shardline_records_processed_total', help: 'Records read by committed chunks', registers });
    this.rejected = new Counter({ name: 'shardline_records_rejected_total', help: 'Records rejected by validation in committed chunks', registers });
    this.throttles = new Counter({ name: 'shardline_throttles_total', help: 'Throttling responses seen, by service (every SDK attempt)', labelNames: ['service'], registers });
    this.leaderChanges = new Counter({ name: 'shardline_leader_changes_total', help: 'Times this node acquired the leader lease', registers });
    this.replicasPulled = new Counter({ name: 'shardline_replicas_pulled_total', help: 'Shards copied into this node cache', registers });
    this.cacheEvents = new Counter({
      name: 'shardline_cache_events_total',
      help: 'Shard cache events: adopted (taken back without a pull), evicted, refused (no room), corrupt, removed',
      labelNames: ['event'],
      registers,
    });
    const cache = () => this.cacheReport;
    new Gauge({
      name: 'shardline_cache_used_bytes',
      help: 'Bytes of shard files in this node cache',
      registers,
      collect() {
        this.set(cache()?.usedBytes ?? 0);
      },
    });
    new Gauge({
      name: 'shardline_cache_capacity_bytes',
      help: 'What this node cache may hold (its filesystem less headroom, under any cap)',
      registers,
      collect() {
        this.set(cache()?.capacityBytes ?? 0);
      },
    });
    const inFlight = () => this.inFlightSource();
    new Gauge({
      name: 'shardline_chunks_in_flight',
      help: 'Chunks this node is working on',
      registers,
      collect() {
        this.set(inFlight());
      },
    });
    // Set at scrape time from the leader's last sample, so a node that stopped leading stops
    // reporting the cluster's numbers (the series disappears rather than going stale).
    const leaderGauges = () => this.currentLeaderGauges();
    const nodeId = opts.nodeId;
    new Gauge({
      name: 'shardline_healthy_nodes',
      help: 'Nodes with a fresh heartbeat (published by the leader only)',
      labelNames: ['leader'],
      registers,
      collect() {
        setLeaderGauge(this, leaderGauges()?.healthyNodes, nodeId);
      },
    });
    new Gauge({
      name: 'shardline_shards_below_replication',
      help: 'Shards flagged with fewer than R replicas (published by the leader only)',
      labelNames: ['leader'],
      registers,
      collect() {
        setLeaderGauge(this, leaderGauges()?.shardsBelowReplication, nodeId);
      },
    });
  }

  /** Where the chunks-in-flight gauge reads from (the agent's own count). */
  setInFlightSource(source: () => number): void {
    this.inFlightSource = source;
  }

  /** Records one handled chunk message (wire to `AgentDeps.onChunk`). */
  recordChunk(report: ChunkReport): void {
    this.chunks.inc({ result: report.result });
    if (report.result === 'processed') {
      for (const p of CHUNK_PHASES) {
        const ms = p.ms(report);
        if (ms === undefined || !Number.isFinite(ms)) continue;
        this.phaseSeconds.observe({ phase: p.phase }, Math.max(0, ms) / 1000);
        this.window.observe(p.metric, 'Milliseconds', ms);
      }
      const counts = report.outcome?.counts;
      const bytes = counts?.bytesIn ?? report.bytes ?? 0;
      this.bytes.inc(bytes);
      this.window.add(AgentMetric.bytesProcessed, 'Bytes', bytes);
      this.records.inc(counts?.recordsIn ?? 0);
      this.window.add(AgentMetric.recordsProcessed, 'Count', counts?.recordsIn ?? 0);
      this.rejected.inc(counts?.recordsRejected ?? 0);
      this.window.add(AgentMetric.recordsRejected, 'Count', counts?.recordsRejected ?? 0);
      this.window.add(AgentMetric.chunksProcessed, 'Count', 1);
    }
    if (report.result === 'failed' || report.result === 'lease-lost') {
      const kind = report.errorKind ?? (report.result === 'lease-lost' ? 'lease-lost' : 'other');
      this.errors.inc({ kind });
      // Read both as the total (the error-rate alarm) and by kind (the dashboard's breakdown).
      this.window.add(AgentMetric.chunkErrors, 'Count', 1);
      this.window.add(AgentMetric.chunkErrors, 'Count', 1, { [ERROR_KIND_DIMENSION]: kind });
    }
  }

  /** Records an object completed or quarantined by this node (the circuit breaker's object failure rate). */
  recordObjectOutcome(outcome: 'complete' | 'quarantined'): void {
    this.window.add(outcome === 'complete' ? AgentMetric.objectsCompleted : AgentMetric.objectsQuarantined, 'Count', 1);
  }

  /** Records one throttling response (every SDK attempt, see `countThrottles`). */
  recordThrottle(service: ThrottleService): void {
    this.throttles.inc({ service });
    this.window.add(AgentMetric.throttles, 'Count', 1, { [SERVICE_DIMENSION]: service });
  }

  /** Records shards pulled into this node's cache. */
  recordReplicaPulled(count = 1): void {
    this.replicasPulled.inc(count);
    this.window.add(AgentMetric.replicasPulled, 'Count', count);
  }

  /** Records a shard cache event (wire to `AgentDeps.onCacheEvent`); evictions and refusals also go to CloudWatch. */
  recordCacheEvent(event: 'adopted' | 'evicted' | 'refused' | 'corrupt' | 'removed'): void {
    this.cacheEvents.inc({ event });
    if (event === 'evicted') this.window.add(AgentMetric.cacheEvictions, 'Count', 1);
    if (event === 'refused') this.window.add(AgentMetric.cacheRefusals, 'Count', 1);
  }

  /** The cache's latest use and capacity, for its gauges (wire to `AgentDeps.onCacheReport`). */
  setCacheReport(report: { usedBytes: number; capacityBytes: number }): void {
    this.cacheReport = report;
  }

  /** Called on each of the leader's sweeps with its fencing token: a new token is a leader change. */
  recordLeaderSweep(token: number | string): void {
    const t = String(token);
    if (t === this.leaderToken) return;
    this.leaderToken = t;
    this.leaderChanges.inc();
    this.window.add(AgentMetric.leaderChanges, 'Count', 1);
  }

  /** The leader's latest sample of the cluster (healthy nodes, shards below R). */
  setLeaderGauges(values: LeaderGaugeValues): void {
    this.leaderGauges = { values, at: this.now() };
  }

  /** Everything since the last call, as CloudWatch datums stamped `timestamp`, with the gauges sampled now. */
  takeCloudWatchData(timestamp = new Date(this.now())): MetricDatum[] {
    const datums = this.window.take(timestamp);
    // Every second even when 0: the dashboard sums each node's once-a-second gauge over the period.
    datums.push(this.window.gauge(AgentMetric.chunksInFlight, 'Count', this.inFlightSource(), timestamp));
    const leader = this.currentLeaderGauges();
    if (leader) {
      datums.push(this.window.gauge(AgentMetric.healthyNodes, 'Count', leader.healthyNodes, timestamp));
      datums.push(this.window.gauge(AgentMetric.shardsBelowReplication, 'Count', leader.shardsBelowReplication, timestamp));
    }
    return datums;
  }

  /** The Prometheus text exposition of every metric. */
  prometheusText(): Promise<string> {
    return this.registry.metrics();
  }

  private currentLeaderGauges(): LeaderGaugeValues | undefined {
    const g = this.leaderGauges;
    return g && this.now() - g.at <= (this.opts.leaderGaugesTtlMs ?? 3000) ? g.values : undefined;
  }
}

function setLeaderGauge(gauge: Gauge<'leader'>, value: number | undefined, nodeId: string): void {
  gauge.reset();
  if (value !== undefined) gauge.set({ leader: nodeId }, value);
}
