import { Template } from 'aws-cdk-lib/assertions';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import { State } from '../../../infra/constructs/state';
import { TaskStoppedDetector } from '../../../infra/constructs/task-stopped-detector';
import { acknowledgeTaskStoppedFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const state = new State(stack, 'State', { retainData: false });
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['us-east-1a'] });
const cluster = ecs.Cluster.fromClusterAttributes(stack, 'Cluster', { clusterName: 'agents', vpc });
const detector = new TaskStoppedDetector(stack, 'TaskStoppedDetector', { cluster, agentServiceName: 'agent-daemon', nodesTable: state.nodesTable, logRetentionDays: 14 });
acknowledgeTaskStoppedFindings(detector);
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;

describe('TaskStoppedDetector', () => {
  it('creates one rule and one handler', () => {
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.resourceCountIs('AWS::Lambda::Function', 1);
  });

  it("matches only the agent service's ECS tasks that stopped (not training tasks), and retries delivery to the handler", () => {
    expect(resources[logicalIdOf(detector.rule)].Properties).toMatchObject({
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: { clusterArn: [stack.resolve(cluster.clusterArn)], group: ['service:agent-daemon'], lastStatus: ['STOPPED'] },
      },
      Targets: [expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalIdOf(detector.handler), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 3 } })],
    });
  });

  it('lets EventBridge invoke the handler', () => {
    template.hasResourceProperties('AWS::Lambda::Permission', {
      Action: 'lambda:InvokeFunction',
      Principal: 'events.amazonaws.com',
      SourceArn: { 'Fn::GetAtt': [logicalIdOf(detector.rule), 'Arn'] },
    });
  });

  it('gives the handler the nodes table and nothing else', () => {
    expect(resources[logicalIdOf(detector.handler)].Properties.Environment.Variables).toEqual({
      [RESOURCES.nodesTable.envVar]: { Ref: logicalIdOf(state.nodesTable) },
      POWERTOOLS_SERVICE_NAME: 'shardline-task-stopped',
    });
    const policies = Object.values(template.findResources('AWS::IAM::Policy'));
    expect(policies).toHaveLength(1);
    const resourcesGranted = policies[0].Properties.PolicyDocument.Statement.flatMap((s: { Resource: unknown }) => [s.Resource].flat());
    for (const r of resourcesGranted) expect(JSON.stringify(r)).toContain(logicalIdOf(state.nodesTable));
  });

  it('passes the cdk-nag AwsSolutions checks with its acknowledgement', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
