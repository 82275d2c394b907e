import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ResourceNames } from '../lib/resources';
import type { StageConfig } from './config';
import { AgentFleet } from './constructs/agent-fleet';
import { ControlPlane } from './constructs/control-plane';
import { DataSources } from './constructs/data-sources';
import { HostLeavingDetector } from './constructs/host-leaving-detector';
import { Ingest } from './constructs/ingest';
import { Observability } from './constructs/observability';
import { State } from './constructs/state';
import { Storage } from './constructs/storage';
import { TaskStoppedDetector } from './constructs/task-stopped-detector';
import { TrainingTaskExample } from './constructs/training-task-example';
import { WorkQueues } from './constructs/work-queues';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { enableQuarantineNotices } from './observability/quarantine-notices';
import { enableMetricsPublishing } from './observability/metrics-publishing';
import { resolveStageConfig, type ShardlineProps } from './shardline-props';

export type { ShardlineProps } from './shardline-props';

/**
 * The whole of shardline as one construct: storage, state tables, queues, ingest with the
 * chunker, the GPU agent fleet (a daemon per host), failure detection, host-leaving notices
 * (Spot, scale-in), the Step Functions control plane, observability and an example training task. Add it to any stack; `resourceNames` is what clients need to find it (the
 * stack outputs of `infra/shardline-stack.ts`). Props are validated at synth: a value that
 * cannot deploy stops the synth with the reason. The cdk-nag AwsSolutions findings it accepts
 * are acknowledged, with reasons, on its own resources.
 */
export class Shardline extends Construct {
  /** The stage config in force: the props over the defaults. */
  public readonly config: StageConfig;
  public readonly storage: Storage;
  public readonly state: State;
  public readonly workQueues: WorkQueues;
  public readonly ingest: Ingest;
  public readonly fleet: AgentFleet;
  public readonly taskStopped: TaskStoppedDetector;
  /** Spot interruption warnings and scale-in lifecycle actions: the leaving host's node drains. */
  public readonly hostLeaving: HostLeavingDetector;
  /** The example training task definition (GPUs, the shard cache read-only), when `fleet.trainingTaskExample` is on. */
  public readonly trainingTaskExample?: TrainingTaskExample;
  public readonly observability: Observability;
  public readonly controlPlane: ControlPlane;
  /** DataSync copies of HDFS, NFS, EFS and FSx sources into the ingest bucket, when `dataSources` lists any. */
  public readonly dataSources?: DataSources;

  /** Where users drop data; its ObjectCreated events feed the chunker. */
  public readonly ingestBucket: s3.Bucket;
  /** The durable copy of every shard, rejects file, manifest and checkpoint. */
  public readonly processedBucket: s3.Bucket;
  /** The ingest bucket's ObjectCreated events, buffered for the chunker. */
  public readonly ingestEventsQueue: sqs.Queue;
  /** Ingest events the chunker failed on. */
  public readonly ingestEventsDlq: sqs.Queue;
  /** Chunks for the agents to process. */
  public readonly workQueue: sqs.Queue;
  /** Poison chunks, after `workQueue.maxReceiveCount` receives. */
  public readonly workDlq: sqs.Queue;
  /** Objects, chunks and replica assignments. */
  public readonly ledgerTable: dynamodb.Table;
  /** The node registry (heartbeats, status, capacity). */
  public readonly nodesTable: dynamodb.Table;
  /** Desired pipeline state, central config, leader lease, runs. */
  public readonly controlTable: dynamodb.Table;
  /** Pause, resume, drain, stop, emergency-stop. */
  public readonly controlStateMachine: sfn.StateMachine;
  /** Processes everything under a prefix. */
  public readonly runStateMachine: sfn.StateMachine;
  /** Where runs report that they finished or failed. */
  public readonly runNoticesTopic: sns.Topic;
  /** Every alarm notifies it. */
  public readonly operatorTopic: sns.Topic;
  /** Existing buckets runs may process, besides the ingest bucket. */
  public readonly sourceBucketNames: readonly string[];
  /** Every shared resource by its key in `lib/resources.ts` (tokens until deploy). */
  public readonly resourceNames: ResourceNames;

