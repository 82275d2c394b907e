import { Duration } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { FleetConfig } from '../../../infra/config';
import { AGENT_METRICS_PORT, AgentFleet } from '../../../infra/constructs/agent-fleet';
import { secureBucketProps } from '../../../infra/constructs/storage';
import { queueWithDlq } from '../../../infra/constructs/work-queues';
import { acknowledgeAgentFleetFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, dataFixtures, logicalIdOf, nagFindings } from './support';

const fleetConfig: FleetConfig = {
  instanceType: 'g6.2xlarge',
  minCapacity: 2,
  maxCapacity: 6,
  desiredCount: 2,
  gpusPerTask: 2,
  taskCpu: 4096,
  taskMemoryMiB: 16384,
  cacheHostPath: '/mnt/nvme/shardline',
  cacheCapacityGiB: 500,
};
const stack = bareStack();
const { storage, state, workQueues } = dataFixtures(stack);
const ingestBucket = new s3.Bucket(stack, 'IngestBucket', secureBucketProps(false, storage.accessLogsBucket, 'ingest/'));
const ingestEvents = queueWithDlq(stack, 'IngestEvents', Duration.minutes(30), 5).queue;
const fleet = new AgentFleet(stack, 'AgentFleet', {
  fleet: fleetConfig,
  ingestBucket,
  processedBucket: storage.processedBucket,
  workQueue: workQueues.workQueue,
  ledgerTable: state.ledgerTable,
  nodesTable: state.nodesTable,
  controlTable: state.controlTable,
  ingestEventsQueue: ingestEvents,
  pipeline: { replicationFactor: 3 },
  logRetentionDays: 7,
});
acknowledgeAgentFleetFindings(fleet, { buckets: [ingestBucket, storage.processedBucket], ledgerTable: state.ledgerTable });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const container = () => resources[logicalIdOf(fleet.taskDefinition)].Properties.ContainerDefinitions[0];
const taskRoleStatements = () =>
  Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalIdOf(fleet.taskDefinition.taskRole)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as { Action: string | string[]; Resource: unknown }[]);
const actionsOn = (c: Parameters<typeof logicalIdOf>[0]) =>
  taskRoleStatements()
    .filter((s) => JSON.stringify(s.Resource).includes(`"${logicalIdOf(c)}"`))
    .flatMap((s) => [s.Action].flat());

describe('AgentFleet network', () => {
  it('uses public subnets in two AZs with no NAT gateway and S3/DynamoDB gateway endpoints', () => {
    template.resourceCountIs('AWS::EC2::VPC', 1);
    template.resourceCountIs('AWS::EC2::Subnet', 2);
    template.resourceCountIs('AWS::EC2::NatGateway', 0);
    const endpoints = Object.values(template.findResources('AWS::EC2::VPCEndpoint')).map((e) => JSON.stringify(e.Properties.ServiceName));
    expect(endpoints).toHaveLength(2);
    expect(endpoints.some((e) => e.endsWith('.s3"]]}'))).toBe(true);
    expect(endpoints.some((e) => e.endsWith('.dynamodb"]]}'))).toBe(true);
  });

  it('logs rejected traffic and lets nothing in', () => {
    template.hasResourceProperties('AWS::EC2::FlowLog', { TrafficType: 'REJECT' });
    const [group] = Object.values(template.findResources('AWS::EC2::SecurityGroup'));
    expect(group.Properties.SecurityGroupIngress).toBeUndefined();
  });
});

describe('AgentFleet hosts', () => {
  it('launches the configured GPU instance type from the ECS GPU AMI with IMDSv2 and an encrypted gp3 root volume', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'g6.2xlarge',
        ImageId: { Ref: Match.stringLikeRegexp('amiamazonlinux2gpu') },
        MetadataOptions: { HttpTokens: 'required' },
        BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 200, VolumeType: 'gp3' } }],
      }),
    });
  });

  it("scales the hosts between the configured bounds, through the cluster's capacity provider", () => {
    template.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', { MinSize: '2', MaxSize: '6' });
    template.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { Cluster: { Ref: logicalIdOf(fleet.cluster) } });
  });
});

describe('AgentFleet agent task and service', () => {
  it('reserves the configured GPUs, CPU and memory and mounts the host cache', () => {
    expect(resources[logicalIdOf(fleet.taskDefinition)].Properties.Volumes).toEqual([{ Name: 'shard-cache', Host: { SourcePath: '/mnt/nvme/shardline' } }]);
    expect(container()).toMatchObject({
      Cpu: 4096,
      MemoryReservation: 16384,
      ResourceRequirements: [{ Type: 'GPU', Value: '2' }],
      MountPoints: [{ SourceVolume: 'shard-cache', ContainerPath: '/var/cache/shardline', ReadOnly: false }],
      PortMappings: [expect.objectContaining({ ContainerPort: AGENT_METRICS_PORT, HostPort: AGENT_METRICS_PORT })],
      StopTimeout: 120,
      LogConfiguration: { LogDriver: 'awslogs', Options: expect.objectContaining({ 'awslogs-group': { Ref: logicalIdOf(fleet.logGroup) } }) },
    });
  });

  it('tells the agent its resources, the pipeline config and its cache capacity', () => {
    const env = Object.fromEntries((container().Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({
      [RESOURCES.ingestBucket.envVar]: { Ref: logicalIdOf(ingestBucket) },
      [RESOURCES.workQueueUrl.envVar]: { Ref: logicalIdOf(workQueues.workQueue) },
      [RESOURCES.nodesTable.envVar]: { Ref: logicalIdOf(state.nodesTable) },
      [RESOURCES.ingestEventsQueueUrl.envVar]: { Ref: logicalIdOf(ingestEvents) },
      SHARDLINE_CONFIG: '{"replicationFactor":3}',
      SHARDLINE_CACHE_CAPACITY_BYTES: String(500 * 1024 ** 3),
      SHARDLINE_INSTANCE_TYPE: 'g6.2xlarge',
    });
  });

  it('runs one task per host, rolling with a circuit breaker and rollback at full capacity', () => {
    template.hasResourceProperties('AWS::ECS::Service', {
      DesiredCount: 2,
      PlacementConstraints: [{ Type: 'distinctInstance' }],
      DeploymentConfiguration: { DeploymentCircuitBreaker: { Enable: true, Rollback: true }, MinimumHealthyPercent: 100, MaximumPercent: 200 },
      CapacityProviderStrategy: [Match.objectLike({ Weight: 1 })],
    });
  });

  it('keeps the agent logs for the configured days', () => {
    expect(resources[logicalIdOf(fleet.logGroup)].Properties.RetentionInDays).toBe(7);
  });
});

describe('AgentFleet grants', () => {
  it('lets the agents read ingested objects and read, write and delete processed ones', () => {
    expect(actionsOn(ingestBucket)).toEqual(expect.arrayContaining(['s3:GetObject*']));
    expect(actionsOn(ingestBucket).filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual([]);
    expect(actionsOn(storage.processedBucket)).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:DeleteObject*']));
  });

  it("lets the agents consume and send chunk messages and only read the ingest-events queue's attributes", () => {
    expect(actionsOn(workQueues.workQueue)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage']));
    expect(actionsOn(ingestEvents)).toEqual(['sqs:GetQueueAttributes']);
  });

  it.each(['ledger', 'nodes', 'control'] as const)('lets the agents read and write the %s table', (name) => {
    expect(actionsOn(state[`${name}Table`])).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
  });
});

describe('AgentFleet and cdk-nag', () => {
  it('passes the AwsSolutions checks with its acknowledgements', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
