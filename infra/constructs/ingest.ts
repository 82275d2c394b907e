import { Duration } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as nodejs from 'aws-cdk-lib/aws-lambda-nodejs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { CONFIG_ENV_VAR, type PipelineConfig } from '../../lib/config/pipeline-config';
import { RESOURCES } from '../../lib/resources';
import { shardlineFunction } from './shardline-function';
import { secureBucketProps } from './storage';
import { queueWithDlq } from './work-queues';

export interface IngestProps {
  readonly processedBucket: s3.IBucket;
  readonly accessLogsBucket: s3.IBucket;
  readonly workQueue: sqs.IQueue;
  readonly ledgerTable: dynamodb.ITable;
  /** Control state and the central config (read), and runs over a prefix (read/write). */
  readonly controlTable: dynamodb.ITable;
  readonly pipeline: Partial<PipelineConfig>;
  readonly memorySize: number;
  readonly batchSize: number;
  readonly maxConcurrency: number;
  readonly retainData: boolean;
  readonly logRetentionDays: number;
}

/**
 * Ingest: the bucket users drop data into, its ObjectCreated notifications buffered in an SQS
 * queue (retries, a DLQ, and pausing by disabling the event source mapping), and the chunker
 * Lambda that plans each object into chunks on the work queue.
 */
export class Ingest extends Construct {
  public readonly ingestBucket: s3.Bucket;
  public readonly eventsQueue: sqs.Queue;
  public readonly eventsDlq: sqs.Queue;
  public readonly chunker: nodejs.NodejsFunction;
  /** The chunker's event source mapping: the control plane disables it to pause ingestion. */
  public readonly chunkerEventSource: SqsEventSource;

  constructor(scope: Construct, id: string, props: IngestProps) {
    super(scope, id);
    this.ingestBucket = new s3.Bucket(this, 'Bucket', secureBucketProps(props.retainData, props.accessLogsBucket, 'ingest/'));
    const timeout = Duration.minutes(5);
    const { queue, deadLetterQueue } = queueWithDlq(this, 'Events', Duration.seconds(timeout.toSeconds() * 6), 5);
    this.eventsQueue = queue;
    this.eventsDlq = deadLetterQueue;
    this.ingestBucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queue));

    this.chunker = shardlineFunction(this, 'Chunker', 'chunker', {
      memorySize: props.memorySize,
      timeout,
      tracing: lambda.Tracing.ACTIVE,
      logRetentionDays: props.logRetentionDays,
      environment: {
        [RESOURCES.processedBucket.envVar]: props.processedBucket.bucketName,
        [RESOURCES.workQueueUrl.envVar]: props.workQueue.queueUrl,
        [RESOURCES.ledgerTable.envVar]: props.ledgerTable.tableName,
        [RESOURCES.controlTable.envVar]: props.controlTable.tableName,
        [CONFIG_ENV_VAR]: JSON.stringify(props.pipeline),
        POWERTOOLS_SERVICE_NAME: 'shardline-chunker',
      },
    });
    this.chunkerEventSource = new SqsEventSource(queue, {
      batchSize: props.batchSize,
      maxConcurrency: props.maxConcurrency,
      reportBatchItemFailures: true,
    });
    this.chunker.addEventSource(this.chunkerEventSource);
    this.ingestBucket.grantRead(this.chunker);
    props.processedBucket.grantPut(this.chunker); // manifests of empty objects
    props.workQueue.grantSendMessages(this.chunker);
    props.ledgerTable.grantReadWriteData(this.chunker);
    props.controlTable.grantReadData(this.chunker);
  }
}
