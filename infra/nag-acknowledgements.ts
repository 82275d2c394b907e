import { CfnResource, Stack, Validations } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import type { IConstruct } from 'constructs';
import { AGENT_DELETE_PREFIXES } from './constructs/agent-grants';
import type { AgentFleet } from './constructs/agent-fleet';
import type { ControlPlane } from './constructs/control-plane';
import type { HostLeavingDetector } from './constructs/host-leaving-detector';
import type { Ingest } from './constructs/ingest';
import type { State } from './constructs/state';
import type { Storage } from './constructs/storage';
import type { TaskStoppedDetector } from './constructs/task-stopped-detector';
import { TRAINING_READ_PREFIXES, type TrainingTaskExample } from './constructs/training-task-example';

// Every cdk-nag AwsSolutions finding shardline accepts is listed here, each on the one resource
// (a role with its default policy, a task definition, a function) it is about, naming the exact
// finding (for IAM5 the exact wildcard), with its reason. Nothing is acknowledged on a whole
// construct or stack, so a new wildcard anywhere fails the nag checks until it is fixed or listed
// here. One function per construct, so a construct's test can check its findings alone.

const ack = (scope: IConstruct, id: string, reason: string) => Validations.of(scope).acknowledge({ id: `AwsSolutions-${id}`, reason });

const MANAGED_LOGS_POLICY = 'IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole]';
const GRANTS_REASON =
  'Wildcards come from CDK grant*() methods: object-level actions on this bucket\'s objects (bucket ARN + "/*") and the action families S3 needs for ranged GETs and multipart uploads.';
const READ_ACTION_FAMILIES = ['Action::s3:GetObject*', 'Action::s3:GetBucket*', 'Action::s3:List*'];

/** Buckets and the ledger table a role was granted access to (by `grant*()`). */
export interface GrantedData {
  readonly buckets: readonly IConstruct[];
  readonly ledgerTable: IConstruct;
}

/** What the agent task role was granted access to (`grantAgentData`). */
export interface AgentGrantedData {
  readonly ingestBucket: IConstruct;
  readonly processedBucket: IConstruct;
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
  acknowledgeAgentFleetFindings(fleet, { ingestBucket: ingest.ingestBucket, processedBucket, ledgerTable });
  acknowledgeTaskStoppedFindings(parts.taskStopped);
  acknowledgeHostLeavingFindings(parts.hostLeaving);
  if (parts.trainingTaskExample) acknowledgeTrainingTaskExampleFindings(parts.trainingTaskExample, { buckets: [processedBucket] });
  acknowledgeControlPlaneFindings(parts.controlPlane);
  acknowledgeSourceBucketReads([ingest.chunker.role, fleet.taskDefinition.taskRole], parts.sourceBucketNames);
}

