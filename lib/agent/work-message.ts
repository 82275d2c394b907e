/**
 * The SQS rules of a work-queue message: how it is received, how often it may be received before
 * the DLQ takes it, and how it is given back, looked at again, re-sent fresh or deleted.
 */
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { Log } from '../log';

/** The work queue as the receive rules see it. */
export interface WorkQueueDeps {
  sqs: SQSClient;
  workQueueUrl: string;
  log: Log;
  /** The work queue's maxReceiveCount: the last failing receive marks the chunk FAILED. */
  maxReceiveCount?: number;
}

/** Visibility of a received message until its chunk is leased. */
export const RECEIVE_VISIBILITY_SECONDS = 10;

/** How soon a message whose chunk another node holds is looked at again. */
const BUSY_RECHECK_SECONDS = 5;

/** One long-poll receive of at most one message; `signal` cuts the wait short (a drain). */
export async function receiveWork(queue: Pick<WorkQueueDeps, 'sqs' | 'workQueueUrl'>, waitSeconds: number, signal?: AbortSignal): Promise<Message[]> {
  const out = await queue.sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queue.workQueueUrl,
      MaxNumberOfMessages: 1,
      WaitTimeSeconds: waitSeconds,
      // Short until the chunk is leased (then the lease's length): a node that dies between
      // receiving and leasing delays the chunk by seconds, not by the queue's timeout.
      VisibilityTimeout: RECEIVE_VISIBILITY_SECONDS,
      MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
    }),
    signal ? { abortSignal: signal } : {},
  );
  return out.Messages ?? [];
}

/** The queue's maxReceiveCount from its redrive policy (undefined without a DLQ). */
export async function maxReceiveCountOf(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = out.Attributes?.RedrivePolicy;
  return policy ? Number((JSON.parse(policy) as { maxReceiveCount: number | string }).maxReceiveCount) : undefined;
}

/**
 * How often this message was received, and whether this is its last receive before the DLQ.
 * SQS dead-letters a message on the receive after its maxReceiveCount-th, whatever the earlier
 * receives were; those that were not failures of the chunk (busy rechecks, holders that died)
 * must not send a healthy chunk to the DLQ, so on its last receive such a message is re-sent fresh.
 */
export function receivesOf(deps: Pick<WorkQueueDeps, 'maxReceiveCount'>, message: Message): { receives: number; lastReceive: boolean } {
  const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 0);
  return { receives, lastReceive: deps.maxReceiveCount !== undefined && receives >= deps.maxReceiveCount };
}

/**
 * A message whose chunk another node holds: looked at again soon rather than at the lease's
 * expiry (if the holder fails, its lease is revoked, and the receipt handle it stored no longer
 * names this receive of the message); re-sent fresh if this was its last receive.
 */
export async function lookAgainLater(deps: WorkQueueDeps, message: Message, leaseExpiresAt: number, now: number, logKeys: Record<string, unknown>): Promise<'busy' | 'requeued'> {
  const seconds = Math.min(Math.max(1, Math.ceil((leaseExpiresAt - now) / 1000) + 1), BUSY_RECHECK_SECONDS);
  if (receivesOf(deps, message).lastReceive) {
    await requeueFresh(deps, message, seconds, logKeys);
    return 'requeued';
  }
  await setVisibility(deps, message.ReceiptHandle as string, seconds);
  return 'busy';
}

/**
 * Gives back a message that was received but not worked on (the pipeline was paused meanwhile):
 * visible again at once, or re-sent fresh if this was its last receive before the DLQ.
 */
export async function returnUnworked(deps: WorkQueueDeps, message: Message): Promise<void> {
  const { receives, lastReceive } = receivesOf(deps, message);
  if (lastReceive) {
    await requeueFresh(deps, message, 0, { messageId: message.MessageId, receives });
    return;
  }
  await setVisibility(deps, message.ReceiptHandle as string, 0);
}

/**
 * Puts a fresh copy of the message on the queue (its receive count starts again) and deletes this
 * one. The copy goes first: a crash in between leaves a duplicate, which the ledger's lease
 * absorbs, never a lost chunk.
 */
export async function requeueFresh(deps: WorkQueueDeps, message: Message, delaySeconds: number, logKeys: Record<string, unknown>): Promise<void> {
  await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.workQueueUrl, MessageBody: message.Body, DelaySeconds: delaySeconds }));
  deps.log('info', 'chunk message re-sent fresh: its receives were not failures of the chunk', logKeys);
  await deleteMessage(deps, message.ReceiptHandle as string).catch((err) =>
    deps.log('warn', 'old chunk message not deleted (it dead-letters or comes back as a duplicate)', { ...logKeys, error: (err as Error).message }),
  );
}

export async function deleteMessage(deps: Pick<WorkQueueDeps, 'sqs' | 'workQueueUrl'>, receipt: string): Promise<void> {
  await deps.sqs.send(new DeleteMessageCommand({ QueueUrl: deps.workQueueUrl, ReceiptHandle: receipt }));
}

export async function setVisibility(deps: Pick<WorkQueueDeps, 'sqs' | 'workQueueUrl'>, receipt: string, seconds: number): Promise<void> {
  await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.workQueueUrl, ReceiptHandle: receipt, VisibilityTimeout: seconds }));
}
