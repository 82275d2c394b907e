import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import type { AgentFleet } from './constructs/agent-fleet';
import type { ControlPlane } from './constructs/control-plane';
import type { HostLeavingDetector } from './constructs/host-leaving-detector';
import type { Ingest } from './constructs/ingest';
import type { State } from './constructs/state';
import type { Storage } from './constructs/storage';
import type { TaskStoppedDetector } from './constructs/task-stopped-detector';
import type { TrainingTaskExample } from './constructs/training-task-example';

// Every cdk-nag AwsSolutions finding shardline accepts is listed here, each on the narrowest
// construct and with its reason; everything else is fixed in the constructs themselves. One
// function per construct, so a construct's test can check its findings alone.

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });

const MANAGED_LOGS_POLICY = 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const GRANTS_REASON =
  'Wildcards come from CDK grant*() methods: object-level actions on this bucket\'s objects (bucket ARN + "/*") and the action families S3 needs for ranged GETs and multipart uploads.';

/** Buckets and the ledger table a role was granted access to (by `grant*()`). */
export interface GrantedData {
  readonly buckets: readonly IConstruct[];
  readonly ledgerTable: IConstruct;
}

/** The parts of a shardline deployment whose findings are acknowledged. */
export interface NagSubjects {
  readonly storage: Storage;
  readonly state: State;
  readonly ingest: Ingest;
  readonly fleet: AgentFleet;
  readonly taskStopped: TaskStoppedDetector;
  readonly hostLeaving: HostLeavingDetector;
  readonly trainingTaskExample?: TrainingTaskExample;
  readonly controlPlane: ControlPlane;
  /** Existing buckets runs may process (read grants to their objects). */
  readonly sourceBucketNames: readonly string[];
}

/** Every finding of a whole deployment. */
export function acknowledgeNagFindings(parts: NagSubjects): void {
  const { ingest, fleet } = parts;
  const processedBucket = parts.storage.processedBucket;
  const ledgerTable = parts.state.ledgerTable;
  acknowledgeIngestFindings(ingest, { buckets: [processedBucket], ledgerTable });
  acknowledgeAgentFleetFindings(fleet, { buckets: [ingest.ingestBucket, processedBucket], ledgerTable });
  acknowledgeTaskStoppedFindings(parts.taskStopped);
  acknowledgeHostLeavingFindings(parts.hostLeaving);
  if (parts.trainingTaskExample) acknowledgeTrainingTaskExampleFindings(parts.trainingTaskExample, { buckets: [processedBucket] });
  acknowledgeControlPlaneFindings(parts.controlPlane);
  acknowledgeSourceBucketReads([ingest.chunker.role, fleet.taskDefinition.taskRole], parts.sourceBucketNames);
}

