import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import { HostLeavingDetector } from '../../../infra/constructs/host-leaving-detector';
import { State } from '../../../infra/constructs/state';
import { acknowledgeHostLeavingFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const state = new State(stack, 'State', { retainData: false });
const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 1, natGateways: 0, subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }] });
const asg = new autoscaling.AutoScalingGroup(stack, 'Hosts', {
  vpc,
  launchTemplate: new ec2.LaunchTemplate(stack, 'Template', { instanceType: new ec2.InstanceType('g5.xlarge'), machineImage: ec2.MachineImage.latestAmazonLinux2023() }),
});
const hook = asg.addLifecycleHook('Leaving', { lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING, heartbeatTimeout: Duration.seconds(300) });
const detector = new HostLeavingDetector(stack, 'HostLeavingDetector', { autoScalingGroup: asg, lifecycleHook: hook, nodesTable: state.nodesTable, logRetentionDays: 14 });
acknowledgeHostLeavingFindings(detector);
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const handlerTarget = (ruleId: string) => resources[ruleId].Properties.Targets;

describe('HostLeavingDetector', () => {
  it("routes the group's termination lifecycle actions of its hook to the handler, retrying delivery", () => {
    expect(resources[logicalIdOf(detector.scaleInRule)].Properties.EventPattern).toEqual({
      source: ['aws.autoscaling'],
      'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
      detail: { AutoScalingGroupName: [{ Ref: logicalIdOf(asg) }], LifecycleHookName: [{ Ref: logicalIdOf(hook) }] },
    });
    expect(handlerTarget(logicalIdOf(detector.scaleInRule))).toEqual([
      expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalIdOf(detector.handler), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 3 } }),
    ]);
  });

  it('routes EC2 Spot interruption warnings to the same handler', () => {
    expect(resources[logicalIdOf(detector.spotInterruptionRule!)].Properties.EventPattern).toEqual({
      source: ['aws.ec2'],
      'detail-type': ['EC2 Spot Instance Interruption Warning'],
    });
    expect(handlerTarget(logicalIdOf(detector.spotInterruptionRule!))).toEqual([expect.objectContaining({ Arn: { 'Fn::GetAtt': [logicalIdOf(detector.handler), 'Arn'] } })]);
  });

  it('lets EventBridge invoke the handler from both rules', () => {
    const sources = Object.values(template.findResources('AWS::Lambda::Permission')).map((p) => p.Properties.SourceArn);
    expect(sources).toEqual(expect.arrayContaining([{ 'Fn::GetAtt': [logicalIdOf(detector.scaleInRule), 'Arn'] }, { 'Fn::GetAtt': [logicalIdOf(detector.spotInterruptionRule!), 'Arn'] }]));
  });

  it('lets the handler only update items of the nodes table, which its environment names', () => {
    expect(resources[logicalIdOf(detector.handler)].Properties.Environment.Variables).toEqual({
      [RESOURCES.nodesTable.envVar]: { Ref: logicalIdOf(state.nodesTable) },
      POWERTOOLS_SERVICE_NAME: 'shardline-host-leaving',
    });
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toEqual([{ Effect: 'Allow', Action: 'dynamodb:UpdateItem', Resource: [{ 'Fn::GetAtt': [logicalIdOf(state.nodesTable), 'Arn'] }] }]);
  });

  it('leaves out the Spot rule when the fleet runs no Spot', () => {
    const other = bareStack();
    const otherAsg = autoscaling.AutoScalingGroup.fromAutoScalingGroupName(other, 'Hosts', 'hosts');
    const otherHook = new autoscaling.LifecycleHook(other, 'Hook', { autoScalingGroup: otherAsg, lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING });
    const onDemand = new HostLeavingDetector(other, 'HostLeavingDetector', {
      autoScalingGroup: otherAsg,
      lifecycleHook: otherHook,
      nodesTable: new State(other, 'State', { retainData: false }).nodesTable,
      spot: false,
      logRetentionDays: 14,
    });
    expect(onDemand.spotInterruptionRule).toBeUndefined();
    Template.fromStack(other).resourceCountIs('AWS::Events::Rule', 1);
  });

  it('passes the cdk-nag AwsSolutions checks with its acknowledgement', () => {
    expect(nagFindings(stack, 'Test/HostLeavingDetector/')).toEqual([]);
  });
});
