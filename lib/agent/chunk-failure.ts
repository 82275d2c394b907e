import { DeleteObjectsCommand } from '@aws-sdk/client-s3';
import { LeaseLostError } from '../ledger/chunk-ledger';
import { ChunkAbandonedError, type ChunkOutcome } from './chunk-processor';
import type { ChunkReport, ChunkWorkerDeps, LeasedChunk } from './chunk-work';
import { realClock } from './clock';
import { classifyChunkError, type ChunkPhase } from './error-kind';
import { deleteMessage, setVisibility } from './work-message';

/** What went wrong in an attempt, and how far it got. */
export interface ChunkFailure {
  err: unknown;
  phase: ChunkPhase;
  /** Set when the chunk was processed (its outputs exist) before the attempt failed. */
  outcome?: ChunkOutcome;
  stages: Record<string, number>;
  logKeys: Record<string, unknown>;
}

/**
 * Ends a failed attempt the way its failure asks: a lost lease discards the late result; an
 * emergency stop gives the chunk back at once; an unusable object (`errorKind` `input`: a
 * decompression bomb, broken gzip or zstd, a bad CSV header) would fail alike on every attempt,
 * so its chunk is marked FAILED, the object quarantined and the message deleted at once (redrive
 * sends it again from the ledger); the last receive does the same before the DLQ takes the
 * message; anything else releases the chunk and backs off before the retry.
 */
export async function giveBackFailedChunk(deps: ChunkWorkerDeps, job: LeasedChunk, failure: ChunkFailure): Promise<ChunkReport> {
  const { err, phase, outcome, stages, logKeys } = failure;
  const { lease, receipt, reported, receives } = job;
  const errorKind = classifyChunkError(err, phase);
  if (err instanceof LeaseLostError) {
    deps.log('warn', 'lease lost; late result discarded', { ...logKeys, errorKind });
    if (outcome) await deleteOutputs(deps, outcome).catch(() => undefined);
    // The message is not touched: whoever revoked the lease made it visible, and whoever holds
    // it now received it again, which makes this receipt stale (moto even lets a stale receipt
    // pull the message away from its current holder).
    return { result: 'lease-lost', ...reported, errorKind, stages };
  }
  if (err instanceof ChunkAbandonedError) {
    // Emergency stop: give the chunk back now (the agent also revokes every lease it holds).
    deps.log('warn', 'chunk abandoned: emergency stop', logKeys);
    await deps.chunks.release(lease).catch(() => undefined);
    await setVisibility(deps, receipt, 0).catch(() => undefined);
    return { result: 'lease-lost', ...reported, errorKind, stages };
  }
  const error = (err as Error).message ?? String(err);
  if (errorKind === 'input') {
    deps.log('error', 'object input unusable; its object is quarantined without retries', { ...logKeys, receives, error, errorKind });
    // Deleted only once the ledger holds the chunk FAILED with its message: else it is retried.
    if (await quarantineObject(deps, job, error, logKeys)) {
      await deleteMessage(deps, receipt).catch((e: unknown) =>
        deps.log('warn', 'quarantined chunk: message not deleted (it comes back and dead-letters)', { ...logKeys, error: (e as Error).message }),
      );
      return { result: 'failed', ...reported, error, errorKind, stages };
    }
    // Not marked FAILED (the ledger did not answer): handled below like any failure, tried again.
  }
  if (job.lastReceive) {
    // The next receive dead-letters the message: quarantine the object instead of hanging.
    deps.log('error', 'chunk failed for the last time; its object is quarantined', { ...logKeys, receives, error, errorKind });
    await quarantineObject(deps, job, error, logKeys);
    await setVisibility(deps, receipt, 0).catch(() => undefined);
    return { result: 'failed', ...reported, error, errorKind, stages };
  }
  deps.log('error', 'chunk failed; will retry', { ...logKeys, receives, error, errorKind });
  await deps.chunks.recordError(lease, error).catch(() => undefined);
  await deps.chunks.release(lease).catch(() => undefined);
  // Back off before the retry; after maxReceiveCount receives the message dead-letters.
  await setVisibility(deps, receipt, Math.min(2 ** lease.attempt, 60)).catch(() => undefined);
  return { result: 'failed', ...reported, error, errorKind, stages };
}

/**
 * Sets the object aside with the reason (status, dashboard, logs, and one notice per object
 * through `onObjectOutcome`); the other objects are not held up and nothing is paused. False
 * when the ledger could not mark the chunk FAILED.
 */
async function quarantineObject(deps: ChunkWorkerDeps, job: LeasedChunk, error: string, logKeys: Record<string, unknown>): Promise<boolean> {
  const { lease, msg } = job;
  const now = new Date((deps.clock ?? realClock).now());
  let quarantined: { newly: boolean; reason: string };
  try {
    quarantined = await deps.chunks.quarantine(lease, error, msg, now);
  } catch (err) {
    deps.log('warn', 'chunk not marked FAILED (it dead-letters all the same)', { ...logKeys, error: (err as Error).message });
    return false;
  }
  const at = now.toISOString();
  deps.log(quarantined.newly ? 'error' : 'warn', quarantined.newly ? 'object quarantined' : 'quarantined object: another chunk failed', {
    ...logKeys,
    bucket: msg.bucket,
    key: msg.key,
    chunk: msg.index,
    reason: quarantined.reason,
    next: `after a fix: shardline redrive --object ${msg.objectId}`,
  });
  if (!quarantined.newly) return true;
  await Promise.resolve(deps.onObjectOutcome?.({ outcome: 'quarantined', objectId: msg.objectId, bucket: msg.bucket, key: msg.key, chunk: msg.index, reason: quarantined.reason, at })).catch(
    (err: unknown) => deps.log('warn', 'object outcome hook failed', { ...logKeys, error: (err as Error).message }),
  );
  return true;
}

/** Removes the files of an attempt that will never be committed. */
async function deleteOutputs(deps: Pick<ChunkWorkerDeps, 's3' | 'processedBucket'>, outcome: ChunkOutcome): Promise<void> {
  const keys = [outcome.shard.key, outcome.rejects?.key].filter((k): k is string => Boolean(k));
  await deps.s3.send(new DeleteObjectsCommand({ Bucket: deps.processedBucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
}
