import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type { Construct } from 'constructs';
import { CheckpointMetric } from '../../lib/observability/checkpoint-metric-names';
import { METRIC_NAMESPACE, STAGE_DIMENSION } from '../../lib/observability/metric-names';

/** What the checkpoint alarms watch, and their thresholds. */
export interface CheckpointAlarmsProps {
  readonly stageName: string;
  /** Alarm when a checkpoint part handed off on some host has not become durable for this long. */
  readonly maxPendingAge: Duration;
}

const MINUTE = Duration.minutes(1);

type CheckpointMetricName = (typeof CheckpointMetric)[keyof typeof CheckpointMetric];

/** A checkpoint metric of the stage, read (like every agent metric) with the `Stage` dimension alone. */
export function checkpointMetric(stageName: string, metricName: CheckpointMetricName, statistic: string, period = MINUTE, label?: string): cloudwatch.Metric {
  return new cloudwatch.Metric({ namespace: METRIC_NAMESPACE, metricName, dimensionsMap: { [STAGE_DIMENSION]: stageName }, statistic, period, label });
}

/**
 * The alarms that tell operators a job's checkpoints stopped becoming durable, named
 * `shardline-<stage>-checkpoint-…`:
 * - `checkpoints-not-durable`: the oldest part handed off on any host (the Maximum of each agent's
 *   once-a-second `CheckpointOldestPendingSeconds`) has waited longer than `maxPendingAge`, in two
 *   minutes running: uploads fail and are retried, or the uploader is stuck. No data means no agent
 *   with a spool, which is fine.
 * - `checkpoint-parts-failed`: an agent gave up on a part (its local copy changed after `save()`,
 *   or the registry refused it); that step can never complete.
 */
export function createCheckpointAlarms(scope: Construct, props: CheckpointAlarmsProps): cloudwatch.Alarm[] {
  const name = (what: string) => `shardline-${props.stageName}-${what}`;
  const notDurable = new cloudwatch.Alarm(scope, 'CheckpointsNotDurable', {
    alarmName: name('checkpoints-not-durable'),
    alarmDescription: `A checkpoint part handed off by a training job has not become durable for ${props.maxPendingAge.toHumanString()}: its step cannot complete and latest() stays behind. Look with \`shardline status\` (uploads in flight) and \`shardline checkpoints list --job J\`, and in the agent's log ('checkpoint upload failed').`,
    metric: checkpointMetric(props.stageName, CheckpointMetric.oldestPendingSeconds, cloudwatch.Stats.MAXIMUM),
    threshold: props.maxPendingAge.toSeconds(),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 2,
    datapointsToAlarm: 2,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  const failed = new cloudwatch.Alarm(scope, 'CheckpointPartsFailed', {
    alarmName: name('checkpoint-parts-failed'),
    alarmDescription:
      "An agent gave up on a checkpoint part (its local copy changed after save(), or the registry refused it): that step will never complete. The part's status file in the spool says why.",
    metric: checkpointMetric(props.stageName, CheckpointMetric.partsFailed, cloudwatch.Stats.SUM, Duration.minutes(5)),
    threshold: 0,
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  return [notDurable, failed];
}

/** The dashboard's checkpoint row: upload rate, time to durable per part, and the oldest part not yet durable. */
export function checkpointWidgets(stageName: string, maxPendingAge: Duration): cloudwatch.IWidget[] {
  const m = (metricName: CheckpointMetricName, statistic: string, label: string) => checkpointMetric(stageName, metricName, statistic, MINUTE, label);
  return [
    new cloudwatch.GraphWidget({
      title: 'Checkpoint upload rate (bytes/s)',
      width: 8,
      left: [
        new cloudwatch.MathExpression({
          expression: 'bytes / PERIOD(bytes)',
          usingMetrics: { bytes: m(CheckpointMetric.bytesUploaded, cloudwatch.Stats.SUM, 'bytes') },
          label: 'bytes/s',
          period: MINUTE,
        }),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Checkpoint part: time to durable (ms)',
      width: 8,
      left: [
        m(CheckpointMetric.timeToDurableMs, cloudwatch.Stats.p(50), 'to durable p50'),
        m(CheckpointMetric.timeToDurableMs, cloudwatch.Stats.p(99), 'to durable p99'),
        m(CheckpointMetric.uploadMs, cloudwatch.Stats.p(50), 'upload p50'),
      ],
    }),
    new cloudwatch.GraphWidget({
      title: 'Oldest checkpoint part not yet durable (s)',
      width: 8,
      left: [m(CheckpointMetric.oldestPendingSeconds, cloudwatch.Stats.MAXIMUM, 'oldest pending'), m(CheckpointMetric.partsPending, cloudwatch.Stats.MAXIMUM, 'parts pending (one agent, max)')],
      leftAnnotations: [{ value: maxPendingAge.toSeconds(), label: 'alarm' }],
    }),
  ];
}