/** The chunker (its data grants, X-Ray, its log policy) and CDK's helper that sets up the bucket notifications. */
export function acknowledgeIngestFindings(ingest: Ingest, granted: GrantedData): void {
  const { chunker } = ingest;
  if (chunker.role) acknowledgeDataGrants(chunker.role, { ...granted, buckets: [ingest.ingestBucket, ...granted.buckets] });
  ack(chunker, 'IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments) has no resource-level permissions.');
  ack(chunker, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
  // CDK adds this helper Lambda once per stack, beside (not inside) the construct.
  for (const helper of Stack.of(ingest).node.children.filter((c) => c.node.id.startsWith('BucketNotificationsHandler'))) {
    ack(helper, MANAGED_LOGS_POLICY, 'The CDK-owned bucket notifications helper Lambda uses the managed basic execution role for its logs only.');
  }
}

/** The agent task role's data grants, and the defaults of CDK's ECS-on-EC2 capacity (instance role, drain hook, execution role). */
export function acknowledgeAgentFleetFindings(fleet: AgentFleet, granted: GrantedData): void {
  acknowledgeDataGrants(fleet.taskDefinition.taskRole, granted);
  const asg = fleet.autoScalingGroup;
  const asgLogicalId = Stack.of(asg).getLogicalId(asg.node.defaultChild as CfnResource);
  ack(
    fleet,
    'IAM5[Resource::*]',
    'CDK defaults: the ECS agent on the instance role (ecs:DiscoverPollEndpoint and the like), the drain hook (ec2:DescribeInstances) and the execution role (ecr:GetAuthorizationToken) call APIs without resource-level permissions.',
  );
  ack(fleet, 'IAM5[Action::ecs:Submit*]', 'The ECS container agent submits task and container state changes (CDK default instance role).');
  ack(
    asg,
    `IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${asgLogicalId}>]`,
    'The CDK drain hook completes lifecycle actions on this Auto Scaling group only; the group id segment is unknown until deploy.',
  );
  ack(asg, MANAGED_LOGS_POLICY, 'The CDK-owned ECS drain hook Lambda uses the managed basic execution role for its logs only.');
  ack(asg, 'L1', 'The ECS drain hook Lambda is CDK-owned; its runtime is chosen by aws-cdk-lib.');
  ack(asg, 'SNS3', 'The drain-hook topic is CDK-owned and only the Auto Scaling service publishes to it.');
  ack(asg, 'AS3', 'Scaling activity is visible in the ECS service events and the Auto Scaling activity history; shardline alarms on healthy node count instead.');
  // cdk-nag reads a mixed instances policy without following it to the launch template.
  ack(asg, 'EC26', 'Every EBS volume is encrypted by the launch template the group launches from (root and cache data volume: Encrypted true).');
  ack(fleet.taskDefinition, 'ECS2', 'The environment holds resource names and the pipeline config, no secrets.');
  ack(
    fleet.taskDefinition.taskRole,
    `IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${asgLogicalId}>]`,
    "A drained agent completes (or extends) its host's lifecycle action on this Auto Scaling group only; the group id segment is unknown until deploy.",
  );
}

/** The task-stopped handler's log policy. */
export function acknowledgeTaskStoppedFindings(detector: TaskStoppedDetector): void {
  ack(detector.handler, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
}

/** The host-leaving handler's log policy. */
export function acknowledgeHostLeavingFindings(detector: HostLeavingDetector): void {
  ack(detector.handler, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
}

/** The example training task: its environment, and its read grant on the processed bucket. */
export function acknowledgeTrainingTaskExampleFindings(example: TrainingTaskExample, granted: Pick<GrantedData, 'buckets'>): void {
  ack(example.taskDefinition, 'ECS2', 'The environment holds the cache directory and the processed bucket name, no secrets.');
  const role = example.taskDefinition.taskRole;
  for (const finding of ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*']) ack(role, `IAM5[${finding}]`, GRANTS_REASON);
  for (const bucket of granted.buckets) {
    const arn = arnOf(bucket);
    if (arn) ack(role, `IAM5[Resource::${arn}/*]`, GRANTS_REASON);
  }
}

/** Step Functions log delivery and X-Ray. */
export function acknowledgeControlPlaneFindings(controlPlane: ControlPlane): void {
  ack(controlPlane, 'IAM5[Resource::*]', 'Step Functions log delivery (logs:CreateLogDelivery and the like) and X-Ray tracing have no resource-level permissions.');
}

/** Read grants (`grantRead`) of `roles` on the objects of existing buckets that runs may process. */
export function acknowledgeSourceBucketReads(roles: readonly (iam.IRole | undefined)[], bucketNames: readonly string[]): void {
  for (const role of roles) {
    if (!role) continue;
    for (const name of bucketNames)
      ack(role, `IAM5[Resource::arn:<AWS::Partition>:s3:::${name}/*]`, `Runs read the objects of the configured source bucket ${name} (grantRead: its objects, nothing else).`);
  }
}

/** What `grant*()` on buckets (object wildcards, action families) and on the ledger table (its indexes) leave behind. */
function acknowledgeDataGrants(role: iam.IRole, granted: GrantedData): void {
  for (const finding of ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*', 'Action::s3:Abort*', 'Action::s3:DeleteObject*']) {
    ack(role, `IAM5[${finding}]`, GRANTS_REASON);
  }
  for (const bucket of granted.buckets) {
    const arn = arnOf(bucket);
    if (arn) ack(role, `IAM5[Resource::${arn}/*]`, GRANTS_REASON);
  }
  const ledgerArn = arnOf(granted.ledgerTable);
  if (ledgerArn) ack(role, `IAM5[Resource::${ledgerArn}/index/*]`, "grantReadWriteData covers the ledger table's own indexes (the lease-holder index), nothing else.");
}

/** `<LogicalId.Arn>`, as cdk-nag writes the ARN of a resource of the stack; undefined for an imported one. */
function arnOf(c: IConstruct): string | undefined {
  const resource = c.node.defaultChild;
  return CfnResource.isCfnResource(resource) ? `<${Stack.of(c).getLogicalId(resource)}.Arn>` : undefined;
}
