import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as pkg from '../../infra';
import { defaultStageConfig } from '../../infra/config';
import { Shardline } from '../../infra/shardline';
import { resolveStageConfig } from '../../infra/shardline-props';
import { RESOURCES, type ResourceKey } from '../../lib/resources';
import { logicalIdOf, nagFindings } from './constructs/support';

// A user's own stack with their own function beside shardline; one synth for the file.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = new Stack(app, 'UserStack');
const data = new Shardline(stack, 'Data', {
  stageName: 'research',
  fleet: { instanceType: 'g6.xlarge', maxCapacity: 8 },
  workQueue: { maxReceiveCount: 7 },
  pipeline: { replicationFactor: 3 },
  retainData: false,
});
new lambda.Function(stack, 'UserFunction', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;

describe('Shardline in a stack of its user', () => {
  it('scopes its resources under its own id and adds no stack outputs', () => {
    expect(logicalIdOf(data.ledgerTable)).toMatch(/^DataStateLedger/);
    expect(template.toJSON().Outputs).toBeUndefined();
  });

  it('applies the props it is given', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', { LaunchTemplateData: { InstanceType: 'g6.xlarge' } });
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MaxSize: '8' });
    expect(resources[logicalIdOf(data.workQueue)].Properties.RedrivePolicy.maxReceiveCount).toBe(7);
    expect(resources[logicalIdOf(data.ingest.chunker)].Properties.Environment.Variables.SHARDLINE_CONFIG).toBe('{"replicationFactor":3}');
    for (const t of Object.values(template.findResources('AWS::DynamoDB::Table'))) expect(t.DeletionPolicy).toBe('Delete');
  });

  it('fills every other setting from the stage defaults', () => {
    const defaults = defaultStageConfig('research');
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: String(defaults.fleet.minCapacity) });
    expect(resources[logicalIdOf(data.workQueue)].Properties.VisibilityTimeout).toBe(defaults.workQueue.visibilityTimeoutSeconds);
    expect(data.config).toEqual({
      ...defaults,
      fleet: { ...defaults.fleet, instanceType: 'g6.xlarge', maxCapacity: 8 },
      workQueue: { ...defaults.workQueue, maxReceiveCount: 7 },
      pipeline: { replicationFactor: 3 },
      retainData: false,
    });
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shardline-research' });
  });

  it('hands out its buckets, queues, tables, state machines and topics', () => {
    expect(data.ingestBucket).toBe(data.ingest.ingestBucket);
    expect(data.processedBucket).toBe(data.storage.processedBucket);
    expect([data.workQueue, data.workDlq]).toEqual([data.workQueues.workQueue, data.workQueues.workDlq]);
    expect([data.ingestEventsQueue, data.ingestEventsDlq]).toEqual([data.ingest.eventsQueue, data.ingest.eventsDlq]);
    expect([data.ledgerTable, data.nodesTable, data.controlTable]).toEqual([data.state.ledgerTable, data.state.nodesTable, data.state.controlTable]);
    expect([data.controlStateMachine, data.runStateMachine, data.runNoticesTopic]).toEqual([data.controlPlane.controlStateMachine, data.controlPlane.runStateMachine, data.controlPlane.runNotices]);
    expect(data.operatorTopic).toBe(data.observability.operatorTopic);
    for (const c of [data.ingestBucket, data.workDlq, data.ledgerTable, data.runStateMachine, data.operatorTopic, data.fleet.service]) expect(resources[logicalIdOf(c)]).toBeDefined();
  });

  it('names every resource clients look up, by its key in RESOURCES', () => {
    expect(Object.keys(data.resourceNames).sort()).toEqual(Object.keys(RESOURCES).sort());
    const resolved = (key: ResourceKey) => stack.resolve(data.resourceNames[key]);
    expect(resolved('ledgerTable')).toEqual({ Ref: logicalIdOf(data.ledgerTable) });
    expect(resolved('workDlqUrl')).toEqual({ Ref: logicalIdOf(data.workDlq) });
    expect(resolved('runStateMachineArn')).toEqual({ Ref: logicalIdOf(data.runStateMachine) });
  });

  it('passes cdk-nag, acknowledging findings of its own resources only', () => {
    expect(nagFindings(stack)).toEqual(['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]: UserStack/UserFunction/ServiceRole/Resource']);
  });

  it('refuses props that cannot deploy, with the reason', () => {
    const fresh = () => new Stack(new App(), 'Bad');
    expect(() => new Shardline(fresh(), 'Data', { stageName: 'Research_1' })).toThrow(/stageName 'Research_1' must be lowercase/);
    expect(() => new Shardline(fresh(), 'Data', { stageName: 'x', fleet: { minCapacity: 5 } })).toThrow(/minCapacity must be between 0 and maxCapacity/);
  });

  it('lives beside another shardline of another stage in the same stack', () => {
    const both = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Both');
    new Shardline(both, 'Train', { stageName: 'train' });
    new Shardline(both, 'Eval', { stageName: 'eval' });
    const t = Template.fromStack(both);
    t.resourceCountIs('AWS::DynamoDB::Table', 6);
    t.resourceCountIs('AWS::CloudWatch::Dashboard', 2);
  });
});