/** The chunker's role (its data grants, X-Ray, its log policy) and the role of CDK's helper that sets up the bucket notifications. */
export function acknowledgeIngestFindings(ingest: Ingest, granted: GrantedData): void {
  const role = ingest.chunker.role;
  if (!role) return;
  acknowledgeDataGrants(role, { ...granted, buckets: [ingest.ingestBucket, ...granted.buckets] });
  ack(role, 'IAM5[Action::s3:Abort*]', GRANTS_REASON);
  ack(role, 'IAM5[Resource::*]', 'X-Ray tracing (PutTraceSegments) has no resource-level permissions.');
  ack(role, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
  // CDK adds this helper Lambda once per stack, beside (not inside) the construct.
  for (const helper of Stack.of(ingest).node.children.filter((c) => c.node.id.startsWith('BucketNotificationsHandler'))) {
    const helperRole = helper.node.tryFindChild('Role');
    if (helperRole) ack(helperRole, MANAGED_LOGS_POLICY, 'The CDK-owned bucket notifications helper Lambda uses the managed basic execution role for its logs only.');
  }
}

/**
 * The agent task role's data grants, and the defaults of CDK's ECS-on-EC2 capacity: the instance
 * role, the execution role, and the Auto Scaling group's drain hook (its Lambda, role and topic).
 */
export function acknowledgeAgentFleetFindings(fleet: AgentFleet, granted: AgentGrantedData): void {
  const taskRole = fleet.taskDefinition.taskRole;
  acknowledgeDataGrants(taskRole, { buckets: [granted.ingestBucket, granted.processedBucket], ledgerTable: granted.ledgerTable });
  const processedArn = arnOf(granted.processedBucket);
  if (processedArn) {
    for (const prefix of AGENT_DELETE_PREFIXES) {
      ack(
        taskRole,
        `IAM5[Resource::${processedArn}/${prefix}*]`,
        `The agent deletes (s3:DeleteObject, current versions only) under ${prefix}: outputs of chunk attempts never committed, and checkpoint steps its retention prunes.`,
      );
    }
  }
  const asg = fleet.autoScalingGroup;
  const asgLogicalId = Stack.of(asg).getLogicalId(asg.node.defaultChild as CfnResource);
  const ownGroupArn = `IAM5[Resource::arn:<AWS::Partition>:autoscaling:<AWS::Region>:<AWS::AccountId>:autoScalingGroup:*:autoScalingGroupName/<${asgLogicalId}>]`;
  ack(taskRole, ownGroupArn, "A drained agent completes (or extends) its host's lifecycle action on this Auto Scaling group only; the group id segment is unknown until deploy.");
  ack(fleet.taskDefinition, 'ECS2', 'The environment holds resource names, paths and the pipeline config, no secrets.');

  ack(
    fleet.instanceRole,
    'IAM5[Resource::*]',
    'The ECS container agent on the host (CDK default instance role) calls ecs:DiscoverPollEndpoint and the like, which have no resource-level permissions.',
  );
  ack(fleet.instanceRole, 'IAM5[Action::ecs:Submit*]', 'The ECS container agent submits task and container state changes (CDK default instance role).');
  const executionRole = fleet.taskDefinition.executionRole;
  if (executionRole) ack(executionRole, 'IAM5[Resource::*]', 'ECS pulls the agent image: ecr:GetAuthorizationToken has no resource-level permissions.');

  const cfnAsg = asg.node.defaultChild as CfnResource;
  ack(cfnAsg, 'AS3', 'Scaling activity is visible in the ECS service events and the Auto Scaling activity history; shardline alarms on healthy node count instead.');
  // cdk-nag reads a mixed instances policy without following it to the launch template.
  ack(cfnAsg, 'EC26', 'Every EBS volume is encrypted by the launch template the group launches from (root and cache data volume: Encrypted true).');
  const drainFunction = asg.node.tryFindChild('DrainECSHook')?.node.tryFindChild('Function');
  if (drainFunction) {
    ack(drainFunction.node.defaultChild as CfnResource, 'L1', 'The ECS drain hook Lambda is CDK-owned; its runtime is chosen by aws-cdk-lib.');
    const drainRole = drainFunction.node.tryFindChild('ServiceRole');
    if (drainRole) {
      ack(drainRole, MANAGED_LOGS_POLICY, 'The CDK-owned ECS drain hook Lambda uses the managed basic execution role for its logs only.');
      ack(drainRole, 'IAM5[Resource::*]', 'The CDK-owned ECS drain hook reads instances and container instances (ec2:DescribeInstances, ecs:ListContainerInstances), which take no resource ARN.');
      ack(drainRole, ownGroupArn, 'The CDK drain hook completes lifecycle actions on this Auto Scaling group only; the group id segment is unknown until deploy.');
    }
  }
  const drainTopic = asg.node.tryFindChild('LifecycleHookDrainHook')?.node.tryFindChild('Topic');
  if (drainTopic) ack(drainTopic, 'SNS3', 'The drain-hook topic is CDK-owned and only the Auto Scaling service publishes to it.');
}

/** The task-stopped handler's log policy. */
export function acknowledgeTaskStoppedFindings(detector: TaskStoppedDetector): void {
  if (detector.handler.role) ack(detector.handler.role, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
}

/** The host-leaving handler's log policy. */
export function acknowledgeHostLeavingFindings(detector: HostLeavingDetector): void {
  if (detector.handler.role) ack(detector.handler.role, MANAGED_LOGS_POLICY, "The AWS managed basic execution role only allows writing this function's logs.");
}

/** The example training task: its environment, and its reads of the processed bucket's prefixes. */
export function acknowledgeTrainingTaskExampleFindings(example: TrainingTaskExample, granted: Pick<GrantedData, 'buckets'>): void {
  ack(example.taskDefinition, 'ECS2', 'The environment holds the cache and spool directories and resource names, no secrets.');
  const role = example.taskDefinition.taskRole;
  for (const bucket of granted.buckets) {
    const arn = arnOf(bucket);
    if (!arn) continue;
    for (const prefix of TRAINING_READ_PREFIXES)
      ack(role, `IAM5[Resource::${arn}/${prefix}*]`, `Training reads (s3:GetObject only) the objects under ${prefix}: shards, dataset indexes and checkpoints.`);
  }
}

/** Each state machine's role (log delivery, X-Ray) and its log level. */
export function acknowledgeControlPlaneFindings(controlPlane: ControlPlane): void {
  for (const machine of [controlPlane.controlStateMachine, controlPlane.runStateMachine]) {
    ack(machine.role, 'IAM5[Resource::*]', 'Step Functions log delivery (logs:CreateLogDelivery and the like) and X-Ray tracing have no resource-level permissions.');
    ack(
      machine.node.defaultChild as CfnResource,
      'SF1',
      'Errors are logged by default; every event with execution data (the requester, reasons) only when the stage asks for it. The execution history keeps every event.',
    );
  }
}

/** Read grants (`grantRead`) of `roles` on the objects of existing buckets that runs may process. */
export function acknowledgeSourceBucketReads(roles: readonly (iam.IRole | undefined)[], bucketNames: readonly string[]): void {
  for (const role of roles) {
    if (!role) continue;
    for (const name of bucketNames)
      ack(role, `IAM5[Resource::arn:<AWS::Partition>:s3:::${name}/*]`, `Runs read the objects of the configured source bucket ${name} (grantRead: its objects, nothing else).`);
  }
}

/** What `grant*()` on buckets (object wildcards, read action families) and on the ledger table (its indexes) leave behind. */
function acknowledgeDataGrants(role: iam.IRole, granted: GrantedData): void {
  for (const finding of READ_ACTION_FAMILIES) ack(role, `IAM5[${finding}]`, GRANTS_REASON);
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
