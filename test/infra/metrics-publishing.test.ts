import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { defaultStageConfig } from '../../infra/config';
import { createShardlineStack, type ShardlineStack } from '../../infra/shardline-stack';

// One synth for the file; bundling is off (the bundle is not asserted).
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack: ShardlineStack = createShardlineStack(app, 'MetricsTest', defaultStageConfig('metricstest'));
const template = Template.fromStack(stack);
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

describe('metrics publishing (CDK)', () => {
  it('tells the agent container its stage, the Stage dimension the dashboard reads', () => {
    template.hasResourceProperties('AWS::ECS::TaskDefinition', {
      ContainerDefinitions: Match.arrayWith([Match.objectLike({ Environment: Match.arrayWith([{ Name: 'SHARDLINE_STAGE', Value: 'metricstest' }]) })]),
    });
  });

  it('tells the chunker, task-stopped and host-leaving Lambdas their stage (their EMF carries it)', () => {
    for (const fn of [stack.shardline.ingest.chunker, stack.shardline.taskStopped.handler, stack.shardline.hostLeaving.handler]) {
      const props = template.toJSON().Resources[logicalId(fn)].Properties;
      expect(props.Environment.Variables.SHARDLINE_STAGE).toBe('metricstest');
    }
  });

  it('lets the agent task role put metric data in the Shardline namespace only', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      Roles: [{ Ref: logicalId(stack.shardline.fleet.taskDefinition.taskRole) }],
      PolicyDocument: {
        Statement: Match.arrayWith([{ Effect: 'Allow', Action: 'cloudwatch:PutMetricData', Resource: '*', Condition: { StringEquals: { 'cloudwatch:namespace': 'Shardline' } } }]),
      },
    });
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });
});
