import { Duration } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { FleetConfig } from '../../../infra/config';
import { readFileSync } from 'node:fs';
import { AGENT_CHECKPOINT_DIR, AGENT_METRICS_PORT, ASG_NAME_ENV_VAR, AgentFleet, autoScalingGroupArn, LIFECYCLE_HOOK_ENV_VAR } from '../../../infra/constructs/agent-fleet';
import { PREPARE_CACHE_DISK_SCRIPT } from '../../../infra/host/cache-disk';
import { secureBucketProps } from '../../../infra/constructs/storage';
import { queueWithDlq } from '../../../infra/constructs/work-queues';
import { acknowledgeAgentFleetFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, dataFixtures, logicalIdOf, nagFindings } from './support';

const fleetConfig: FleetConfig = {
  instanceType: 'g6.2xlarge',
  instanceTypes: ['g5.2xlarge', 'g6e.2xlarge'],
  spot: true,
  onDemandBaseCapacity: 1,
  minCapacity: 2,
  maxCapacity: 6,
  agentCpu: 512,
  agentMemoryMiB: 1536,
  cacheHostPath: '/mnt/shardline-cache',
  cacheCapacityGiB: 500,
  cacheVolumeGiB: 300,
  leaveTimeoutSeconds: 240,
  trainingTaskExample: false,
  trainingTaskGpus: 1,
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
  workDlq: workQueues.workDlq,
  ledgerTable: state.ledgerTable,
  nodesTable: state.nodesTable,
  controlTable: state.controlTable,
  ingestEventsQueue: ingestEvents,
  pipeline: { replicationFactor: 3 },
  logRetentionDays: 7,
});
acknowledgeAgentFleetFindings(fleet, { ingestBucket, processedBucket: storage.processedBucket, ledgerTable: state.ledgerTable });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const container = () => resources[logicalIdOf(fleet.taskDefinition)].Properties.ContainerDefinitions[0];
const taskRoleStatements = (): { Action: string | string[]; Resource: unknown; Condition?: unknown }[] =>
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
  const launchTemplate = () => resources[logicalIdOf(fleet.launchTemplate)].Properties.LaunchTemplateData;
  /** The user data script, references shown as `<ref>`. */
  const userData = () => (launchTemplate().UserData['Fn::Base64']['Fn::Join'][1] as unknown[]).map((p) => (typeof p === 'string' ? p : '<ref>')).join('');

  it('launches from the ECS GPU AMI with IMDSv2, an encrypted gp3 root volume and an encrypted gp3 cache data volume of the configured size', () => {
    expect(launchTemplate()).toMatchObject({
      InstanceType: 'g6.2xlarge',
      ImageId: { Ref: expect.stringMatching(/amiamazonlinux2gpu/) },
      MetadataOptions: { HttpTokens: 'required' },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { Encrypted: true, VolumeSize: 200, VolumeType: 'gp3' } },
        { DeviceName: '/dev/xvdb', Ebs: { Encrypted: true, VolumeSize: 300, VolumeType: 'gp3', DeleteOnTermination: true } },
      ],
    });
  });

  it('prepares the cache disk at boot with the boot script, mounted at the configured host path with the checkpoint spool on it, and enables GPU support', () => {
    expect(userData()).toContain(`cat > /opt/shardline/prepare-cache-disk.sh <<'SHARDLINE_SCRIPT'\n${readFileSync(PREPARE_CACHE_DISK_SCRIPT, 'utf8').trimEnd()}\nSHARDLINE_SCRIPT\n`);
    expect(userData()).toContain('bash /opt/shardline/prepare-cache-disk.sh /mnt/shardline-cache xvdb /mnt/shardline-cache/checkpoints ||');
    expect(userData()).toContain('ECS_ENABLE_GPU_SUPPORT=true');
  });

  it('mixes the configured instance types on capacity-optimized Spot above the On-Demand base, with capacity rebalancing', () => {
    const asg = resources[logicalIdOf(fleet.autoScalingGroup)].Properties;
    expect(asg).toMatchObject({ MinSize: '2', MaxSize: '6', CapacityRebalance: true });
    expect(asg.LaunchTemplate).toBeUndefined();
    expect(asg.MixedInstancesPolicy).toEqual({
      LaunchTemplate: {
        LaunchTemplateSpecification: { LaunchTemplateId: { Ref: logicalIdOf(fleet.launchTemplate) }, Version: { 'Fn::GetAtt': [logicalIdOf(fleet.launchTemplate), 'LatestVersionNumber'] } },
        Overrides: [{ InstanceType: 'g6.2xlarge' }, { InstanceType: 'g5.2xlarge' }, { InstanceType: 'g6e.2xlarge' }],
      },
      InstancesDistribution: {
        OnDemandAllocationStrategy: 'prioritized',
        OnDemandBaseCapacity: 1,
        OnDemandPercentageAboveBaseCapacity: 0,
        SpotAllocationStrategy: 'capacity-optimized',
      },
    });
  });

  it('holds a terminating host for the configured time (then continues) so its agent can drain', () => {
    expect(resources[logicalIdOf(fleet.leavingHook)].Properties).toEqual({
      AutoScalingGroupName: { Ref: logicalIdOf(fleet.autoScalingGroup) },
      LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
      HeartbeatTimeout: 240,
      DefaultResult: 'CONTINUE',
    });
  });

  it('adds the hosts to the cluster through a capacity provider, for training tasks', () => {
    template.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { Cluster: { Ref: logicalIdOf(fleet.cluster) } });
  });
});

