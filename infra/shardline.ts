import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { PipelineConfig } from '../lib/config/pipeline-config';
import type { ResourceNames } from '../lib/resources';
import { defaultStageConfig, validateStageConfig, type ChunkerConfig, type FleetConfig, type StageConfig, type WorkQueueConfig } from './config';
import { AgentFleet } from './constructs/agent-fleet';
import { ControlPlane } from './constructs/control-plane';
import { Ingest } from './constructs/ingest';
import { Observability } from './constructs/observability';
import { State } from './constructs/state';
import { Storage } from './constructs/storage';
import { TaskStoppedDetector } from './constructs/task-stopped-detector';
import { WorkQueues } from './constructs/work-queues';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { enableMetricsPublishing } from './observability/metrics-publishing';

/** How to deploy shardline: every prop but the stage name has a default. */
export interface ShardlineProps {
  /** Stage name (lowercase letters, digits, dashes): in the dashboard and alarm names, and the `Stage` dimension of shardline's metrics. */
  readonly stageName: string;
  /** GPU hosts and the agent task, field by field over the defaults. @default 1 to 4 g5.xlarge hosts, one agent task with one GPU per host (see {@link FleetConfig}) */
  readonly fleet?: Partial<FleetConfig>;
  /** The chunk work queue, field by field over the defaults. @default visibility timeout 300 s, dead-letter after 5 receives (3 on the `local` stage) */
  readonly workQueue?: Partial<WorkQueueConfig>;
  /** The chunker Lambda, field by field over the defaults. @default 512 MiB, batches of 10, at most 10 concurrent invocations */
  readonly chunker?: Partial<ChunkerConfig>;
  /** Pipeline config every component reads (chunk size, replication, transforms...). @default {} (the defaults of lib/config/pipeline-config.ts) */
  readonly pipeline?: Partial<PipelineConfig>;
  /** Keep the buckets and tables when the construct is removed. @default true (false on the `local` and `test` stages) */
  readonly retainData?: boolean;
  /** Days of log retention (a value CloudWatch Logs accepts). @default 30 */
  readonly logRetentionDays?: number;
  /** Existing buckets (names) whose data runs may process besides the ingest bucket: the run state machine lists them, the chunker and agents read them. @default none */
  readonly sourceBuckets?: readonly string[];
  /** Address subscribed to the operator alarm topic (it must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when fewer nodes are healthy; 0 turns the alarm off. @default fleet.minCapacity */
  readonly minHealthyNodes?: number;
  /** Alarm when the oldest work message is older than this many seconds. @default 1800 */
  readonly maxWorkMessageAgeSeconds?: number;
  /** Alarm, and pause the pipeline, when more than this % of chunk attempts fail. @default 10 */
  readonly maxChunkErrorPercent?: number;
  /** Alarm when the fleet processes fewer bytes/s while there is work. @default no throughput alarm */
  readonly targetBytesPerSecond?: number;
}

/**
 * The whole of shardline as one construct: storage, state tables, queues, ingest with the
 * chunker, the GPU agent fleet, failure detection, the Step Functions control plane and
 * observability. Add it to any stack; `resourceNames` is what clients need to find it (the
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
  public readonly observability: Observability;
  public readonly controlPlane: ControlPlane;

  /** Where users drop data; its ObjectCreated events feed the chunker. */
  public readonly ingestBucket: s3.Bucket;
  /** The durable copy of every shard, rejects file, manifest and checkpoint. */
  public readonly processedBucket: s3.Bucket;
  public readonly ingestEventsQueue: sqs.Queue;
  public readonly ingestEventsDlq: sqs.Queue;
  public readonly workQueue: sqs.Queue;
  public readonly workDlq: sqs.Queue;
  public readonly ledgerTable: dynamodb.Table;
  public readonly nodesTable: dynamodb.Table;
  public readonly controlTable: dynamodb.Table;
  /** Pause, resume, drain, stop, emergency-stop. */
  public readonly controlStateMachine: sfn.StateMachine;
  /** Processes everything under a prefix. */
  public readonly runStateMachine: sfn.StateMachine;
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
      ledgerTable: this.state.ledgerTable,
      nodesTable: this.state.nodesTable,
      controlTable: this.state.controlTable,
      ingestEventsQueue: this.ingest.eventsQueue,
      pipeline: config.pipeline,
      logRetentionDays: config.logRetentionDays,
    });
    this.taskStopped = new TaskStoppedDetector(this, 'TaskStoppedDetector', {
      cluster: this.fleet.cluster,
      nodesTable: this.state.nodesTable,
      logRetentionDays: config.logRetentionDays,
    });
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
      targetBytesPerSecond: config.targetBytesPerSecond,
    });

    // Existing buckets that runs may process: listed by the run state machine, read by the chunker and agents.
    this.sourceBucketNames = config.sourceBuckets ?? [];
    const sourceBuckets = this.sourceBucketNames.map((name, i) => s3.Bucket.fromBucketName(this, `SourceBucket${i}`, name));
    for (const bucket of sourceBuckets) {
      bucket.grantRead(this.ingest.chunker);
      bucket.grantRead(this.fleet.taskDefinition.taskRole);
    }
    this.controlPlane = new ControlPlane(this, 'ControlPlane', {
      controlTable: this.state.controlTable,
      chunkerEventSource: this.ingest.chunkerEventSource,
      ingestEventsQueue: this.ingest.eventsQueue,
      sourceBuckets: [this.ingest.ingestBucket, ...sourceBuckets],
      processedBucket: this.storage.processedBucket,
      agentService: this.fleet.service,
      agentDesiredCount: config.fleet.desiredCount,
      circuitBreakerAlarms: this.observability.circuitBreakerAlarms,
      logRetentionDays: config.logRetentionDays,
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

    enableMetricsPublishing({ stageName: config.stageName, agentTaskDefinition: this.fleet.taskDefinition, lambdas: [this.ingest.chunker, this.taskStopped.handler] });
    acknowledgeNagFindings(this);
  }
}

/** The props over the stage's defaults, validated (an undefined field keeps its default). */
export function resolveStageConfig(props: ShardlineProps): StageConfig {
  const defaults = defaultStageConfig(props.stageName);
  const { fleet, workQueue, chunker, sourceBuckets, ...rest } = definedOnly(props);
  return validateStageConfig({
    ...defaults,
    ...rest,
    fleet: { ...defaults.fleet, ...definedOnly(fleet ?? {}) },
    workQueue: { ...defaults.workQueue, ...definedOnly(workQueue ?? {}) },
    chunker: { ...defaults.chunker, ...definedOnly(chunker ?? {}) },
    ...(sourceBuckets ? { sourceBuckets: [...sourceBuckets] } : {}),
  });
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
