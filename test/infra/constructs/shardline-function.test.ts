import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { shardlineFunction } from '../../../infra/constructs/shardline-function';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const fn = shardlineFunction(stack, 'Fn', 'task-stopped', { logRetentionDays: 60, memorySize: 256, timeout: Duration.seconds(20), environment: { GREETING: 'hello' } });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

describe('shardlineFunction', () => {
  it('sets an explicit Node.js runtime on ARM64 and the CommonJS handler of the bundle', () => {
    expect(resources[logicalIdOf(fn)].Properties).toMatchObject({ Runtime: 'nodejs24.x', Architectures: ['arm64'], Handler: 'index.handler' });
  });

  it('passes the other function props through', () => {
    expect(resources[logicalIdOf(fn)].Properties).toMatchObject({ MemorySize: 256, Timeout: 20, Environment: { Variables: { GREETING: 'hello' } } });
  });

  it('logs to its own log group with the given retention', () => {
    template.resourceCountIs('AWS::Logs::LogGroup', 1);
    const logGroupId = logicalIdOf(fn.logGroup);
    expect(logGroupId).toMatch(/^FnLogs/);
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(60);
    expect(resources[logicalIdOf(fn)].Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
  });

  it('refuses a name with no file under functions/', () => {
    expect(() => shardlineFunction(bareStack(), 'Missing', 'no-such-handler', { logRetentionDays: 30 })).toThrow(/no-such-handler/);
  });

  it('leaves only the managed logs policy for cdk-nag, which each user of the helper acknowledges', () => {
    expect(nagFindings(stack)).toEqual(['AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]: Test/Fn/ServiceRole/Resource']);
  });
});