describe('AgentFleet agent daemon', () => {
  it('reserves no GPU and the configured CPU and memory, and mounts the host cache and the checkpoint spool read-write', () => {
    expect(resources[logicalIdOf(fleet.taskDefinition)].Properties).toMatchObject({
      NetworkMode: 'host',
      Volumes: [
        { Name: 'shard-cache', Host: { SourcePath: '/mnt/shardline-cache' } },
        { Name: 'checkpoint-spool', Host: { SourcePath: '/mnt/shardline-cache/checkpoints' } },
      ],
    });
    expect(container().ResourceRequirements).toBeUndefined();
    expect(container()).toMatchObject({
      Cpu: 512,
      MemoryReservation: 1536,
      MountPoints: [
        { SourceVolume: 'shard-cache', ContainerPath: '/var/cache/shardline', ReadOnly: false },
        { SourceVolume: 'checkpoint-spool', ContainerPath: AGENT_CHECKPOINT_DIR, ReadOnly: false },
      ],
      PortMappings: [expect.objectContaining({ ContainerPort: AGENT_METRICS_PORT, HostPort: AGENT_METRICS_PORT })],
      StopTimeout: 120,
      LogConfiguration: { LogDriver: 'awslogs', Options: expect.objectContaining({ 'awslogs-group': { Ref: logicalIdOf(fleet.logGroup) } }) },
    });
  });

  it('tells the agent its resources, the pipeline config, its cache capacity, its checkpoint spool and its lifecycle hook', () => {
    const env = Object.fromEntries((container().Environment as { Name: string; Value: unknown }[]).map((e) => [e.Name, e.Value]));
    expect(env).toMatchObject({
      [RESOURCES.ingestBucket.envVar]: { Ref: logicalIdOf(ingestBucket) },
      [RESOURCES.workQueueUrl.envVar]: { Ref: logicalIdOf(workQueues.workQueue) },
      [RESOURCES.workDlqUrl.envVar]: { Ref: logicalIdOf(workQueues.workDlq) },
      [RESOURCES.nodesTable.envVar]: { Ref: logicalIdOf(state.nodesTable) },
      [RESOURCES.ingestEventsQueueUrl.envVar]: { Ref: logicalIdOf(ingestEvents) },
      SHARDLINE_CONFIG: '{"replicationFactor":3}',
      SHARDLINE_CACHE_CAPACITY_BYTES: String(500 * 1024 ** 3),
      SHARDLINE_CHECKPOINT_DIR: AGENT_CHECKPOINT_DIR,
      [ASG_NAME_ENV_VAR]: { Ref: logicalIdOf(fleet.autoScalingGroup) },
      [LIFECYCLE_HOOK_ENV_VAR]: { Ref: logicalIdOf(fleet.leavingHook) },
      NVIDIA_DRIVER_CAPABILITIES: 'utility',
    });
    // The host's type comes from instance metadata: with mixed types a configured one would lie.
    expect(env.SHARDLINE_INSTANCE_TYPE).toBeUndefined();
  });

  it('runs as a DAEMON (one agent per host, no desired count) only on hosts whose cache disk is mounted', () => {
    const service = resources[logicalIdOf(fleet.service)].Properties;
    expect(service).toMatchObject({
      SchedulingStrategy: 'DAEMON',
      LaunchType: 'EC2',
      PlacementConstraints: [{ Type: 'memberOf', Expression: 'attribute:shardline.cache-disk exists' }],
      DeploymentConfiguration: { MinimumHealthyPercent: 0, MaximumPercent: 100 },
    });
    expect(service.DesiredCount).toBeUndefined();
    expect(service.CapacityProviderStrategy).toBeUndefined(); // DAEMON services take none
  });

  it('keeps the agent logs for the configured days', () => {
    expect(resources[logicalIdOf(fleet.logGroup)].Properties.RetentionInDays).toBe(7);
  });
});

