import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';
import { AgentMetric } from '../../lib/observability/metric-names';
import { MINUTE, ShardlineMetrics, tableThrottles } from './metrics';

/** What the operator alarms watch, and their thresholds. */
export interface OperatorAlarmsProps {
  readonly stageName: string;
  readonly workQueue: sqs.IQueue;
  readonly workDlq: sqs.IQueue;
  readonly ingestEventsDlq: sqs.IQueue;
  readonly chunker: lambda.IFunction;
  /** The state tables by a lowercase word naming each (it goes into the alarm name). */
  readonly tables: Readonly<Record<string, dynamodb.ITable>>;
  /** Alarm when fewer nodes than this are healthy; 0 means no alarm. */
  readonly minHealthyNodes: number;
  /** Alarm when the oldest work message is older than this. */
  readonly maxWorkMessageAge: Duration;
  /** Alarm when this percentage of chunk attempts fail. */
  readonly maxChunkErrorPercent: number;
  /** Trip the circuit breaker when more than this percentage of the objects finished in `objectFailureWindow` were quarantined. */
  readonly maxObjectFailurePercent: number;
  /** The circuit breaker only judges a window in which at least this many objects finished. */
  readonly minObjectsForFailureRate: number;
  /** The window the object failure rate is summed over. */
  readonly objectFailureWindow: Duration;
  /** Alarm when the fleet processes fewer bytes per second while there is work. @default no alarm */
  readonly targetBytesPerSecond?: number;
}

/**
 * The alarms, and those among them that should pause the pipeline when they trip: only the
 * object failure rate. A poison object is quarantined and the rest runs on, so dead letters and
 * failing chunk attempts notify operators without pausing anyone.
 */
export interface OperatorAlarms {
  readonly all: cloudwatch.Alarm[];
  readonly circuitBreaker: cloudwatch.Alarm[];
}

/** The throughput alarm looks at 5-minute sums: single chunks finish in bursts. */
const THROUGHPUT_PERIOD = Duration.minutes(5);

/**
 * shardline's operator alarms, named `shardline-<stage>-<what>`. Missing data is treated by
 * what its absence means: a quiet queue or function is fine, a silent leader is not (see each).
 */
