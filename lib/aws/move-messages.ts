import { DeleteMessageBatchCommand, SendMessageBatchCommand, type Message, type MessageAttributeValue, type SQSClient } from '@aws-sdk/client-sqs';

/**
 * Moves up to 10 messages received from queue `from` to queue `to`: sends each as a new message
 * (with `attributesOf(m)` when given), then deletes from `from` those that were sent. A message
 * whose send failed stays in `from` and comes back after its visibility timeout. Returns the moved.
 */
export async function moveMessages(sqs: SQSClient, messages: Message[], from: string, to: string, attributesOf?: (m: Message) => Record<string, MessageAttributeValue>): Promise<Message[]> {
  if (messages.length === 0) return [];
  const sent = await sqs.send(
    new SendMessageBatchCommand({
      QueueUrl: to,
      Entries: messages.map((m, i) => ({ Id: String(i), MessageBody: m.Body as string, ...(attributesOf ? { MessageAttributes: attributesOf(m) } : {}) })),
    }),
  );
  const failed = new Set((sent.Failed ?? []).map((f) => Number(f.Id)));
  const moved = messages.filter((_, i) => !failed.has(i));
  await deleteMessages(sqs, from, moved);
  return moved;
}

/** Deletes up to 10 received messages from `queueUrl`. */
export async function deleteMessages(sqs: SQSClient, queueUrl: string, messages: Message[]): Promise<void> {
  if (messages.length === 0) return;
  await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle as string })) }));
}
