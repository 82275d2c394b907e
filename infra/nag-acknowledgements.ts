import { Stack, Validations, type CfnResource } from 'aws-cdk-lib';
import type { IConstruct } from 'constructs';
import type { AgentFleet } from './constructs/agent-fleet';
import type { ControlPlane } from './constructs/control-plane';
import type { Ingest } from './constructs/ingest';
import type { State } from './constructs/state';
import type { Storage } from './constructs/storage';

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });
const arnOf = (stack: Stack, c: IConstruct) => `<${stack.getLogicalId(c.node.defaultChild as CfnResource)}.Arn>`;

/** The parts of a shardline deployment whose cdk-nag findings are acknowledged. */
export interface NagSubjects {
  readonly storage: Storage;
  readonly state: State;
  readonly ingest: Ingest;
  readonly fleet: AgentFleet;
  readonly controlPlane: ControlPlane;
  /** Existing buckets runs may process (read grants to their objects). */
  readonly sourceBucketNames: readonly string[];
}

/**
 * cdk-nag AwsSolutions findings that shardline accepts, each on the narrowest construct and
 * with its reason. Everything else is fixed in the constructs themselves.
 */
export function acknowledgeNagFindings(parts: NagSubjects): void {
  const { ingest, fleet, storage, state, controlPlane } = parts;
  const stack = Stack.of(ingest);
  const grantsReason =
    'Wildcards come from CDK grant*() methods: object-level actions on this bucket\'s objects (bucket ARN + "/*") and the action families S3 needs for ranged GETs and multipart uploads.';
  for (const role of [ingest.chunker.role, fleet.taskDefinition.taskRole]) {
    if (!role) continue;
    for (const finding of ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:Abort*', 'Action::s3:DeleteObject*']) {
      ack(role, `IAM5[${finding}]`, grantsReason);
    }
    ack(role, `IAM5[Resource::${arnOf(stack, ingest.ingestBucket)}/*]`, grantsReason);
    ack(role, `IAM5[Resource::${arnOf(stack, storage.processedBucket)}/*]`, grantsReason);
    for (const name of parts.sourceBucketNames) ack(role, `IAM5[Resource::arn:<AWS::Partition>:s3:::${name}/*]`, `Runs read the objects of the configured source bucket ${name} (grantRead: its objects, nothing else).`);
    ack(role, `IAM5[Resource::${arnOf(stack, state.ledgerTable)}/index/*]`, 'grantReadWriteData covers the ledger table\'s own indexes (the lease-holder index), nothing else.');
  }
  ack(ingest.chunker, 'IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments) has no resource-level permissions.');
  ack(ingest.chunker, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'The AWS managed basic execution role only allows writing this function\'s logs.');
  ack(stack, 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]', 'CDK-owned helper Lambdas (bucket notifications, ECS drain hook) use the managed basic execution role for their logs only.');

  const asg = fleet.autoScalingGroup;
  ack(fleet, 'IAM5[Resource::*]', 'CDK defaults: the ECS agent on the instance role (ecs:DiscoverPollEndpoint and the like), the drain hook (ec2:DescribeInstances) and the execution role (ecr:GetAuthorizationToken) call APIs without resource-level permissions.');
  ack(fleet, 'IAM5[Action::ecs:Submit*]', 'The ECS container agent submits task and container state changes (CDK default instance role).');
  ack(asg, `IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${stack.getLogicalId(asg.node.defaultChild as CfnResource)}>]`, 'The CDK drain hook completes lifecycle actions on this Auto Scaling group only; the group id segment is unknown until deploy.');
  ack(asg, 'L1', 'The ECS drain hook Lambda is CDK-owned; its runtime is chosen by aws-cdk-lib.');
  ack(asg, 'SNS3', 'The drain-hook topic is CDK-owned and only the Auto Scaling service publishes to it.');
  ack(asg, 'AS3', 'Scaling activity is visible in the ECS service events and the Auto Scaling activity history; shardline alarms on healthy node count instead.');
  ack(controlPlane, 'IAM5[Resource::*]', 'Step Functions log delivery (logs:CreateLogDelivery and the like) and X-Ray tracing have no resource-level permissions.');
  ack(fleet.taskDefinition, 'ECS2', 'The environment holds resource names and the pipeline config, no secrets.');
}