export function createOperatorAlarms(scope: Construct, props: OperatorAlarmsProps): OperatorAlarms {
  const m = new ShardlineMetrics(props.stageName);
  const all: cloudwatch.Alarm[] = [];
  const alarm = (what: string, description: string, p: Omit<cloudwatch.AlarmProps, 'alarmName' | 'alarmDescription'>) => {
    const a = new cloudwatch.Alarm(scope, idOf(what), { alarmName: `shardline-${props.stageName}-${what}`, alarmDescription: description, ...p });
    all.push(a);
    return a;
  };
  const above = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD;
  const below = cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD;
  const maxVisible = (q: sqs.IQueue) => q.metricApproximateNumberOfMessagesVisible({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM });

  // IGNORE keeps a DLQ alarm in ALARM while SQS publishes nothing: an idle queue's metrics can
  // stop, and a dead-lettered message is not gone because nobody looked.
  alarm('work-dlq-not-empty', 'Chunk messages reached the work DLQ (their objects are QUARANTINED; the pipeline runs on). Look with `shardline status`, fix, then `shardline redrive`.', {
    metric: maxVisible(props.workDlq),
    threshold: 0,
    comparisonOperator: above,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
  alarm('ingest-dlq-not-empty', 'Ingest events reached the ingest DLQ: the chunker failed to plan objects.', {
    metric: maxVisible(props.ingestEventsDlq),
    threshold: 0,
    comparisonOperator: above,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.IGNORE,
  });
  alarm('work-oldest-message-age', `The oldest chunk message waited longer than ${props.maxWorkMessageAge.toHumanString()}: the fleet is stalled or too small.`, {
    metric: props.workQueue.metricApproximateAgeOfOldestMessage({ period: MINUTE, statistic: cloudwatch.Stats.MAXIMUM }),
    threshold: props.maxWorkMessageAge.toSeconds(),
    comparisonOperator: above,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.minHealthyNodes > 0) {
    // The leader publishes HealthyNodes; silence means no leader, i.e. no healthy agent at all.
    alarm('healthy-nodes-low', `Fewer than ${props.minHealthyNodes} healthy nodes for 3 minutes.`, {
      metric: m.metric(AgentMetric.healthyNodes, cloudwatch.Stats.MINIMUM),
      threshold: props.minHealthyNodes,
      comparisonOperator: below,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
  }
  alarm('chunk-error-rate', `More than ${props.maxChunkErrorPercent}% of chunk attempts failed in 2 of 3 minutes.`, {
    metric: m.chunkErrorPercent(),
    threshold: props.maxChunkErrorPercent,
    comparisonOperator: above,
    evaluationPeriods: 3,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  if (props.targetBytesPerSecond !== undefined) {
    alarm('throughput-below-target', `Below ${props.targetBytesPerSecond} bytes/s for 15 minutes while the work queue had messages.`, {
      metric: throughputWhileBusy(m, props.workQueue, props.targetBytesPerSecond),
      threshold: props.targetBytesPerSecond,
      comparisonOperator: below,
      evaluationPeriods: 3,
      datapointsToAlarm: 3,
      // No data at all means no work and no output; a stall with a backlog still has queue data.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
  const fn = { period: Duration.minutes(5), statistic: cloudwatch.Stats.SUM };
  alarm('chunker-errors', 'The chunker Lambda failed (crash or timeout, not a partial batch failure).', {
    metric: props.chunker.metricErrors(fn),
    threshold: 0,
    comparisonOperator: above,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm('chunker-throttles', 'The chunker Lambda was throttled (account or reserved concurrency exhausted).', {
    metric: props.chunker.metricThrottles(fn),
    threshold: 0,
    comparisonOperator: above,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  for (const [name, table] of Object.entries(props.tables)) {
    // A throttle now and then is absorbed by the SDK's retries; 3 minutes of 5 is a hot key.
    alarm(`${name}-table-throttles`, `DynamoDB throttled requests to the ${name} table in 3 of 5 minutes.`, {
      metric: tableThrottles(table, name, `${name} throttled requests`),
      threshold: 0,
      comparisonOperator: above,
      evaluationPeriods: 5,
      datapointsToAlarm: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
  }
  const windowText = props.objectFailureWindow.toHumanString();
  const objectFailureRate = alarm(
    'object-failure-rate',
    `More than ${props.maxObjectFailurePercent}% of the objects that finished in ${windowText} were quarantined (at least ${props.minObjectsForFailureRate} finished): the circuit breaker pauses the pipeline. Look with \`shardline status\`, fix, \`shardline redrive\`, then \`shardline control resume\`.`,
    {
      metric: m.objectFailurePercent(props.objectFailureWindow, props.minObjectsForFailureRate),
      threshold: props.maxObjectFailurePercent,
      comparisonOperator: above,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    },
  );
  return { all, circuitBreaker: [objectFailureRate] };
}

/**
 * Bytes per second while the work queue holds messages (waiting or in flight), and the target
 * itself when it holds none, so an idle pipeline never counts as slow.
 */
function throughputWhileBusy(m: ShardlineMetrics, workQueue: sqs.IQueue, target: number): cloudwatch.MathExpression {
  const max = { statistic: cloudwatch.Stats.MAXIMUM, period: THROUGHPUT_PERIOD };
  return new cloudwatch.MathExpression({
    expression: `IF(FILL(waiting, 0) + FILL(inflight, 0) > 0, FILL(bytes, 0) / ${THROUGHPUT_PERIOD.toSeconds()}, ${target})`,
    usingMetrics: {
      bytes: m.metric(AgentMetric.bytesProcessed, cloudwatch.Stats.SUM).with({ period: THROUGHPUT_PERIOD }),
      waiting: workQueue.metricApproximateNumberOfMessagesVisible(max),
      inflight: workQueue.metricApproximateNumberOfMessagesNotVisible(max),
    },
    period: THROUGHPUT_PERIOD,
    label: 'bytes/s while busy',
  });
}

/** `work-dlq-not-empty` → `WorkDlqNotEmpty` (construct id). */
function idOf(what: string): string {
  return what
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
