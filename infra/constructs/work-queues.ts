import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface WorkQueuesProps {
  /** Seconds a received chunk stays invisible (agents extend it while they work). */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before a chunk message moves to the DLQ. */
  readonly maxReceiveCount: number;
}

/** An SQS queue with shardline's defaults: encrypted, TLS only, a DLQ with 14 days' retention. */
export function queueWithDlq(scope: Construct, id: string, visibilityTimeout: Duration, maxReceiveCount: number) {
  const deadLetterQueue = new sqs.Queue(scope, `${id}Dlq`, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    visibilityTimeout,
    retentionPeriod: Duration.days(14),
    deadLetterQueue: { queue: deadLetterQueue, maxReceiveCount },
  });
  return { queue, deadLetterQueue };
}

/** The chunk work queue the agents long-poll, and its dead-letter queue for poison chunks. */
export class WorkQueues extends Construct {
  public readonly workQueue: sqs.Queue;
  public readonly workDlq: sqs.Queue;

  constructor(scope: Construct, id: string, props: WorkQueuesProps) {
    super(scope, id);
    const { queue, deadLetterQueue } = queueWithDlq(this, 'Work', Duration.seconds(props.visibilityTimeoutSeconds), props.maxReceiveCount);
    this.workQueue = queue;
    this.workDlq = deadLetterQueue;
  }
}
