import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { createCheckpointAlarms } from '../../infra/observability/checkpoint-alarms';
import { CheckpointMetric } from '../../lib/observability/checkpoint-metric-names';
import { bareStack, logicalIdOf, observabilityIn } from './constructs/support';

const alarmsIn = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties as Record<string, any>);
const named = (t: Template, name: string) => {
  const found = alarmsIn(t).filter((a) => a.AlarmName === name);
  expect(found).toHaveLength(1);
  return found[0];
};

describe('checkpoint alarms', () => {
  const stack = bareStack();
  createCheckpointAlarms(stack, { stageName: 'dev', maxPendingAge: Duration.minutes(20) });
  const template = Template.fromStack(stack);

  it('alarms when the oldest checkpoint part on any host has not been durable for longer than the limit, two minutes running', () => {
    expect(named(template, 'shardline-dev-checkpoints-not-durable')).toMatchObject({
      Namespace: 'Shardline',
      MetricName: CheckpointMetric.oldestPendingSeconds,
      // What the agents publish: the Stage dimension alone (lib/observability/metric-names.ts).
      Dimensions: [{ Name: 'Stage', Value: 'dev' }],
      Statistic: 'Maximum',
      Period: 60,
      Threshold: 1200,
      ComparisonOperator: 'GreaterThanThreshold',
      EvaluationPeriods: 2,
      DatapointsToAlarm: 2,
      // No agent with a spool publishes nothing: not a stall.
      TreatMissingData: 'notBreaching',
    });
  });

  it('alarms when an agent gives up on a part', () => {
    expect(named(template, 'shardline-dev-checkpoint-parts-failed')).toMatchObject({
      MetricName: CheckpointMetric.partsFailed,
      Dimensions: [{ Name: 'Stage', Value: 'dev' }],
      Statistic: 'Sum',
      Period: 300,
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
  });
});

describe('checkpoint alarms in the Observability construct', () => {
  const stack = bareStack();
  const observability = observabilityIn(stack);
  const template = Template.fromStack(stack);
  const topicRef = { Ref: logicalIdOf(observability.operatorTopic) };

  it('notifies the operator topic of both, and of their recovery, after 15 minutes by default', () => {
    const notDurable = named(template, 'shardline-dev-checkpoints-not-durable');
    expect(notDurable).toMatchObject({ Threshold: 900, AlarmActions: [topicRef], OKActions: [topicRef] });
    expect(named(template, 'shardline-dev-checkpoint-parts-failed')).toMatchObject({ AlarmActions: [topicRef], OKActions: [topicRef] });
    expect(observability.alarms.map((a) => logicalIdOf(a))).toEqual(expect.arrayContaining([logicalIdOf(observability.node.findChild('CheckpointsNotDurable'))]));
  });

  it('never pauses the pipeline for a checkpoint (not a circuit-breaker alarm)', () => {
    const names = observability.circuitBreakerAlarms.map((a) => a.node.id);
    expect(names).not.toContain('CheckpointsNotDurable');
    expect(names).not.toContain('CheckpointPartsFailed');
  });

  it('graphs the upload rate, time to durable and the oldest pending part on the dashboard', () => {
    const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    const body = JSON.stringify(dashboard.Properties.DashboardBody);
    for (const metric of [CheckpointMetric.bytesUploaded, CheckpointMetric.timeToDurableMs, CheckpointMetric.oldestPendingSeconds]) expect(body).toContain(metric);
    expect(body).toContain('Oldest checkpoint part not yet durable');
  });
});
