/**
 * Work messages that reached the DLQ without their chunk failing. SQS counts every receive toward
 * maxReceiveCount, also those of a long poll that outlived its process: the server still hands a
 * message to the poll of an agent that was killed, and nobody works it. A chunk whose message
 * the DLQ took that way is not poison, yet no agent would ever see it again: its object would
 * wait forever. The leader looks at the DLQ now and then and sends such messages back fresh.
 */
import { ChangeMessageVisibilityBatchCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { deleteMessages, moveMessages } from '../aws/move-messages';
import { ChunkLedger } from '../ledger/chunk-ledger';
import type { ChunkItem } from '../ledger/items';
import type { Log } from '../log';
import { parseChunkMessage } from './chunk-message';

export interface StrayDeadLettersDeps {
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  workQueueUrl: string;
  workDlqUrl: string;
  log: Log;
}

/** What one look at the DLQ did with the messages it saw. */
export interface StrayDeadLetters {
  /** Sent back to the work queue: their chunk never failed for good. */
  returned: number;
  /** Deleted: their chunk is processed already (a duplicate). */
  dropped: number;
  /** Left for the operator's redrive: their chunk FAILED (poison), the body is not a chunk, or it was returned `MAX_RETURNS` times. */
  kept: number;
}

/** Messages looked at per call: a few receives of 10, hidden meanwhile so that each receive sees others. */
const RECEIVES_PER_LOOK = 5;
const LOOK_VISIBILITY_SECONDS = 30;
/**
 * How often one message is returned at most. A chunk that kills every agent that takes it (it
 * never gets to record a failure) would otherwise go round for ever; after this many returns it
 * stays in the DLQ, where the DLQ alarm and `redrive` see it.
 */
export const MAX_RETURNS = 3;
/** The message attribute that counts a message's returns from the DLQ. */
export const RETURNS_ATTRIBUTE = 'shardlineDlqReturns';

/** One look at the DLQ: returns stray messages to the work queue (each at most `MAX_RETURNS` times), drops duplicates, leaves poison visible for `redrive`. */
export async function returnStrayDeadLetters(deps: StrayDeadLettersDeps): Promise<StrayDeadLetters> {
  const out: StrayDeadLetters = { returned: 0, dropped: 0, kept: 0 };
  const keep: Message[] = [];
  for (let i = 0; i < RECEIVES_PER_LOOK; i++) {
    const { Messages = [] } = await deps.sqs.send(
      new ReceiveMessageCommand({ QueueUrl: deps.workDlqUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0, VisibilityTimeout: LOOK_VISIBILITY_SECONDS, MessageAttributeNames: [RETURNS_ATTRIBUTE] }),
    );
    if (Messages.length === 0) break;
    const back: Message[] = [];
    const drop: Message[] = [];
    for (const m of Messages) {
      const status = await chunkStatusOf(deps, m.Body);
      if (status === 'FAILED' || status === undefined || returnsOf(m) >= MAX_RETURNS) keep.push(m);
      else if (status === 'PROCESSED') drop.push(m);
      else back.push(m);
    }
    // Back as new messages, each counting its returns; a message whose send failed stays for the next look.
    const returned = await moveMessages(deps.sqs, back, deps.workDlqUrl, deps.workQueueUrl, (m) => ({ [RETURNS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(returnsOf(m) + 1) } }));
    await deleteMessages(deps.sqs, deps.workDlqUrl, drop);
    out.returned += returned.length;
    out.dropped += drop.length;
  }
  // Poison stays where the operator's redrive finds it: visible again at once.
  for (let i = 0; i < keep.length; i += 10) {
    const batch = keep.slice(i, i + 10);
    await deps.sqs.send(
      new ChangeMessageVisibilityBatchCommand({ QueueUrl: deps.workDlqUrl, Entries: batch.map((m, j) => ({ Id: String(j), ReceiptHandle: m.ReceiptHandle as string, VisibilityTimeout: 0 })) }),
    );
  }
  out.kept = keep.length;
  if (out.returned > 0) deps.log('warn', 'returned work messages the DLQ took from polls of dead agents', { ...out });
  return out;
}

/** How often the leader has returned `m` from the DLQ before. */
function returnsOf(m: Message): number {
  return Number(m.MessageAttributes?.[RETURNS_ATTRIBUTE]?.StringValue ?? 0);
}

/** The chunk's status in the ledger: 'NONE' when it has no item yet; undefined when the body is not a chunk message. */
async function chunkStatusOf(deps: StrayDeadLettersDeps, body: string | undefined): Promise<ChunkItem['status'] | 'NONE' | undefined> {
  let chunk;
  try {
    chunk = parseChunkMessage(body);
  } catch {
    return undefined;
  }
  return (await new ChunkLedger(deps.doc, deps.ledgerTable).get(chunk.objectId, chunk.index))?.status ?? 'NONE';
}
