import type { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { AgentMetric, ChunkerMetric } from '../../lib/observability/metric-names';
import { MINUTE, ShardlineMetrics, tableThrottles } from './metrics';

/** What the dashboard shows, besides shardline's own metrics. */
export interface DashboardSources {
  readonly stageName: string;
  /** The queues by the name the graphs give them (work queue, its DLQ, ingest events, its DLQ). */
  readonly queues: Readonly<Record<string, sqs.IQueue>>;
  readonly chunker: lambda.IFunction;
  /** The state tables by the name the graphs give them; each name must be a lowercase word. */
  readonly tables: Readonly<Record<string, dynamodb.ITable>>;
  /** Horizontal line on the throughput graph. @default none */
  readonly targetBytesPerSecond?: number;
  /** Horizontal line on the healthy nodes graph. @default none */
  readonly minHealthyNodes?: number;
  /** The circuit breaker's thresholds: the object failure-rate graph shows the rate it trips on. @default no object failure-rate graph */
  readonly objectFailure?: ObjectFailureThresholds;
}

/** The object failure rate the circuit breaker trips on (see `createOperatorAlarms`). */
export interface ObjectFailureThresholds {
  /** Trips when more than this % of the objects finished in `window` were quarantined or refused. */
  readonly maxPercent: number;
  /** Only windows in which at least this many objects finished count. */
  readonly minObjects: number;
  readonly window: Duration;
}

const graph = (title: string, left: cloudwatch.IMetric[], extra: Partial<cloudwatch.GraphWidgetProps> = {}) =>
  new cloudwatch.GraphWidget({ title, left, width: 8, height: 6, period: MINUTE, ...extra });

const header = (markdown: string) => new cloudwatch.TextWidget({ markdown, width: 24, height: 1 });

/** The rows of shardline's dashboard, top to bottom: chunks, objects (the circuit breaker's rate), fleet (with throttles), queues and the chunker. */
export function dashboardRows(src: DashboardSources): cloudwatch.IWidget[][] {
  const m = new ShardlineMetrics(src.stageName);
  const sum = (name: (typeof AgentMetric)[keyof typeof AgentMetric], label: string) => m.metric(name, cloudwatch.Stats.SUM, label);
  const queues = Object.entries(src.queues);
  const ms = { label: 'ms', showUnits: false, min: 0 };

  return [
    [header(`## shardline ${src.stageName}: chunks (latency per phase, per chunk)`)],
    [50, 90, 99].map((p) => graph(`Chunk latency p${p} (ms)`, m.chunkLatency(p), { leftYAxis: ms })),
    [
      graph('Throughput', [m.perSecond('bytes', AgentMetric.bytesProcessed, 'bytes/s')], {
        right: [m.perSecond('records', AgentMetric.recordsProcessed, 'records/s'), m.perSecond('rejected', AgentMetric.recordsRejected, 'rejected records/s')],
        leftYAxis: { label: 'bytes/s', showUnits: false, min: 0 },
        rightYAxis: { label: 'records/s', showUnits: false, min: 0 },
        leftAnnotations: src.targetBytesPerSecond ? [{ value: src.targetBytesPerSecond, label: 'target', color: '#d62728' }] : undefined,
      }),
      graph('Chunks: in flight, processed, planned', [m.chunksInFlight()], {
        right: [sum(AgentMetric.chunksProcessed, 'processed'), m.metric(ChunkerMetric.chunksPlanned, cloudwatch.Stats.SUM, 'planned (chunker)')],
      }),
      graph('Chunk errors by kind (per minute) and error %', [m.chunkErrorsByKind()], {
        right: [m.chunkErrorPercent()],
        rightYAxis: { label: '%', showUnits: false, min: 0, max: 100 },
      }),
    ],
    ...(src.objectFailure ? [[header('## objects: how they finished (the circuit breaker pauses on the failure rate)')], [objectFailureGraph(m, src.objectFailure)]] : []),
    [header('## fleet')],
    [
      graph('Healthy nodes', [m.metric(AgentMetric.healthyNodes, cloudwatch.Stats.MINIMUM, 'healthy nodes (min)')], {
        leftYAxis: { min: 0 },
        leftAnnotations: src.minHealthyNodes ? [{ value: src.minHealthyNodes, label: 'alarm below', color: '#d62728' }] : undefined,
      }),
      graph('Replication and leadership', [m.metric(AgentMetric.shardsBelowReplication, cloudwatch.Stats.MAXIMUM, 'shards below R replicas')], {
        right: [sum(AgentMetric.leaderChanges, 'leader changes')],
      }),
      graph('Throttles', [m.agentThrottles('S3'), m.agentThrottles('DynamoDB')], {
        right: Object.entries(src.tables).map(([name, t]) => tableThrottles(t, name, `${name} table throttled requests`)),
      }),
    ],
    [header('## queues and the chunker')],
    [
      graph(
        'Queue depth (visible + in flight)',
        queues.map(([name, q]) => queueDepth(q, name)),
      ),
      graph(
        'Age of oldest message (s)',
        queues.map(([name, q]) => q.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: name })),
      ),
      graph(
        'Chunker Lambda',
        [
          src.chunker.metricInvocations({ period: MINUTE, label: 'invocations' }),
          src.chunker.metricErrors({ period: MINUTE, label: 'errors' }),
          src.chunker.metricThrottles({ period: MINUTE, label: 'throttles' }),
        ],
        {
          right: [
            src.chunker.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.percentile(50), label: 'duration p50 (ms)' }),
            src.chunker.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.percentile(99), label: 'duration p99 (ms)' }),
            src.chunker.metricDuration({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM, label: 'duration max (ms)' }),
          ],
        },
      ),
    ],
  ];
}

/** Messages waiting plus messages received and not yet deleted. */
function queueDepth(queue: sqs.IQueue, name: string): cloudwatch.MathExpression {
  const id = name.replace(/[^A-Za-z0-9]/g, '').replace(/^./, (c) => c.toLowerCase());
  return new cloudwatch.MathExpression({
    expression: `FILL(${id}v, 0) + FILL(${id}n, 0)`,
    usingMetrics: {
      [`${id}v`]: queue.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
      [`${id}n`]: queue.metricApproximateNumberOfMessagesNotVisible({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    },
    period: MINUTE,
    label: name,
  });
}

/**
 * Objects quarantined and refused against objects completed, each summed over the circuit
 * breaker's window (what its alarm sees), with the failure % it trips on and its threshold.
 */
function objectFailureGraph(m: ShardlineMetrics, t: ObjectFailureThresholds): cloudwatch.GraphWidget {
  const perWindow = (metric: cloudwatch.Metric) => metric.with({ period: t.window });
  return graph(
    `Object failure rate: quarantined + refused vs completed (per ${t.window.toHumanString()})`,
    [
      perWindow(m.metric(AgentMetric.objectsCompleted, cloudwatch.Stats.SUM, 'completed')),
      perWindow(m.metric(AgentMetric.objectsQuarantined, cloudwatch.Stats.SUM, 'quarantined')),
      perWindow(m.metric(ChunkerMetric.objectsRefused, cloudwatch.Stats.SUM, 'refused (chunker)')),
    ],
    {
      right: [m.objectFailurePercent(t.window, t.minObjects)],
      leftYAxis: { label: 'objects', showUnits: false, min: 0 },
      rightYAxis: { label: '%', showUnits: false, min: 0, max: 100 },
      rightAnnotations: [{ value: t.maxPercent, label: `circuit breaker (at least ${t.minObjects} finished)`, color: '#d62728' }],
      width: 24,
      period: t.window,
    },
  );
}