  constructor(scope: Construct, id: string, props: ShardlineProps) {
    super(scope, id);
    const config = (this.config = resolveStageConfig(props));
    this.storage = new Storage(this, 'Storage', { retainData: config.retainData });
    this.state = new State(this, 'State', { retainData: config.retainData });
    this.workQueues = new WorkQueues(this, 'WorkQueues', config.workQueue);
    this.ingest = new Ingest(this, 'Ingest', {
      processedBucket: this.storage.processedBucket,
      accessLogsBucket: this.storage.accessLogsBucket,
      workQueue: this.workQueues.workQueue,
      ledgerTable: this.state.ledgerTable,
      controlTable: this.state.controlTable,
      pipeline: config.pipeline,
      ...config.chunker,
      retainData: config.retainData,
      logRetentionDays: config.logRetentionDays,
    });
    this.fleet = new AgentFleet(this, 'AgentFleet', {
      fleet: config.fleet,
      ingestBucket: this.ingest.ingestBucket,
      processedBucket: this.storage.processedBucket,
      workQueue: this.workQueues.workQueue,
      workDlq: this.workQueues.workDlq,
      ledgerTable: this.state.ledgerTable,
      nodesTable: this.state.nodesTable,
      controlTable: this.state.controlTable,
      ingestEventsQueue: this.ingest.eventsQueue,
      pipeline: config.pipeline,
      logRetentionDays: config.logRetentionDays,
    });
    this.taskStopped = new TaskStoppedDetector(this, 'TaskStoppedDetector', {
      cluster: this.fleet.cluster,
      agentServiceName: this.fleet.service.serviceName,
      nodesTable: this.state.nodesTable,
      logRetentionDays: config.logRetentionDays,
    });
    this.hostLeaving = new HostLeavingDetector(this, 'HostLeavingDetector', {
      autoScalingGroup: this.fleet.autoScalingGroup,
      lifecycleHook: this.fleet.leavingHook,
      nodesTable: this.state.nodesTable,
      spot: config.fleet.spot,
      logRetentionDays: config.logRetentionDays,
    });
    if (config.fleet.trainingTaskExample) {
      this.trainingTaskExample = new TrainingTaskExample(this, 'TrainingTaskExample', {
        cacheHostPath: config.fleet.cacheHostPath,
        processedBucket: this.storage.processedBucket,
        ledgerTable: this.state.ledgerTable,
        gpus: config.fleet.trainingTaskGpus,
        logRetentionDays: config.logRetentionDays,
      });
    }
    this.observability = new Observability(this, 'Observability', {
      stageName: config.stageName,
      workQueue: this.workQueues.workQueue,
      workDlq: this.workQueues.workDlq,
      ingestEventsQueue: this.ingest.eventsQueue,
      ingestEventsDlq: this.ingest.eventsDlq,
      chunker: this.ingest.chunker,
      ledgerTable: this.state.ledgerTable,
      nodesTable: this.state.nodesTable,
      controlTable: this.state.controlTable,
      alarmEmail: config.alarmEmail,
      minHealthyNodes: config.minHealthyNodes ?? config.fleet.minCapacity,
      maxWorkMessageAgeSeconds: config.maxWorkMessageAgeSeconds,
      maxChunkErrorPercent: config.maxChunkErrorPercent,
      maxObjectFailurePercent: config.maxObjectFailurePercent,
      minObjectsForFailureRate: config.minObjectsForFailureRate,
      objectFailureWindowMinutes: config.objectFailureWindowMinutes,
      targetBytesPerSecond: config.targetBytesPerSecond,
    });

    // Existing buckets that runs may process: listed by the run state machine, read by the chunker and agents.
    this.sourceBucketNames = config.sourceBuckets ?? [];
    const sourceBuckets = this.sourceBucketNames.map((name, i) => s3.Bucket.fromBucketName(this, `SourceBucket${i}`, name));
    for (const bucket of sourceBuckets) {
      bucket.grantRead(this.ingest.chunker);
      bucket.grantRead(this.fleet.taskDefinition.taskRole);
    }
    if (config.dataSources?.length) {
      this.dataSources = new DataSources(this, 'DataSources', { sources: config.dataSources, ingestBucket: this.ingest.ingestBucket, logRetentionDays: config.logRetentionDays });
    }
    this.controlPlane = new ControlPlane(this, 'ControlPlane', {
      controlTable: this.state.controlTable,
      chunkerEventSource: this.ingest.chunkerEventSource,
      ingestEventsQueue: this.ingest.eventsQueue,
      sourceBuckets: [this.ingest.ingestBucket, ...sourceBuckets],
      processedBucket: this.storage.processedBucket,
      circuitBreakerAlarms: this.observability.circuitBreakerAlarms,
      logRetentionDays: config.logRetentionDays,
      stateMachineLogLevel: props.stateMachineLogs?.level as sfn.LogLevel | undefined,
      stateMachineLogExecutionData: props.stateMachineLogs?.includeExecutionData,
      dataSources: this.dataSources,
    });

    this.ingestBucket = this.ingest.ingestBucket;
    this.processedBucket = this.storage.processedBucket;
    this.ingestEventsQueue = this.ingest.eventsQueue;
    this.ingestEventsDlq = this.ingest.eventsDlq;
    this.workQueue = this.workQueues.workQueue;
    this.workDlq = this.workQueues.workDlq;
    this.ledgerTable = this.state.ledgerTable;
    this.nodesTable = this.state.nodesTable;
    this.controlTable = this.state.controlTable;
    this.controlStateMachine = this.controlPlane.controlStateMachine;
    this.runStateMachine = this.controlPlane.runStateMachine;
    this.runNoticesTopic = this.controlPlane.runNotices;
    this.operatorTopic = this.observability.operatorTopic;
    this.resourceNames = {
      ingestBucket: this.ingestBucket.bucketName,
      processedBucket: this.processedBucket.bucketName,
      ingestEventsQueueUrl: this.ingestEventsQueue.queueUrl,
      ingestEventsDlqUrl: this.ingestEventsDlq.queueUrl,
      workQueueUrl: this.workQueue.queueUrl,
      workDlqUrl: this.workDlq.queueUrl,
      ledgerTable: this.ledgerTable.tableName,
      nodesTable: this.nodesTable.tableName,
      controlTable: this.controlTable.tableName,
      controlStateMachineArn: this.controlStateMachine.stateMachineArn,
      runStateMachineArn: this.runStateMachine.stateMachineArn,
      runNoticesTopicArn: this.runNoticesTopic.topicArn,
      operatorTopicArn: this.operatorTopic.topicArn,
      agentLogGroup: this.fleet.logGroup.logGroupName,
      chunkerLogGroup: this.ingest.chunker.logGroup.logGroupName,
    };

    enableQuarantineNotices({ topic: this.runNoticesTopic, agentTaskDefinition: this.fleet.taskDefinition });
    enableMetricsPublishing({ stageName: config.stageName, agentTaskDefinition: this.fleet.taskDefinition, lambdas: [this.ingest.chunker, this.taskStopped.handler, this.hostLeaving.handler] });
    acknowledgeNagFindings(this);
  }
}
