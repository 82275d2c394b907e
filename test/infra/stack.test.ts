import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { defaultStageConfig, validateStageConfig } from '../../infra/config';
import { createShardlineStack, type ShardlineStack } from '../../infra/shardline-stack';
import { RESOURCES } from '../../lib/resources';

// One synth for the file: synthesis costs seconds. Bundling is off (the bundle is not asserted).
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack: ShardlineStack = createShardlineStack(app, 'Test', { ...defaultStageConfig('test'), pipeline: { replicationFactor: 3 } });
const template = Template.fromStack(stack);
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

describe('Storage and Ingest buckets', () => {
  it.each(['ingest', 'processed'])('encrypts, versions and blocks public access on the %s bucket', (which) => {
    const bucket = which === 'ingest' ? stack.shardline.ingest.ingestBucket : stack.shardline.storage.processedBucket;
    const props = template.toJSON().Resources[logicalId(bucket)].Properties;
    expect(props.BucketEncryption.ServerSideEncryptionConfiguration[0].ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
    expect(props.VersioningConfiguration).toEqual({ Status: 'Enabled' });
    expect(props.PublicAccessBlockConfiguration).toEqual({ BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true });
    expect(props.LoggingConfiguration).toBeDefined();
  });

  it('denies non-TLS access to the buckets', () => {
    template.hasResourceProperties('AWS::S3::BucketPolicy', {
      Bucket: { Ref: logicalId(stack.shardline.ingest.ingestBucket) },
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it('aborts incomplete multipart uploads in the processed bucket', () => {
    template.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: { Rules: Match.arrayWith([Match.objectLike({ AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 } })]) },
    });
  });

  it('sends ObjectCreated notifications of the ingest bucket to the ingest-events queue', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalId(stack.shardline.ingest.ingestBucket) },
      NotificationConfiguration: {
        QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [logicalId(stack.shardline.ingest.eventsQueue), 'Arn'] } }],
      },
    });
  });
});

describe('Queues', () => {
  it('gives the work queue a DLQ with an explicit maxReceiveCount and visibility timeout', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 300,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.shardline.workQueues.workDlq), 'Arn'] }, maxReceiveCount: 5 },
      SqsManagedSseEnabled: true,
    });
  });

  it('gives the ingest-events queue a DLQ', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalId(stack.shardline.ingest.eventsDlq), 'Arn'] } },
    });
  });

  it('encrypts every queue', () => {
    for (const q of Object.values(template.findResources('AWS::SQS::Queue'))) expect(q.Properties.SqsManagedSseEnabled).toBe(true);
  });
});

describe('State tables', () => {
  it('creates three on-demand tables with PITR and pk/sk keys', () => {
    const tables = Object.values(template.findResources('AWS::DynamoDB::Table'));
    expect(tables).toHaveLength(3);
    for (const t of tables) {
      expect(t.Properties).toMatchObject({
        BillingMode: 'PAY_PER_REQUEST',
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
      });
    }
  });

  it("indexes live leases by holder so a dead node's chunks are found with one query", () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'byLeaseHolder',
          KeySchema: [
            { AttributeName: 'leasedBy', KeyType: 'HASH' },
            { AttributeName: 'sk', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });

  it('indexes under-replicated shards so the leader can top them up', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'byReplicaShortfall',
          KeySchema: [
            { AttributeName: 'shortOfReplicas', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
        }),
      ]),
    });
  });

  it('indexes unfinished objects (with their progress) so the leader finalizes any a dead committer left', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', {
      GlobalSecondaryIndexes: Match.arrayWith([
        Match.objectLike({
          IndexName: 'byUnfinished',
          KeySchema: [
            { AttributeName: 'unfinished', KeyType: 'HASH' },
            { AttributeName: 'pk', KeyType: 'RANGE' },
          ],
          Projection: { ProjectionType: 'INCLUDE', NonKeyAttributes: Match.arrayWith(['status', 'chunkCount', 'chunksDone', 'lastCommitAt']) },
        }),
      ]),
    });
  });

  it('sets a TTL attribute on the nodes table only for clean-up', () => {
    template.hasResourceProperties('AWS::DynamoDB::Table', { TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true } });
  });
});

describe('Chunker Lambda', () => {
  it('runs on an explicit Node.js runtime on ARM64 with the resources and config in its environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Environment: { Variables: Match.objectLike({ [RESOURCES.workQueueUrl.envVar]: Match.anyValue(), SHARDLINE_CONFIG: '{"replicationFactor":3}' }) },
    });
  });

  it('consumes the ingest-events queue with partial batch responses', () => {
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalId(stack.shardline.ingest.eventsQueue), 'Arn'] },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      BatchSize: 10,
      ScalingConfig: { MaximumConcurrency: 10 },
    });
  });
});

