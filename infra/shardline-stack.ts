import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type { Construct } from 'constructs';
import { RESOURCES, type ResourceKey } from '../lib/resources';
import { validateStageConfig, type StageConfig } from './config';
import { AgentFleet } from './constructs/agent-fleet';
import { ControlPlane } from './constructs/control-plane';
import { Ingest } from './constructs/ingest';
import { Observability } from './constructs/observability';
import { acknowledgeNagFindings } from './nag-acknowledgements';
import { enableMetricsPublishing } from './observability/metrics-publishing';
import { State } from './constructs/state';
import { TaskStoppedDetector } from './constructs/task-stopped-detector';
import { Storage } from './constructs/storage';
import { WorkQueues } from './constructs/work-queues';

export interface ShardlineStackProps extends StackProps {
  readonly config: StageConfig;
}

/** The whole of shardline in one stack; it only composes the constructs and names the outputs. */
export class ShardlineStack extends Stack {
  public readonly storage: Storage;
  public readonly state: State;
  public readonly workQueues: WorkQueues;
  public readonly ingest: Ingest;
  public readonly fleet: AgentFleet;
  public readonly taskStopped: TaskStoppedDetector;
  public readonly controlPlane: ControlPlane;
  /** Existing buckets runs may process, besides the ingest bucket. */
  public readonly sourceBucketNames: string[];
  public readonly observability: Observability;

  constructor(scope: Construct, id: string, props: ShardlineStackProps) {
    super(scope, id, props);
    const config = validateStageConfig(props.config);
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

    const values: Record<ResourceKey, string> = {
      ingestBucket: this.ingest.ingestBucket.bucketName,
      processedBucket: this.storage.processedBucket.bucketName,
      ingestEventsQueueUrl: this.ingest.eventsQueue.queueUrl,
      ingestEventsDlqUrl: this.ingest.eventsDlq.queueUrl,
      workQueueUrl: this.workQueues.workQueue.queueUrl,
      workDlqUrl: this.workQueues.workDlq.queueUrl,
      ledgerTable: this.state.ledgerTable.tableName,
      nodesTable: this.state.nodesTable.tableName,
      controlTable: this.state.controlTable.tableName,
      controlStateMachineArn: this.controlPlane.controlStateMachine.stateMachineArn,
      runStateMachineArn: this.controlPlane.runStateMachine.stateMachineArn,
      runNoticesTopicArn: this.controlPlane.runNotices.topicArn,
      operatorTopicArn: this.observability.operatorTopic.topicArn,
      agentLogGroup: this.fleet.logGroup.logGroupName,
      chunkerLogGroup: this.ingest.chunker.logGroup.logGroupName,
    };
    // Output keys are exactly RESOURCES' names: the CLI and local mode find resources by them.
    for (const [key, value] of Object.entries(values) as [ResourceKey, string][]) {
      new CfnOutput(this, RESOURCES[key].outputName, { value });
    }
    enableMetricsPublishing({ stageName: config.stageName, agentTaskDefinition: this.fleet.taskDefinition, lambdas: [this.ingest.chunker, this.taskStopped.handler] });
    acknowledgeNagFindings(this);
  }
}

/** Adds shardline's stack for `config` to an app (used by `infra/app.ts` and by local mode). */
export function createShardlineStack(app: Construct, id: string, config: StageConfig, props: StackProps = {}): ShardlineStack {
  return new ShardlineStack(app, id, { ...props, config });
}
