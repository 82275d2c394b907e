import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { ResourceNames } from '../resources';

/** One queue's approximate depth, as SQS reports it. */
export interface QueueDepth {
  visible: number;
  /** Received and not yet deleted (being worked on, or waiting for their visibility to expire). */
  inFlight: number;
  delayed: number;
  /** Set when the queue could not be read (the other queues are still shown). */
  error?: string;
}

/** The four queues of a deployment. */
export interface QueueDepths {
  work: QueueDepth;
  workDlq: QueueDepth;
  ingestEvents: QueueDepth;
  ingestEventsDlq: QueueDepth;
}

const ATTRIBUTES = ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] as const;

/** Reads one queue's depth with a single GetQueueAttributes call. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  try {
    const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [...ATTRIBUTES] }));
    const a = out.Attributes ?? {};
    return {
      visible: Number(a.ApproximateNumberOfMessages ?? 0),
      inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0),
      delayed: Number(a.ApproximateNumberOfMessagesDelayed ?? 0),
    };
  } catch (err) {
    return { visible: 0, inFlight: 0, delayed: 0, error: (err as Error).message };
  }
}

/**
 * Depths of the work queue, its DLQ, the ingest-events queue and its DLQ (four calls in
 * parallel). SQS itself has no "age of the oldest message" attribute: that is the CloudWatch
 * metric `ApproximateAgeOfOldestMessage`, which the CDK dashboard shows.
 */
export async function queueDepths(sqs: SQSClient, resources: Pick<ResourceNames, 'workQueueUrl' | 'workDlqUrl' | 'ingestEventsQueueUrl' | 'ingestEventsDlqUrl'>): Promise<QueueDepths> {
  const [work, workDlq, ingestEvents, ingestEventsDlq] = await Promise.all(
    [resources.workQueueUrl, resources.workDlqUrl, resources.ingestEventsQueueUrl, resources.ingestEventsDlqUrl].map((url) => queueDepth(sqs, url)),
  );
  return { work, workDlq, ingestEvents, ingestEventsDlq };
}