describe('Agent fleet', () => {
  const fleet = stack.shardline.fleet;
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
  const agentTask = () => resources[logicalId(fleet.taskDefinition)].Properties;

  it('runs GPU instances from the ECS GPU-optimized AMI with IMDSv2, an encrypted root volume and an encrypted cache data volume', () => {
    template.hasResourceProperties('AWS::EC2::LaunchTemplate', {
      LaunchTemplateData: Match.objectLike({
        InstanceType: 'g5.xlarge',
        ImageId: { Ref: Match.stringLikeRegexp('amiamazonlinux2gpu') },
        MetadataOptions: { HttpTokens: 'required' },
        BlockDeviceMappings: [
          Match.objectLike({ DeviceName: '/dev/xvda', Ebs: Match.objectLike({ Encrypted: true }) }),
          Match.objectLike({ DeviceName: '/dev/xvdb', Ebs: Match.objectLike({ Encrypted: true, VolumeSize: 200 }) }),
        ],
      }),
    });
  });

  it('prepares the cache disk at /var/cache/shardline at boot (instance store, else the data volume; never the root volume)', () => {
    const userData = JSON.stringify(resources[logicalId(fleet.launchTemplate)].Properties.LaunchTemplateData.UserData);
    expect(userData).toContain('bash /opt/shardline/prepare-cache-disk.sh /var/cache/shardline xvdb');
    expect(userData).toContain('mdadm --create');
  });

  it('adds the Auto Scaling group to the cluster through a capacity provider, On-Demand by default', () => {
    template.resourceCountIs('AWS::ECS::CapacityProvider', 1);
    template.hasResourceProperties('AWS::ECS::ClusterCapacityProviderAssociations', { CapacityProviders: Match.anyValue() });
    expect(resources[logicalId(fleet.autoScalingGroup)].Properties.MixedInstancesPolicy).toBeUndefined();
  });

  it('holds a terminating host up to 300 s (then continues) while its agent drains', () => {
    expect(resources[logicalId(fleet.leavingHook)].Properties).toMatchObject({ LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING', HeartbeatTimeout: 300, DefaultResult: 'CONTINUE' });
  });

  it('runs the agent as a DAEMON reserving no GPU, 1 vCPU and 2 GiB, with the host cache and checkpoint spool mounted read-write', () => {
    expect(agentTask()).toMatchObject({
      RequiresCompatibilities: ['EC2'],
      NetworkMode: 'host',
      Volumes: [
        { Name: 'shard-cache', Host: { SourcePath: '/var/cache/shardline' } },
        { Name: 'checkpoint-spool', Host: { SourcePath: '/var/cache/shardline/checkpoints' } },
      ],
    });
    const [agent] = agentTask().ContainerDefinitions;
    expect(agent.ResourceRequirements).toBeUndefined();
    expect(agent).toMatchObject({
      Cpu: 1024,
      MemoryReservation: 2048,
      MountPoints: [
        { SourceVolume: 'shard-cache', ContainerPath: '/var/cache/shardline', ReadOnly: false },
        { SourceVolume: 'checkpoint-spool', ContainerPath: '/var/spool/shardline/checkpoints', ReadOnly: false },
      ],
      LogConfiguration: expect.objectContaining({ LogDriver: 'awslogs' }),
    });
    const service = resources[logicalId(fleet.service)].Properties;
    expect(service).toMatchObject({ SchedulingStrategy: 'DAEMON', PlacementConstraints: [{ Type: 'memberOf', Expression: 'attribute:shardline.cache-disk exists' }] });
    expect(service.DesiredCount).toBeUndefined();
  });

  it('defines the example training task: the GPU requested, the cache mounted read-only, the checkpoint spool read-write', () => {
    const example = resources[logicalId(stack.shardline.trainingTaskExample!.taskDefinition)].Properties;
    // The very host directories the agent mounts: the agent uploads what training saves there.
    expect(example.Volumes).toEqual(agentTask().Volumes);
    expect(example.ContainerDefinitions[0]).toMatchObject({
      ResourceRequirements: [{ Type: 'GPU', Value: '1' }],
      MountPoints: [
        { SourceVolume: 'shard-cache', ContainerPath: '/shardline/cache', ReadOnly: true },
        { SourceVolume: 'checkpoint-spool', ContainerPath: '/shardline/checkpoints', ReadOnly: false },
      ],
      Environment: expect.arrayContaining([
        { Name: 'SHARDLINE_CACHE_DIR', Value: '/shardline/cache' },
        { Name: 'SHARDLINE_CHECKPOINT_DIR', Value: '/shardline/checkpoints' },
      ]),
    });
  });

  it('sets a retention on the agent log group', () => {
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });
});

describe('TaskStoppedDetector', () => {
  it("routes the agent service's ECS task-stopped events to the handler that declares the node dead", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ecs'],
        'detail-type': ['ECS Task State Change'],
        detail: {
          clusterArn: [{ 'Fn::GetAtt': [logicalId(stack.shardline.fleet.cluster), 'Arn'] }],
          group: [{ 'Fn::Join': ['', ['service:', { 'Fn::GetAtt': [logicalId(stack.shardline.fleet.service), 'Name'] }]] }],
          lastStatus: ['STOPPED'],
        },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.shardline.taskStopped.handler), 'Arn'] }, RetryPolicy: { MaximumRetryAttempts: 3 } })],
    });
  });

  it('gives the handler the nodes table and nothing else', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Environment: { Variables: { [RESOURCES.nodesTable.envVar]: { Ref: logicalId(stack.shardline.state.nodesTable) }, POWERTOOLS_SERVICE_NAME: 'shardline-task-stopped' } },
    });
  });
});

