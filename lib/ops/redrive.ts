import { DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { keys } from '../ledger/items';
import { conditionally } from '../aws/conditional-write';

export interface RedriveResult {
  moved: number;
  objectsReopened: number;
}

/**
 * Sends every message of a dead-letter queue back to its source queue (after a fix), and
 * reopens the objects whose chunks had FAILED so they complete when the chunks succeed.
 */
export async function redrive(deps: { sqs: SQSClient; doc: DynamoDBDocumentClient; ledgerTable: string }, from: string, to: string): Promise<RedriveResult> {
  let moved = 0;
  const reopened = new Set<string>();
  for (;;) {
    const out = await deps.sqs.send(new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const sent = await deps.sqs.send(new SendMessageBatchCommand({ QueueUrl: to, Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body as string })) }));
    const failed = new Set((sent.Failed ?? []).map((f) => Number(f.Id)));
    const done = messages.filter((_, i) => !failed.has(i));
    if (done.length > 0) {
      await deps.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: from, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })) }));
    }
    moved += done.length;
    for (const m of done) {
      const objectId = objectIdOfMessage(m.Body);
      if (objectId && !reopened.has(objectId) && (await reopen(deps, objectId))) reopened.add(objectId);
    }
  }
  return { moved, objectsReopened: reopened.size };
}

function objectIdOfMessage(body: string | undefined): string | undefined {
  try {
    const id = (JSON.parse(body ?? '') as { objectId?: unknown }).objectId;
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

async function reopen(deps: { doc: DynamoDBDocumentClient; ledgerTable: string }, objectId: string): Promise<boolean> {
  return conditionally(
    deps.doc.send(
      new UpdateCommand({
        TableName: deps.ledgerTable,
        Key: keys.object(objectId),
        UpdateExpression: 'SET #s = :enqueued, failedChunks = :zero REMOVE lastError',
        ConditionExpression: '#s = :failed',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':enqueued': 'ENQUEUED', ':failed': 'FAILED', ':zero': 0 },
      }),
    ),
  );
}
