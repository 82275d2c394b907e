import { Annotations, ArnFormat, Duration, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as autoscaling from 'aws-cdk-lib/aws-autoscaling';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as ecs from 'aws-cdk-lib/aws-ecs';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { packageRoot } from '../../lib/package-root';
import { CONFIG_ENV_VAR, type PipelineConfig } from '../../lib/config/pipeline-config';
import { RESOURCES } from '../../lib/resources';
import type { FleetConfig } from '../config';
import { addCacheDiskUserData, CACHE_DISK_ATTRIBUTE, cacheDataVolume, CHECKPOINT_SPOOL_VOLUME, checkpointSpoolHostPath } from '../host/cache-disk';
import { hostInstanceProps } from '../host/instances';
import { grantAgentData } from './agent-grants';

// The project root from infra/constructs/ and from its compiled copy under dist/ (local mode synthesizes from there).
const PROJECT_ROOT = packageRoot(__dirname);
const CONTAINER_CACHE_DIR = '/var/cache/shardline';
/** Where the agent sees its host's checkpoint spool (`SHARDLINE_CHECKPOINT_DIR`, its `--checkpoint-dir`). */
export const AGENT_CHECKPOINT_DIR = '/var/spool/shardline/checkpoints';
/** Environment variables naming the Auto Scaling group and the termination lifecycle hook, so the agent can complete the action once drained. */
export const ASG_NAME_ENV_VAR = 'SHARDLINE_ASG_NAME';
export const LIFECYCLE_HOOK_ENV_VAR = 'SHARDLINE_LIFECYCLE_HOOK';

export interface AgentFleetProps {
  /** The hosts (types, Spot, size), the agent's CPU and memory, the cache disk. */
  readonly fleet: FleetConfig;
  /** Where ingested objects are read from. */
  readonly ingestBucket: s3.IBucket;
  /** Where shards are written and pulled from. */
  readonly processedBucket: s3.IBucket;
  /** Chunks to process. */
  readonly workQueue: sqs.IQueue;
  /** The work queue's DLQ: the leader returns messages whose chunk never failed (taken by polls of dead agents). */
  readonly workDlq: sqs.IQueue;
  readonly ledgerTable: dynamodb.ITable;
  readonly nodesTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
  /** The ingest-events queue, whose depth the leader reports to the control plane. */
  readonly ingestEventsQueue: sqs.IQueue;
  /** Pipeline config the agents start with (`SHARDLINE_CONFIG`). */
  readonly pipeline: Partial<PipelineConfig>;
  /** Days of agent log retention. */
  readonly logRetentionDays: number;
}

/** Port of each agent's Prometheus `/metrics` endpoint. */
export const AGENT_METRICS_PORT = 9400;

/**
 * The agent fleet: an ECS cluster on an Auto Scaling group of GPU instances (ECS GPU-optimized
 * AMI; Spot and mixed types as configured) with a capacity provider for training tasks, and the
 * agent as a DAEMON service: one task on every host, reserving no GPU and a small, configured
 * share of CPU and memory. Each host's shard cache lives on its own disk (NVMe instance store,
 * else an encrypted EBS data volume), prepared at boot; the agent is placed only on hosts whose
 * cache disk is mounted. The same disk holds the checkpoint spool, which the agent shares with
 * training containers and uploads from. A termination lifecycle hook gives a leaving host's agent time to drain.
 * See docs/gpu-hosts.md.
 */
export class AgentFleet extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly launchTemplate: ec2.LaunchTemplate;
  /** The hosts' instance role (the ECS container agent's permissions). */
  public readonly instanceRole: iam.Role;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
  /** Training tasks run on the hosts through it (it scales the group to fit them). */
  public readonly capacityProvider: ecs.AsgCapacityProvider;
  /** Termination lifecycle hook: a leaving host waits (up to `leaveTimeoutSeconds`) for its agent to drain. */
  public readonly leavingHook: autoscaling.LifecycleHook;
  public readonly taskDefinition: ecs.Ec2TaskDefinition;
  public readonly service: ecs.Ec2Service;
  public readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: AgentFleetProps) {
    super(scope, id);
    const { fleet } = props;
    // Public subnets without NAT gateways: hosts reach S3/DynamoDB through gateway endpoints
    // and nothing listens for inbound traffic (the security group allows none).
    this.vpc = new ec2.Vpc(this, 'Vpc', {
      maxAzs: 2,
      natGateways: 0,
      subnetConfiguration: [{ name: 'public', subnetType: ec2.SubnetType.PUBLIC }],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 }, DynamoDB: { service: ec2.GatewayVpcEndpointAwsService.DYNAMODB } },
      flowLogs: { all: { trafficType: ec2.FlowLogTrafficType.REJECT } },
    });
    this.cluster = new ecs.Cluster(this, 'Cluster', { vpc: this.vpc, containerInsightsV2: ecs.ContainerInsights.ENABLED });

    // A launch template (launch configurations can no longer be created in new accounts). The
    // cache disk is prepared before the ECS agent starts; GPU support is on for training tasks.
    const userData = ec2.UserData.forLinux();
    userData.addCommands('echo ECS_ENABLE_GPU_SUPPORT=true >> /etc/ecs/ecs.config');
    addCacheDiskUserData(userData, { mountPoint: fleet.cacheHostPath, spoolDir: checkpointSpoolHostPath(fleet.cacheHostPath) });
    this.instanceRole = new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') });
    this.launchTemplate = new ec2.LaunchTemplate(this, 'GpuHostTemplate', {
      instanceType: new ec2.InstanceType(fleet.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2(ecs.AmiHardwareType.GPU),
      userData,
      role: this.instanceRole,
      securityGroup: new ec2.SecurityGroup(this, 'HostSecurityGroup', { vpc: this.vpc, description: 'GPU hosts: no inbound, outbound to AWS APIs' }),
      associatePublicIpAddress: true,
      // IMDSv2 with one hop: the agent (host network) reads it; containers on a bridge get no token.
      requireImdsv2: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(200, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }, ...cacheDataVolume(fleet.cacheVolumeGiB)],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'GpuHosts', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      ...hostInstanceProps(fleet, this.launchTemplate),
      minCapacity: fleet.minCapacity,
      maxCapacity: fleet.maxCapacity,
      newInstancesProtectedFromScaleIn: false,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
    });
    // Without a notification target: EventBridge carries the action to the host-leaving Lambda.
    this.leavingHook = this.autoScalingGroup.addLifecycleHook('HostLeaving', {
      lifecycleTransition: autoscaling.LifecycleTransition.INSTANCE_TERMINATING,
      heartbeatTimeout: Duration.seconds(fleet.leaveTimeoutSeconds),
      defaultResult: autoscaling.DefaultResult.CONTINUE,
    });
    this.capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedTerminationProtection: false,
    });
    this.cluster.addAsgCapacityProvider(this.capacityProvider);

    // Host networking: the agent reaches instance metadata (its instance id, Spot notices) with
    // IMDSv2's one hop, and serves /metrics on the host's port.
    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'AgentTask', {
      networkMode: ecs.NetworkMode.HOST,
      volumes: [
        { name: 'shard-cache', host: { sourcePath: fleet.cacheHostPath } },
        // Training containers hand checkpoints to the agent here (the same host directory).
        { name: CHECKPOINT_SPOOL_VOLUME, host: { sourcePath: checkpointSpoolHostPath(fleet.cacheHostPath) } },
      ],
    });
    this.logGroup = new logs.LogGroup(this, 'AgentLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const container = this.taskDefinition.addContainer('agent', {
      image: ecs.ContainerImage.fromAsset(PROJECT_ROOT, {
        file: 'agent-container/Dockerfile',
        exclude: ['node_modules', 'cdk.out', '.git', '.shardline', '.scratch', 'coverage', 'test'],
      }),
      // No GPU: the GPUs stay with training tasks. CPU and memory are a small reservation.
      cpu: fleet.agentCpu,
      memoryReservationMiB: fleet.agentMemoryMiB,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'agent', logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(120), // SIGTERM drains: in-flight chunks finish first
      environment: {
        [RESOURCES.ingestBucket.envVar]: props.ingestBucket.bucketName,
        [RESOURCES.processedBucket.envVar]: props.processedBucket.bucketName,
        [RESOURCES.workQueueUrl.envVar]: props.workQueue.queueUrl,
        [RESOURCES.workDlqUrl.envVar]: props.workDlq.queueUrl,
        [RESOURCES.ledgerTable.envVar]: props.ledgerTable.tableName,
        [RESOURCES.nodesTable.envVar]: props.nodesTable.tableName,
        [RESOURCES.controlTable.envVar]: props.controlTable.tableName,
        [RESOURCES.ingestEventsQueueUrl.envVar]: props.ingestEventsQueue.queueUrl,
        [CONFIG_ENV_VAR]: JSON.stringify(props.pipeline),
        SHARDLINE_CACHE_DIR: CONTAINER_CACHE_DIR,
        SHARDLINE_CACHE_CAPACITY_BYTES: String(fleet.cacheCapacityGiB * 1024 ** 3),
        SHARDLINE_CHECKPOINT_DIR: AGENT_CHECKPOINT_DIR,
        [ASG_NAME_ENV_VAR]: this.autoScalingGroup.autoScalingGroupName,
        [LIFECYCLE_HOOK_ENV_VAR]: this.leavingHook.lifecycleHookName,
        // nvidia-smi can describe the GPUs (utility only: no compute); ECS reserves none for the agent.
        NVIDIA_VISIBLE_DEVICES: 'all',
        NVIDIA_DRIVER_CAPABILITIES: 'utility',
        // Prometheus /metrics on the host's port (one agent per host); the host security group
        // admits no inbound traffic, so a scraper needs a rule from its own security group.
        SHARDLINE_METRICS_PORT: String(AGENT_METRICS_PORT),
      },
    });
    container.addPortMappings({ containerPort: AGENT_METRICS_PORT, hostPort: AGENT_METRICS_PORT });
    container.addMountPoints(
      { sourceVolume: 'shard-cache', containerPath: CONTAINER_CACHE_DIR, readOnly: false },
      { sourceVolume: CHECKPOINT_SPOOL_VOLUME, containerPath: AGENT_CHECKPOINT_DIR, readOnly: false },
    );

    const taskRole = this.taskDefinition.taskRole;
    grantAgentData(taskRole, props);
    props.workQueue.grantConsumeMessages(taskRole);
    props.workQueue.grantSendMessages(taskRole);
    props.workDlq.grantConsumeMessages(taskRole);
    props.ingestEventsQueue.grant(taskRole, 'sqs:GetQueueAttributes');
    // A drained agent completes its host's lifecycle action early (or extends it while it hands off).
    taskRole.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['autoscaling:CompleteLifecycleAction', 'autoscaling:RecordLifecycleActionHeartbeat'],
        resources: [autoScalingGroupArn(this.autoScalingGroup)],
      }),
    );

    // DAEMON: one agent per host, no desired count. A deploy replaces each host's agent in place
    // (at most 100 %); its identity and cache are the host's, so a restart costs a short pause.
    this.service = new ecs.Ec2Service(this, 'AgentService', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      daemon: true,
      minHealthyPercent: 0,
      maxHealthyPercent: 100,
      // Only where the boot script mounted the cache disk: never a cache on the root volume.
      placementConstraints: [ecs.PlacementConstraint.memberOf(`attribute:${CACHE_DISK_ATTRIBUTE} exists`)],
    });
    Annotations.of(this.service).acknowledgeWarning(
      '@aws-cdk/aws-ecs:shouldUseCircuitBreaker',
      'The deployment circuit breaker counts failures against a desired count; a DAEMON service has none (one task per host).',
    );
  }
}

/** The ARN of an Auto Scaling group by name (its id segment is unknown until deploy). */
export function autoScalingGroupArn(asg: autoscaling.IAutoScalingGroup): string {
  return Stack.of(asg).formatArn({
    service: 'autoscaling',
    resource: 'autoScalingGroup',
    resourceName: `*:autoScalingGroupName/${asg.autoScalingGroupName}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}
