/**
 * One work-queue message, from receive to a committed chunk: the SQS receive rules
 * (`work-message`) decide what happens to the message, the chunk lifecycle (`chunk-lifecycle`)
 * what happens to the chunk.
 */
import type { Message } from '@aws-sdk/client-sqs';
import type { ChunkMessage } from '../chunking/chunk';
import { parseChunkMessage } from './chunk-message';
import { leaseChunk, workLeasedChunk } from './chunk-lifecycle';
import { chunkLogKeys, type ChunkReport, type ChunkWorkerDeps } from './chunk-work';
import { realClock } from './clock';
import { deleteMessage, lookAgainLater, receivesOf, requeueFresh } from './work-message';

export { chunkLogKeys, type ChunkReport, type ChunkWorkerDeps, type WorkResult } from './chunk-work';
export { returnUnworked } from './work-message';

/**
 * Handles one work-queue message: lease the chunk in the ledger, keep the lease and message
 * alive while working, process it, commit conditionally on the lease, then delete the message.
 */
export async function handleChunkMessage(deps: ChunkWorkerDeps, message: Message): Promise<ChunkReport> {
  const clock = deps.clock ?? realClock;
  const started = clock.now();
  const sentAt = Number(message.Attributes?.SentTimestamp ?? started);
  const receipt = message.ReceiptHandle as string;
  let msg: ChunkMessage;
  try {
    msg = parseChunkMessage(message.Body);
  } catch (err) {
    // Left on the queue: after maxReceiveCount it dead-letters, where an operator can see it.
    deps.log('error', 'malformed work message', { error: (err as Error).message, messageId: message.MessageId, errorKind: 'malformed' });
    return { result: 'failed', error: (err as Error).message, errorKind: 'malformed' };
  }
  const leaseMs = deps.config.visibilityTimeoutSeconds * 1000;
  const ids = { chunkId: msg.chunkId, objectId: msg.objectId, ...(msg.runId ? { runId: msg.runId } : {}), bytes: msg.end - msg.start };
  const leased = await leaseChunk(deps, msg, receipt, leaseMs, ids);
  switch (leased.outcome) {
    case 'not-leased':
      return leased.report;
    case 'done':
      await deleteMessage(deps, receipt).catch((err) =>
        deps.log('warn', 'duplicate chunk message not deleted (it comes back and is deleted then)', { ...chunkLogKeys(msg), error: (err as Error).message }),
      );
      return { result: 'duplicate', ...ids };
    case 'busy':
      return { result: await lookAgainLater(deps, message, leased.leaseExpiresAt, clock.now(), chunkLogKeys(msg)), ...ids };
  }
  const { lease } = leased;
  const { receives, lastReceive } = receivesOf(deps, message);
  const reported = { ...ids, attempt: lease.attempt };
  if (lastReceive && lease.failures < receives - 1) {
    // Its receives were not failures of the chunk: a fresh message, so that it is not dead-lettered.
    await requeueFresh(deps, message, 0, { ...chunkLogKeys(msg, lease.attempt), receives, failures: lease.failures });
    await deps.chunks.release(lease).catch(() => undefined);
    return { result: 'requeued', ...reported };
  }
  return workLeasedChunk(deps, { msg, lease, receipt, leaseMs, started, sentAt, reported, receives, lastReceive });
}