describe('HostLeavingDetector', () => {
  it("routes the hosts' termination lifecycle actions to the host-leaving handler", () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.autoscaling'],
        'detail-type': ['EC2 Instance-terminate Lifecycle Action'],
        detail: { AutoScalingGroupName: [{ Ref: logicalId(stack.shardline.fleet.autoScalingGroup) }], LifecycleHookName: [{ Ref: logicalId(stack.shardline.fleet.leavingHook) }] },
      },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalId(stack.shardline.hostLeaving.handler), 'Arn'] } })],
    });
  });

  it('follows no Spot interruption warnings when the fleet runs no Spot', () => {
    expect(stack.shardline.hostLeaving.spotInterruptionRule).toBeUndefined();
  });
});

describe('a Spot fleet of mixed instance types', () => {
  const spotStack = createShardlineStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Spot', {
    ...defaultStageConfig('test'),
    fleet: { ...defaultStageConfig('test').fleet, spot: true, instanceTypes: ['g6.xlarge', 'g5.2xlarge'], trainingTaskExample: false },
  });
  const t = Template.fromStack(spotStack);
  const spotId = (c: { node: { defaultChild?: unknown } }) => spotStack.getLogicalId(c.node.defaultChild as never);

  it('launches capacity-optimized Spot across the types, with capacity rebalancing', () => {
    t.hasResourceProperties('AWS::AutoScaling::AutoScalingGroup', {
      CapacityRebalance: true,
      MixedInstancesPolicy: {
        LaunchTemplate: Match.objectLike({ Overrides: [{ InstanceType: 'g5.xlarge' }, { InstanceType: 'g6.xlarge' }, { InstanceType: 'g5.2xlarge' }] }),
        InstancesDistribution: Match.objectLike({ OnDemandPercentageAboveBaseCapacity: 0, SpotAllocationStrategy: 'capacity-optimized' }),
      },
    });
  });

  it('routes Spot interruption warnings to the host-leaving handler', () => {
    t.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.ec2'], 'detail-type': ['EC2 Spot Instance Interruption Warning'] },
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [spotId(spotStack.shardline.hostLeaving.handler), 'Arn'] } })],
    });
  });

  it('leaves out the example training task when the config says so', () => {
    expect(spotStack.shardline.trainingTaskExample).toBeUndefined();
    t.resourceCountIs('AWS::ECS::TaskDefinition', 1);
  });

  it('passes the cdk-nag AwsSolutions checks', () => {
    expect(new AwsSolutionsChecks().validateScope(spotStack).violations).toEqual([]);
  });
});

describe('ShardlineStack', () => {
  it('names an output for every shared resource', () => {
    const outputs = Object.keys(template.toJSON().Outputs);
    for (const r of Object.values(RESOURCES)) expect(outputs).toContain(r.outputName);
  });

  it('passes the cdk-nag AwsSolutions checks, every acknowledgement carrying a reason', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('refuses a stage config that cannot deploy, with the reason', () => {
    const bad = { ...defaultStageConfig('x'), fleet: { ...defaultStageConfig('x').fleet, minCapacity: 5, maxCapacity: 2 } };
    expect(() => validateStageConfig(bad)).toThrow(/minCapacity must be between 0 and maxCapacity/);
    expect(() => validateStageConfig({ ...defaultStageConfig('x'), pipeline: { replicationFactor: 0 } })).toThrow(/replicationFactor/);
  });
});
