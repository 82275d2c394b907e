import { Duration, RemovalPolicy } from 'aws-cdk-lib';
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

// The project root from infra/constructs/ and from its compiled copy under dist/ (local mode synthesizes from there).
const PROJECT_ROOT = packageRoot(__dirname);
const CONTAINER_CACHE_DIR = '/var/cache/shardline';

export interface AgentFleetProps {
  readonly fleet: FleetConfig;
  readonly ingestBucket: s3.IBucket;
  readonly processedBucket: s3.IBucket;
  readonly workQueue: sqs.IQueue;
  readonly ledgerTable: dynamodb.ITable;
  readonly nodesTable: dynamodb.ITable;
  readonly controlTable: dynamodb.ITable;
  /** The ingest-events queue, whose depth the leader reports to the control plane. */
  readonly ingestEventsQueue: sqs.IQueue;
  readonly pipeline: Partial<PipelineConfig>;
  readonly logRetentionDays: number;
}

/**
 * The agent fleet: an ECS cluster on an Auto Scaling group of GPU instances (ECS GPU-optimized
 * AMI) through a capacity provider, and the agent service, one task per host, with the host's
 * shard cache mounted. Deployments roll with a circuit breaker and keep full capacity.
 */
/** Port of each agent's Prometheus `/metrics` endpoint. */
export const AGENT_METRICS_PORT = 9400;

export class AgentFleet extends Construct {
  public readonly vpc: ec2.Vpc;
  public readonly cluster: ecs.Cluster;
  public readonly autoScalingGroup: autoscaling.AutoScalingGroup;
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

    // A launch template (launch configurations can no longer be created in new accounts).
    const launchTemplate = new ec2.LaunchTemplate(this, 'GpuHostTemplate', {
      instanceType: new ec2.InstanceType(fleet.instanceType),
      machineImage: ecs.EcsOptimizedImage.amazonLinux2(ecs.AmiHardwareType.GPU),
      userData: ec2.UserData.forLinux(),
      role: new iam.Role(this, 'InstanceRole', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }),
      securityGroup: new ec2.SecurityGroup(this, 'HostSecurityGroup', { vpc: this.vpc, description: 'GPU hosts: no inbound, outbound to AWS APIs' }),
      associatePublicIpAddress: true,
      requireImdsv2: true,
      blockDevices: [{ deviceName: '/dev/xvda', volume: ec2.BlockDeviceVolume.ebs(200, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }) }],
    });
    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, 'GpuHosts', {
      vpc: this.vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PUBLIC },
      launchTemplate,
      minCapacity: fleet.minCapacity,
      maxCapacity: fleet.maxCapacity,
      newInstancesProtectedFromScaleIn: false,
      healthChecks: autoscaling.HealthChecks.ec2({ gracePeriod: Duration.minutes(5) }),
    });
    const capacityProvider = new ecs.AsgCapacityProvider(this, 'CapacityProvider', {
      autoScalingGroup: this.autoScalingGroup,
      enableManagedTerminationProtection: false,
    });
    this.cluster.addAsgCapacityProvider(capacityProvider);

    this.taskDefinition = new ecs.Ec2TaskDefinition(this, 'AgentTask', {
      volumes: [{ name: 'shard-cache', host: { sourcePath: fleet.cacheHostPath } }],
    });
    this.logGroup = new logs.LogGroup(this, 'AgentLogs', { retention: props.logRetentionDays as logs.RetentionDays, removalPolicy: RemovalPolicy.DESTROY });
    const container = this.taskDefinition.addContainer('agent', {
      image: ecs.ContainerImage.fromAsset(PROJECT_ROOT, {
        file: 'agent-container/Dockerfile',
        exclude: ['node_modules', 'cdk.out', '.git', '.shardline', '.scratch', 'coverage', 'test'],
      }),
      cpu: fleet.taskCpu,
      memoryReservationMiB: fleet.taskMemoryMiB,
      gpuCount: fleet.gpusPerTask,
      logging: ecs.LogDrivers.awsLogs({ streamPrefix: 'agent', logGroup: this.logGroup }),
      stopTimeout: Duration.seconds(120), // SIGTERM drains: in-flight chunks finish first
      environment: {
        [RESOURCES.ingestBucket.envVar]: props.ingestBucket.bucketName,
        [RESOURCES.processedBucket.envVar]: props.processedBucket.bucketName,
        [RESOURCES.workQueueUrl.envVar]: props.workQueue.queueUrl,
        [RESOURCES.ledgerTable.envVar]: props.ledgerTable.tableName,
        [RESOURCES.nodesTable.envVar]: props.nodesTable.tableName,
        [RESOURCES.controlTable.envVar]: props.controlTable.tableName,
        [RESOURCES.ingestEventsQueueUrl.envVar]: props.ingestEventsQueue.queueUrl,
        [CONFIG_ENV_VAR]: JSON.stringify(props.pipeline),
        SHARDLINE_CACHE_DIR: CONTAINER_CACHE_DIR,
        SHARDLINE_CACHE_CAPACITY_BYTES: String(fleet.cacheCapacityGiB * 1024 ** 3),
        SHARDLINE_INSTANCE_TYPE: fleet.instanceType,
        // Prometheus /metrics on the host's port (one task per host); the host security group
        // admits no inbound traffic, so a scraper needs a rule from its own security group.
        SHARDLINE_METRICS_PORT: String(AGENT_METRICS_PORT),
      },
    });
    container.addPortMappings({ containerPort: AGENT_METRICS_PORT, hostPort: AGENT_METRICS_PORT, name: 'metrics' });
    container.addMountPoints({ sourceVolume: 'shard-cache', containerPath: CONTAINER_CACHE_DIR, readOnly: false });

    props.ingestBucket.grantRead(this.taskDefinition.taskRole);
    props.processedBucket.grantReadWrite(this.taskDefinition.taskRole);
    props.workQueue.grantConsumeMessages(this.taskDefinition.taskRole);
    props.workQueue.grantSendMessages(this.taskDefinition.taskRole);
    props.ingestEventsQueue.grant(this.taskDefinition.taskRole, 'sqs:GetQueueAttributes');
    for (const table of [props.ledgerTable, props.nodesTable, props.controlTable]) table.grantReadWriteData(this.taskDefinition.taskRole);

    this.service = new ecs.Ec2Service(this, 'AgentService', {
      cluster: this.cluster,
      taskDefinition: this.taskDefinition,
      desiredCount: fleet.desiredCount,
      capacityProviderStrategies: [{ capacityProvider: capacityProvider.capacityProviderName, weight: 1 }],
      circuitBreaker: { enable: true, rollback: true },
      minHealthyPercent: 100,
      maxHealthyPercent: 200,
      placementConstraints: [ecs.PlacementConstraint.distinctInstances()],
    });
  }
}
