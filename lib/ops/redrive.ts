import { ReceiveMessageCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { moveMessages } from '../aws/move-messages';
import { ChunkLedger } from '../ledger/chunk-ledger';
import { ObjectLedger } from '../ledger/object-ledger';

export interface RedriveResult {
  /** Messages moved from the dead-letter queue back to its source queue. */
  moved: number;
  /** Quarantined (or failed) objects released back to ENQUEUED. */
  objectsReopened: number;
  /** FAILED chunks whose message the ledger kept, sent again because the DLQ no longer had it. */
  chunksResent: number;
}

export interface RedriveOptions {
  /** Release only these objects, from the ledger (the DLQ is left as it is). @default every quarantined object, after moving the work DLQ back */
  objectIds?: string[];
}

type RedriveDeps = { sqs: SQSClient; doc: DynamoDBDocumentClient; ledgerTable: string };

/**
 * After a fix: sends every message of the work dead-letter queue back to the work queue, then
 * releases every quarantined object (back to ENQUEUED), sending again from the ledger each FAILED
 * chunk whose message was not in the DLQ any more (expired, or purged). With `objectIds`, only
 * those objects are released, from the ledger alone; their messages left in the DLQ are harmless
 * duplicates if they are redriven later (a chunk is committed once).
 */
export async function redrive(deps: RedriveDeps, workDlqUrl: string, workQueueUrl: string, opts: RedriveOptions = {}): Promise<RedriveResult> {
  const objects = new ObjectLedger(deps.doc, deps.ledgerTable);
  // Quarantined objects are reopened before their messages return: agents may take a message the
  // moment it is back, and its chunk must then find its object open, not still quarantined.
  const quarantined = opts.objectIds ?? (await objects.quarantinedIds());
  const reopenedFirst = new Set<string>();
  for (const objectId of quarantined) if (await objects.release(objectId)) reopenedFirst.add(objectId);
  const moved = opts.objectIds ? { count: 0, chunks: new Map<string, Set<number>>() } : await moveBack(deps.sqs, workDlqUrl, workQueueUrl);
  const release = [...new Set([...quarantined, ...moved.chunks.keys()])];
  let objectsReopened = 0;
  let chunksResent = 0;
  for (const objectId of release) {
    const result = await releaseObject(deps, objects, workQueueUrl, objectId, moved.chunks.get(objectId) ?? new Set(), reopenedFirst.has(objectId));
    if (result.reopened) objectsReopened++;
    chunksResent += result.resent;
  }
  return { moved: moved.count, objectsReopened, chunksResent };
}

/**
 * Sends every message of a dead-letter queue back to its source queue (the ingest DLQ, or the
 * work DLQ); returns how many, and the chunk indexes moved by object id (work messages).
 */
export async function moveBack(sqs: SQSClient, from: string, to: string): Promise<{ count: number; chunks: Map<string, Set<number>> }> {
  const chunks = new Map<string, Set<number>>();
  let count = 0;
  for (;;) {
    const out = await sqs.send(new ReceiveMessageCommand({ QueueUrl: from, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, VisibilityTimeout: 60 }));
    const messages = out.Messages ?? [];
    if (messages.length === 0) break;
    const done = await moveMessages(sqs, messages, from, to);
    count += done.length;
    for (const m of done) {
      const chunk = chunkOfMessage(m.Body);
      if (chunk) chunks.set(chunk.objectId, (chunks.get(chunk.objectId) ?? new Set<number>()).add(chunk.index));
    }
  }
  return { count, chunks };
}

/** Reopens one object and sends again each FAILED chunk the DLQ did not give back. */
async function releaseObject(deps: RedriveDeps, objects: ObjectLedger, queueUrl: string, objectId: string, moved: Set<number>, reopenedFirst: boolean): Promise<{ reopened: boolean; resent: number }> {
  const object = await objects.get(objectId);
  if (!object || object.status === 'COMPLETE') return { reopened: reopenedFirst, resent: 0 };
  const chunks = new ChunkLedger(deps.doc, deps.ledgerTable);
  // Reopened first: a chunk that succeeds at once then finds its object ENQUEUED and completes it.
  const reopened = reopenedFirst || (await objects.release(objectId));
  let resent = 0;
  for (const chunk of (await objects.chunks(objectId)).filter((c) => c.status === 'FAILED')) {
    if (!(await chunks.resetFailures(objectId, chunk.index))) continue; // leased again meanwhile
    if (moved.has(chunk.index) || !chunk.message) continue;
    await deps.sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: chunk.message }));
    resent++;
  }
  return { reopened, resent };
}

function chunkOfMessage(body: string | undefined): { objectId: string; index: number } | undefined {
  try {
    const { objectId, index } = JSON.parse(body ?? '') as { objectId?: unknown; index?: unknown };
    return typeof objectId === 'string' && typeof index === 'number' ? { objectId, index } : undefined;
  } catch {
    return undefined;
  }
}
