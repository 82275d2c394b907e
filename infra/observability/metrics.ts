import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { AgentMetric, ChunkerMetric, ERROR_KIND_DIMENSION, METRIC_NAMESPACE, SERVICE_DIMENSION, STAGE_DIMENSION } from '../../lib/observability/metric-names';

/** One minute: the resolution the dashboard and most alarms work at. */
export const MINUTE = Duration.minutes(1);

/** The per-chunk phases in the order a chunk goes through them, with the catalog's metric names. */
export const CHUNK_PHASES = [
  { label: 'queue wait', metricName: AgentMetric.queueWaitMs },
  { label: 'download', metricName: AgentMetric.downloadMs },
  { label: 'process', metricName: AgentMetric.processMs },
  { label: 'upload', metricName: AgentMetric.uploadMs },
  { label: 'commit', metricName: AgentMetric.commitMs },
] as const;

/**
 * The DynamoDB operations shardline issues (lib/ and the control state machines). An alarm's
 * metric math may use at most 10 metrics, so the throttle sums name these rather than CDK's
 * default list of every operation.
 */
export const DYNAMODB_OPERATIONS = [
  dynamodb.Operation.GET_ITEM,
  dynamodb.Operation.BATCH_GET_ITEM,
  dynamodb.Operation.QUERY,
  dynamodb.Operation.SCAN,
  dynamodb.Operation.PUT_ITEM,
  dynamodb.Operation.UPDATE_ITEM,
  dynamodb.Operation.DELETE_ITEM,
  dynamodb.Operation.TRANSACT_WRITE_ITEMS,
] as const;

type AgentMetricName = (typeof AgentMetric)[keyof typeof AgentMetric];
type ChunkerMetricName = (typeof ChunkerMetric)[keyof typeof ChunkerMetric];

/** Metrics of one stage in the `Shardline` namespace (catalog: lib/observability/metric-names.ts). */
export class ShardlineMetrics {
  constructor(private readonly stageName: string) {}

  /** A catalog metric of this stage, read with the {Stage} dimension set (plus `extra`). */
  metric(metricName: AgentMetricName | ChunkerMetricName, statistic: string, label?: string, extra: Record<string, string> = {}): cloudwatch.Metric {
    return new cloudwatch.Metric({
      namespace: METRIC_NAMESPACE,
      metricName,
      dimensionsMap: { [STAGE_DIMENSION]: this.stageName, ...extra },
      statistic,
      period: MINUTE,
      label,
    });
  }

  /** A counter as a rate per second, whatever period the graph ends up using. */
  perSecond(id: string, metricName: AgentMetricName, label: string): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: `FILL(${id}, 0) / PERIOD(${id})`,
      usingMetrics: { [id]: this.metric(metricName, cloudwatch.Stats.SUM) },
      period: MINUTE,
      label,
    });
  }

  /** Chunks being worked on across the fleet: each node's once-a-second gauge summed, per second. */
  chunksInFlight(): cloudwatch.MathExpression {
    return new cloudwatch.MathExpression({
      expression: 'inflight / PERIOD(inflight)',
      usingMetrics: { inflight: this.metric(AgentMetric.chunksInFlight, cloudwatch.Stats.SUM) },
      period: MINUTE,
      label: 'chunks in flight (all nodes)',
    });
  }

  /** The per-phase latency of a chunk at one percentile (e.g. 99), the whole latency last. */
  chunkLatency(percentile: number): cloudwatch.Metric[] {
    const stat = cloudwatch.Stats.percentile(percentile);
    return [...CHUNK_PHASES.map((p) => this.metric(p.metricName, stat, p.label)), this.metric(AgentMetric.totalMs, stat, 'total (lease to finalize)')];
  }

  /** Chunk errors split by kind: a SEARCH, so a new kind shows up without a deploy (dashboards only). */
  chunkErrorsByKind(): cloudwatch.MathExpression {
    const schema = `{${METRIC_NAMESPACE},${ERROR_KIND_DIMENSION},${STAGE_DIMENSION}}`;
    return new cloudwatch.MathExpression({
      expression: `SEARCH('${schema} MetricName="${AgentMetric.chunkErrors}" ${STAGE_DIMENSION}="${this.stageName}"', 'Sum', 60)`,
      period: MINUTE,
      label: '',
    });
  }

  /** Percentage of chunk attempts that failed: errors / (processed + errors); 0 when idle. */
  chunkErrorPercent(period: Duration = MINUTE): cloudwatch.MathExpression {
    const total = '(FILL(processed, 0) + FILL(errors, 0))';
    return new cloudwatch.MathExpression({
      expression: `IF(${total} > 0, 100 * FILL(errors, 0) / ${total}, 0)`,
      usingMetrics: {
        errors: this.metric(AgentMetric.chunkErrors, cloudwatch.Stats.SUM).with({ period }),
        processed: this.metric(AgentMetric.chunksProcessed, cloudwatch.Stats.SUM).with({ period }),
      },
      period,
      label: 'chunk error %',
    });
  }

  /**
   * Percentage of objects that finished badly over `window`: (quarantined + refused) / (completed
   * + quarantined + refused); 0 while fewer than `minObjects` objects finished in it, so one
   * poison object among few never reads as a failing pipeline.
   */
  objectFailurePercent(window: Duration, minObjects: number): cloudwatch.MathExpression {
    const bad = '(FILL(quarantined, 0) + FILL(refused, 0))';
    const finished = `(FILL(completed, 0) + ${bad})`;
    return new cloudwatch.MathExpression({
      expression: `IF(${finished} >= ${minObjects}, 100 * ${bad} / ${finished}, 0)`,
      usingMetrics: {
        completed: this.metric(AgentMetric.objectsCompleted, cloudwatch.Stats.SUM).with({ period: window }),
        quarantined: this.metric(AgentMetric.objectsQuarantined, cloudwatch.Stats.SUM).with({ period: window }),
        refused: this.metric(ChunkerMetric.objectsRefused, cloudwatch.Stats.SUM).with({ period: window }),
      },
      period: window,
      label: 'objects quarantined %',
    });
  }

  /** Throttling responses agents saw from one service (S3 | DynamoDB). */
  agentThrottles(service: 'S3' | 'DynamoDB'): cloudwatch.Metric {
    return this.metric(AgentMetric.throttles, cloudwatch.Stats.SUM, `${service} throttles (agents)`, { [SERVICE_DIMENSION]: service });
  }
}

/**
 * Throttled requests of one table summed over {@link DYNAMODB_OPERATIONS}. DynamoDB only reports
 * `ThrottledRequests` for an operation when it throttled, so every term is filled with 0 (a
 * plain sum would have no value whenever one operation had none). The `prefix` keeps metric ids
 * unique when several tables share a graph.
 */
export function tableThrottles(table: dynamodb.ITable, prefix: string, label: string, period: Duration = MINUTE): cloudwatch.MathExpression {
  const usingMetrics: Record<string, cloudwatch.IMetric> = {};
  for (const operation of DYNAMODB_OPERATIONS) {
    usingMetrics[`${prefix}${operation}`] = table.metric('ThrottledRequests', {
      dimensionsMap: { TableName: table.tableName, Operation: operation },
      statistic: cloudwatch.Stats.SUM,
      period,
    });
  }
  return new cloudwatch.MathExpression({
    expression: Object.keys(usingMetrics)
      .map((id) => `FILL(${id}, 0)`)
      .join(' + '),
    usingMetrics,
    period,
    label,
  });
}
