import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Stack } from 'aws-cdk-lib';
import { ControlPlane, type ControlPlaneProps } from '../../../infra/constructs/control-plane';
import { State } from '../../../infra/constructs/state';
import { Storage, secureBucketProps } from '../../../infra/constructs/storage';
import { queueWithDlq } from '../../../infra/constructs/work-queues';
import { acknowledgeControlPlaneFindings } from '../../../infra/nag-acknowledgements';
import { bareStack, logicalIdOf, nagFindings } from './support';

/** The control plane on what it steers: a chunker mapping, buckets and the control table. */
function controlPlaneIn(stack: Stack, overrides: Partial<ControlPlaneProps> = {}) {
  const state = new State(stack, 'State', { retainData: false });
  const storage = new Storage(stack, 'Storage', { retainData: false });
  const ingestBucket = new s3.Bucket(stack, 'IngestBucket', secureBucketProps(false, storage.accessLogsBucket, 'ingest/'));
  const events = queueWithDlq(stack, 'IngestEvents', Duration.minutes(30), 5).queue;
  const chunker = new lambda.Function(stack, 'Chunker', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  const chunkerEventSource = new SqsEventSource(events, { reportBatchItemFailures: true });
  chunker.addEventSource(chunkerEventSource);
  const controlPlane = new ControlPlane(stack, 'ControlPlane', {
    controlTable: state.controlTable,
    chunkerEventSource,
    ingestEventsQueue: events,
    sourceBuckets: [ingestBucket],
    processedBucket: storage.processedBucket,
    logRetentionDays: 14,
    ...overrides,
  });
  acknowledgeControlPlaneFindings(controlPlane);
  return { controlPlane, ingestBucket, chunkerEventSource };
}

const stack = bareStack();
const alarm = new cloudwatch.Alarm(stack, 'DlqAlarm', { metric: new cloudwatch.Metric({ namespace: 'Test', metricName: 'Dead' }), threshold: 0, evaluationPeriods: 1 });
const { controlPlane, ingestBucket, chunkerEventSource } = controlPlaneIn(stack, { circuitBreakerAlarms: [alarm] });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const machines = { control: controlPlane.controlStateMachine, run: controlPlane.runStateMachine };
const roleActions = (machine: keyof typeof machines) =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalIdOf(machines[machine].role)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);

describe('ControlPlane state machines', () => {
  it('creates the control and run state machines', () => {
    template.resourceCountIs('AWS::StepFunctions::StateMachine', 2);
  });

  it.each(Object.keys(machines) as (keyof typeof machines)[])('logs the errors of %s executions without their data by default, and traces them with X-Ray', (name) => {
    expect(resources[logicalIdOf(machines[name])].Properties).toMatchObject({
      TracingConfiguration: { Enabled: true },
      LoggingConfiguration: { Level: 'ERROR', IncludeExecutionData: false },
    });
  });

  it('logs every event with its data when the stage asks for it', () => {
    const other = bareStack();
    const { controlPlane: verbose } = controlPlaneIn(other, { stateMachineLogLevel: sfn.LogLevel.ALL, stateMachineLogExecutionData: true });
    const props = Template.fromStack(other).toJSON().Resources[logicalIdOf(verbose.controlStateMachine)].Properties;
    expect(props.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: true });
  });

  it('keeps the state machine logs for the configured days', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 14 });
  });

  it("lets control switch the chunker's mapping and no other, and touch no ECS service (the agents are a daemon)", () => {
    const statements = roleActions('control');
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'lambda:UpdateEventSourceMapping', Resource: stack.resolve(chunkerEventSource.eventSourceMappingArn) }));
    expect(JSON.stringify(statements)).not.toMatch(/"ecs:/);
  });

  it('lets run list the source buckets', () => {
    expect(roleActions('run')).toContainEqual(expect.objectContaining({ Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [logicalIdOf(ingestBucket), 'Arn'] } }));
  });
});

describe('ControlPlane run notices', () => {
  it('go to a topic encrypted with a rotated customer key, TLS only', () => {
    const keyId = logicalIdOf(controlPlane.node.findChild('RunNoticesKey'));
    expect(resources[logicalIdOf(controlPlane.runNotices)].Properties.KmsMasterKeyId).toEqual({ 'Fn::GetAtt': [keyId, 'Arn'] });
    expect(resources[keyId].Properties.EnableKeyRotation).toBe(true);
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: logicalIdOf(controlPlane.runNotices) }],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('may be published by the run state machine', () => {
    expect(roleActions('run')).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Resource: { Ref: logicalIdOf(controlPlane.runNotices) } }));
  });
});

describe('ControlPlane circuit breaker', () => {
  it('starts control with pause when one of its alarms goes to ALARM', () => {
    const rule = resources[logicalIdOf(controlPlane.circuitBreakerRule!)].Properties;
    expect(rule.EventPattern).toEqual({
      source: ['aws.cloudwatch'],
      'detail-type': ['CloudWatch Alarm State Change'],
      resources: [{ 'Fn::GetAtt': [logicalIdOf(alarm), 'Arn'] }],
      detail: { state: { value: ['ALARM'] } },
    });
    expect(rule.Targets[0].Arn).toEqual({ Ref: logicalIdOf(controlPlane.controlStateMachine) });
    expect(JSON.parse(rule.Targets[0].InputTransformer.InputTemplate)).toEqual({
      action: 'pause',
      reason: 'circuit breaker: alarm <detail-alarmName> is in ALARM',
      requestedBy: 'circuit-breaker (EventBridge)',
    });
  });

  it('is left out when no alarm is given', () => {
    const other = bareStack();
    const { controlPlane: alone } = controlPlaneIn(other);
    expect(alone.circuitBreakerRule).toBeUndefined();
    Template.fromStack(other).resourceCountIs('AWS::Events::Rule', 0);
  });
});

describe('ControlPlane and cdk-nag', () => {
  it('passes the AwsSolutions checks with its acknowledgement', () => {
    expect(nagFindings(stack, 'Test/ControlPlane/')).toEqual([]);
  });
});
