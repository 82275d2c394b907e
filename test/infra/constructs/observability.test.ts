import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Construct } from 'constructs';
import type { ObservabilityProps } from '../../../infra/constructs/observability';
import { createCheckpointAlarms } from '../../../infra/observability/checkpoint-alarms';
import { bareStack, logicalIdOf, nagFindings, observabilityIn } from './support';

function synthAlone(overrides: Partial<ObservabilityProps>): Template {
  const s = bareStack();
  observabilityIn(s, overrides);
  return Template.fromStack(s);
}
const alarmNames = (t: Template) => Object.values(t.findResources('AWS::CloudWatch::Alarm')).map((a) => a.Properties.AlarmName as string);

const stack = bareStack();
const observability = observabilityIn(stack, { alarmEmail: 'ops@example.com' });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const topicRef = { Ref: logicalIdOf(observability.operatorTopic) };

describe('Observability operator topic', () => {
  it('is encrypted with a rotated customer key that CloudWatch may use', () => {
    const keyId = logicalIdOf(observability.node.findChild('OperatorTopicKey'));
    expect(resources[logicalIdOf(observability.operatorTopic)].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    expect(resources[keyId].Properties.KeyPolicy.Statement).toContainEqual(
      expect.objectContaining({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] }),
    );
  });

  it('denies publishing without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('subscribes the alarm email', () => {
    template.resourceCountIs('AWS::SNS::Subscription', 1);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topicRef });
  });
});

describe('Observability dashboard and alarms', () => {
  it('creates one dashboard named after the stage', () => {
    template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shardline-dev' });
  });

  it('sends every alarm and its recovery to the operator topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(observability.alarms.length);
    // The operator alarms this stage sets (no throughput target), then the checkpoint alarms, whatever their number.
    const operator = ['work-dlq-not-empty', 'ingest-dlq-not-empty', 'work-oldest-message-age', 'healthy-nodes-low', 'chunk-error-rate', 'chunker-errors', 'chunker-throttles'];
    const tables = ['ledger', 'nodes', 'control'].map((t) => `${t}-table-throttles`);
    const alone = bareStack();
    createCheckpointAlarms(new Construct(alone, 'Checkpoints'), { stageName: 'dev', maxPendingAge: Duration.minutes(15) });
    const checkpoint = alarmNames(Template.fromStack(alone));
    expect(checkpoint.length).toBeGreaterThan(0);
    expect(alarms.map((a) => a.Properties.AlarmName).sort()).toEqual([...[...operator, ...tables, 'object-failure-rate'].map((w) => `shardline-dev-${w}`), ...checkpoint].sort());
    for (const a of alarms) expect(a.Properties).toMatchObject({ AlarmName: expect.stringMatching(/^shardline-dev-/), AlarmActions: [topicRef], OKActions: [topicRef] });
  });

  it('hands only the object failure rate to the circuit breaker', () => {
    const names = observability.circuitBreakerAlarms.map((a) => resources[logicalIdOf(a)].Properties.AlarmName);
    expect(names).toEqual(['shardline-dev-object-failure-rate']);
  });

  it('passes the cdk-nag AwsSolutions checks with no acknowledgement', () => {
    expect(nagFindings(stack, 'Test/Observability/')).toEqual([]);
  });
});

describe('Observability settings', () => {
  it('leaves out the throughput alarm and the subscription when no target or email is set', () => {
    const t = synthAlone({});
    expect(alarmNames(t)).not.toContain('shardline-dev-throughput-below-target');
    expect(alarmNames(t)).toContain('shardline-dev-healthy-nodes-low');
    t.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('adds the throughput alarm when a target is set', () => {
    expect(alarmNames(synthAlone({ targetBytesPerSecond: 1e8 }))).toContain('shardline-dev-throughput-below-target');
  });

  it('leaves out the healthy-nodes alarm when the minimum is 0', () => {
    expect(alarmNames(synthAlone({ minHealthyNodes: 0 }))).not.toContain('shardline-dev-healthy-nodes-low');
  });

  it('uses the configured thresholds', () => {
    const t = synthAlone({ minHealthyNodes: 3, maxWorkMessageAgeSeconds: 600, maxChunkErrorPercent: 25 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'shardline-dev-healthy-nodes-low', Threshold: 3 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'shardline-dev-work-oldest-message-age', Threshold: 600 });
    t.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: 'shardline-dev-chunk-error-rate', Threshold: 25 });
  });

  it('uses the configured object failure rate, window and minimum count', () => {
    const t = synthAlone({ maxObjectFailurePercent: 50, minObjectsForFailureRate: 4, objectFailureWindowMinutes: 30 });
    const [alarm] = Object.values(t.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: 'shardline-dev-object-failure-rate' } }));
    expect(alarm.Properties.Threshold).toBe(50);
    expect(alarm.Properties.Metrics[0].Expression).toMatch(/^IF\(\(FILL\(completed, 0\) \+ \(FILL\(quarantined, 0\) \+ FILL\(refused, 0\)\)\) >= 4, /);
    expect(alarm.Properties.Metrics.slice(1).map((m: { MetricStat: { Period: number } }) => m.MetricStat.Period)).toEqual([1800, 1800, 1800]);
  });
});