describe('resolveStageConfig', () => {
  it('keeps a default wherever a prop is left out or undefined', () => {
    const config = resolveStageConfig({ stageName: 'dev', fleet: { agentCpu: undefined, spot: true, instanceTypes: ['g6.xlarge'] }, logRetentionDays: undefined });
    expect(config).toEqual({ ...defaultStageConfig('dev'), fleet: { ...defaultStageConfig('dev').fleet, spot: true, instanceTypes: ['g6.xlarge'] } });
  });

  it('gives the agent daemon a small share of each host and no GPU by default, with a cache data volume and an example training task', () => {
    expect(defaultStageConfig('dev').fleet).toMatchObject({
      agentCpu: 1024,
      agentMemoryMiB: 2048,
      spot: false,
      instanceTypes: [],
      cacheVolumeGiB: 200,
      leaveTimeoutSeconds: 300,
      trainingTaskExample: true,
    });
    expect(defaultStageConfig('dev').fleet).not.toHaveProperty('gpusPerTask');
  });

  it.each([
    [{ agentCpu: 64 }, /fleet.agentCpu must be 128..16384/],
    [{ agentMemoryMiB: 100 }, /fleet.agentMemoryMiB must be 256..65536/],
    [{ leaveTimeoutSeconds: 60 }, /fleet.leaveTimeoutSeconds must be 120..7200/],
    [{ cacheVolumeGiB: -1 }, /fleet.cacheVolumeGiB must be 0..16384/],
    [{ instanceTypes: ['g5 xlarge'] }, /fleet: 'g5 xlarge' is not an EC2 instance type/],
    [{ onDemandBaseCapacity: 9 }, /fleet.onDemandBaseCapacity must be a whole number between 0 and maxCapacity/],
    [{ cacheHostPath: '/' }, /fleet.cacheHostPath '\/' must be an absolute path below \//],
    [{ trainingTaskGpus: 0 }, /fleet.trainingTaskGpus must be 1..16/],
  ])('refuses the fleet setting %j with the reason', (fleet, reason) => {
    expect(() => resolveStageConfig({ stageName: 'dev', fleet })).toThrow(reason);
  });

  it('takes a whole stage config unchanged (what the stack passes)', () => {
    const stage = { ...defaultStageConfig('prod'), sourceBuckets: ['datasets-raw'], alarmEmail: 'ops@example.com' };
    expect(resolveStageConfig(stage)).toEqual(stage);
  });
});

describe('infra/index', () => {
  it('exports the construct and the stage config helpers', () => {
    expect(pkg.Shardline).toBe(Shardline);
    expect(pkg.resolveStageConfig).toBe(resolveStageConfig);
    expect(typeof pkg.defaultStageConfig).toBe('function');
    expect(typeof pkg.validateStageConfig).toBe('function');
  });
});