describe('AgentFleet on one On-Demand instance type without a data volume', () => {
  const other = bareStack();
  const data = dataFixtures(other);
  const plain = new AgentFleet(other, 'AgentFleet', {
    fleet: { ...fleetConfig, instanceTypes: [], spot: false, cacheVolumeGiB: 0 },
    ingestBucket: data.storage.processedBucket,
    processedBucket: data.storage.processedBucket,
    workQueue: data.workQueues.workQueue,
    workDlq: data.workQueues.workDlq,
    ledgerTable: data.state.ledgerTable,
    nodesTable: data.state.nodesTable,
    controlTable: data.state.controlTable,
    ingestEventsQueue: data.workQueues.workDlq,
    pipeline: {},
    logRetentionDays: 7,
  });
  const t = Template.fromStack(other).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;

  it('launches from the launch template alone, without Spot or capacity rebalancing', () => {
    const asg = t[logicalIdOf(plain.autoScalingGroup)].Properties;
    expect(asg.LaunchTemplate).toEqual({ LaunchTemplateId: { Ref: logicalIdOf(plain.launchTemplate) }, Version: expect.anything() });
    expect(asg.MixedInstancesPolicy).toBeUndefined();
    expect(asg.CapacityRebalance).toBeUndefined();
  });

  it('attaches the root volume only', () => {
    expect(t[logicalIdOf(plain.launchTemplate)].Properties.LaunchTemplateData.BlockDeviceMappings.map((b: { DeviceName: string }) => b.DeviceName)).toEqual(['/dev/xvda']);
  });
});

describe('AgentFleet grants', () => {
  it('lets the agents read ingested objects, read and write processed ones, and delete only their attempt outputs and checkpoints', () => {
    expect(actionsOn(ingestBucket)).toEqual(expect.arrayContaining(['s3:GetObject*']));
    expect(actionsOn(ingestBucket).filter((a) => /^s3:(Put|Delete)/.test(a))).toEqual([]);
    expect(actionsOn(storage.processedBucket)).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:PutObject', 's3:AbortMultipartUpload', 's3:DeleteObject']));
    expect(actionsOn(storage.processedBucket)).not.toContain('s3:DeleteObject*');
  });

  it("lets the agents consume and send chunk messages and only read the ingest-events queue's attributes", () => {
    expect(actionsOn(workQueues.workQueue)).toEqual(expect.arrayContaining(['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:ChangeMessageVisibility', 'sqs:SendMessage']));
    expect(actionsOn(ingestEvents)).toEqual(['sqs:GetQueueAttributes']);
  });

  it('lets the agents complete or extend lifecycle actions of their own Auto Scaling group only', () => {
    const statement = taskRoleStatements().find((st) => [st.Action].flat().includes('autoscaling:CompleteLifecycleAction'));
    expect(statement).toEqual({
      Effect: 'Allow',
      Action: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
      Resource: stack.resolve(autoScalingGroupArn(fleet.autoScalingGroup)),
    });
  });

  it.each(['ledger', 'nodes', 'control'] as const)('lets the agents read and write the %s table', (name) => {
    expect(actionsOn(state[`${name}Table`])).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem', 'dynamodb:Query']));
  });

  it.each(['nodes', 'control'] as const)('lets the agents write only their own partitions of the %s table', (name) => {
    const writes = taskRoleStatements().filter((st) => [st.Action].flat().includes('dynamodb:PutItem') && JSON.stringify(st.Resource).includes(`"${logicalIdOf(state[`${name}Table`])}"`));
    expect(writes).toHaveLength(1);
    expect(writes[0]).toHaveProperty(['Condition', 'ForAllValues:StringLike', 'dynamodb:LeadingKeys']);
  });
});

describe('AgentFleet and cdk-nag', () => {
  it('passes the AwsSolutions checks with its acknowledgements', () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
