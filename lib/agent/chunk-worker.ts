import { ChangeMessageVisibilityCommand, DeleteMessageCommand, SendMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { DeleteObjectsCommand, type S3Client } from '@aws-sdk/client-s3';
import type { ChunkMessage } from '../chunking/chunk';
import type { PipelineConfig } from '../config/pipeline-config';
import { LeaseLostError, type ChunkLease, type ChunkLedger, type LeaseOutcome } from '../ledger/chunk-ledger';
import type { ReplicaItem } from '../ledger/items';
import { keys } from '../ledger/items';
import { finalizeObjectIfComplete } from '../ledger/manifest';
import type { ObjectLedger } from '../ledger/object-ledger';
import { placeShard, type PlacementNode } from '../cluster/placement';
import { parseChunkMessage } from './chunk-message';
import { classifyChunkError, InjectedFaultError, type ChunkErrorKind, type ChunkPhase } from './error-kind';
import { ChunkAbandonedError, processChunkFromS3, type ChunkOutcome } from './chunk-processor';
import { withThrottleRetries } from './throttle-backoff';

/** Everything one worker needs to take a chunk from the queue to a committed ledger entry. */
export interface ChunkWorkerDeps {
  s3: S3Client;
  sqs: SQSClient;
  chunks: ChunkLedger;
  objects: ObjectLedger;
  workQueueUrl: string;
  processedBucket: string;
  nodeId: string;
  config: PipelineConfig;
  /** Healthy nodes to place replicas on (cached by the caller). */
  placementNodes: () => Promise<PlacementNode[]>;
  log: (level: 'debug' | 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
  /** The work queue's maxReceiveCount: the last failing receive marks the chunk FAILED. */
  maxReceiveCount?: number;
  /** Fault injection (chaos runs, tests): chunks of objects whose key matches fail. */
  failKeys?: RegExp;
  /** Fault injection: extra milliseconds of work per chunk (a slow transform). */
  slowMs?: number;
  /** Told about every throttling response a chunk met (the agent lowers its concurrency). */
  onThrottle?: (err: unknown) => void;
  /** True during an emergency stop: work in progress is given up at once (its lease was handed back). */
  stopNow?: () => boolean;
}

/** How soon a message whose chunk another node holds is looked at again. */
const BUSY_RECHECK_SECONDS = 5;

export type WorkResult = 'processed' | 'duplicate' | 'busy' | 'requeued' | 'lease-lost' | 'failed';

/** Per-chunk timings and counts, for metrics and the demo's latency figures. */
export interface ChunkReport {
  result: WorkResult;
  chunkId?: string;
  /** Correlation keys of the chunk (absent when the message could not be parsed). */
  objectId?: string;
  attempt?: number;
  runId?: string;
  /** Bytes of the chunk's range (`end - start`). */
  bytes?: number;
  /** Download, process and upload milliseconds are in `outcome.timings`. */
  outcome?: ChunkOutcome;
  queueWaitMs?: number;
  totalMs?: number;
  /** Milliseconds per stage: lease, work (download, records, upload), commit, finalize. */
  stages?: Record<string, number>;
  error?: string;
  /** Why the attempt failed (`failed` and `lease-lost` results). */
  errorKind?: ChunkErrorKind;
}

/** The keys every log line about one chunk carries (the node id is a persistent logger key). */
export function chunkLogKeys(msg: Pick<ChunkMessage, 'objectId' | 'chunkId' | 'runId'>, attempt?: number): Record<string, unknown> {
  return { objectId: msg.objectId, chunkId: msg.chunkId, ...(attempt !== undefined ? { attempt } : {}), ...(msg.runId ? { runId: msg.runId } : {}) };
}

/**
 * Handles one work-queue message: lease the chunk in the ledger, keep the lease and message
 * alive while working, process it, commit conditionally on the lease, then delete the message.
 */
export async function handleChunkMessage(deps: ChunkWorkerDeps, message: Message): Promise<ChunkReport> {
  const now = deps.now ?? Date.now;
  const started = now();
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
  let leased: LeaseOutcome;
  try {
    leased = await deps.chunks.lease(msg, deps.nodeId, receipt, leaseMs, now());
  } catch (err) {
    // Nothing is held yet: the message returns after its receive visibility and is tried again.
    const error = (err as Error).message ?? String(err);
    const errorKind = classifyChunkError(err, 'lease');
    deps.log('error', 'chunk not leased; it is tried again after its receive visibility', { ...chunkLogKeys(msg), error, errorKind });
    return { result: 'failed', ...ids, error, errorKind };
  }
  if (leased.outcome === 'done') {
    await deleteMessage(deps, receipt).catch((err) =>
      deps.log('warn', 'duplicate chunk message not deleted (it comes back and is deleted then)', { ...chunkLogKeys(msg), error: (err as Error).message }),
    );
    return { result: 'duplicate', ...ids };
  }
  // SQS dead-letters a message on the receive after its maxReceiveCount-th, whatever the earlier
  // receives were. Those that were not failures of the chunk (busy rechecks, holders that died)
  // must not send a healthy chunk to the DLQ: on its last receive such a message is re-sent fresh.
  const { receives, lastReceive } = receivesOf(deps, message);
  if (leased.outcome === 'busy') {
    // Look again soon rather than at the lease's expiry: if the holder fails, its lease is
    // revoked, and the receipt handle it stored no longer names this receive of the message.
    const seconds = Math.min(Math.max(1, Math.ceil((leased.leaseExpiresAt - now()) / 1000) + 1), BUSY_RECHECK_SECONDS);
    if (lastReceive) {
      await requeueFresh(deps, message, seconds, chunkLogKeys(msg));
      return { result: 'requeued', ...ids };
    }
    await setVisibility(deps, receipt, seconds);
    return { result: 'busy', ...ids };
  }
  const lease = leased.lease;
  const logKeys = chunkLogKeys(msg, lease.attempt);
  const reported = { ...ids, attempt: lease.attempt };
  if (lastReceive && lease.failures < receives - 1) {
    await requeueFresh(deps, message, 0, { ...logKeys, receives, failures: lease.failures });
    await deps.chunks.release(lease).catch(() => undefined);
    return { result: 'requeued', ...reported };
  }
  let phase: ChunkPhase = 'work';
  const stages: Record<string, number> = { leaseMs: now() - started };
  const keepAlive = startKeepAlive(deps, lease, receipt, leaseMs, logKeys);
  let outcome: ChunkOutcome | undefined;
  await setVisibility(deps, receipt, Math.ceil(leaseMs / 1000)).catch(() => undefined);
  try {
    let t = now();
    if (deps.failKeys?.test(msg.key)) throw new InjectedFaultError(`injected fault: key matches ${deps.failKeys}`);
    if (deps.slowMs) await new Promise((r) => setTimeout(r, deps.slowMs));
    const backOff = { onThrottle: (err: unknown, retry: number) => throttled(deps, logKeys, err, retry) };
    outcome = await withThrottleRetries(() => processChunkFromS3({ ...deps, abandoned: deps.stopNow }, msg, lease.attempt), backOff);
    // The injected slowness stands for a slow transform: it is processing time.
    if (deps.slowMs) outcome = { ...outcome, timings: { ...outcome.timings, processMs: outcome.timings.processMs + deps.slowMs } };
    keepAlive.assertHeld();
    stages.workMs = now() - t;
    t = now();
    phase = 'commit';
    const replicas = replicaItems(msg, outcome as ChunkOutcome, await deps.placementNodes(), deps.config.replicationFactor);
    const committed = outcome;
    await withThrottleRetries(
      () =>
        deps.chunks.commit(lease, {
          counts: committed.counts, shard: committed.shard, rejects: committed.rejects, replicas, replicationFactor: deps.config.replicationFactor, durationMs: now() - started,
        }),
      backOff,
    );
    stages.commitMs = now() - t;
    t = now();
    // Committed: the chunk is done whatever happens next. A message that cannot be deleted (its
    // receipt went stale) comes back as a duplicate and is deleted then; an object this node
    // fails to finalize is finalized by the leader's sweep.
    await afterCommit(deps, receipt, msg, logKeys);
    stages.finalizeMs = now() - t;
    return { result: 'processed', ...reported, outcome, queueWaitMs: started - sentAt, totalMs: now() - started, stages };
  } catch (err) {
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
    if (lastReceive) {
      // The next receive dead-letters the message: say so in the ledger instead of hanging.
      deps.log('error', 'chunk failed for the last time; it goes to the DLQ', { ...logKeys, receives, error, errorKind });
      await deps.chunks.markFailed(lease, error).catch(() => undefined);
      await setVisibility(deps, receipt, 0).catch(() => undefined);
      return { result: 'failed', ...reported, error, errorKind, stages };
    }
    deps.log('error', 'chunk failed; will retry', { ...logKeys, receives, error, errorKind });
    await deps.chunks.recordError(lease, error).catch(() => undefined);
    await deps.chunks.release(lease).catch(() => undefined);
    // Back off before the retry; after maxReceiveCount receives the message dead-letters.
    await setVisibility(deps, receipt, Math.min(2 ** lease.attempt, 60)).catch(() => undefined);
    return { result: 'failed', ...reported, error, errorKind, stages };
  } finally {
    keepAlive.stop();
  }
}

/**
 * Gives back a message that was received but not worked on (the pipeline was paused meanwhile):
 * visible again at once, or re-sent fresh if this was its last receive before the DLQ.
 */
export async function returnUnworked(deps: ChunkWorkerDeps, message: Message): Promise<void> {
  const { receives, lastReceive } = receivesOf(deps, message);
  if (lastReceive) {
    await requeueFresh(deps, message, 0, { messageId: message.MessageId, receives });
    return;
  }
  await setVisibility(deps, message.ReceiptHandle as string, 0);
}

/** How often this message was received, and whether this is its last receive before the DLQ. */
function receivesOf(deps: Pick<ChunkWorkerDeps, 'maxReceiveCount'>, message: Message): { receives: number; lastReceive: boolean } {
  const receives = Number(message.Attributes?.ApproximateReceiveCount ?? 0);
  return { receives, lastReceive: deps.maxReceiveCount !== undefined && receives >= deps.maxReceiveCount };
}

/**
 * Puts a fresh copy of the message on the queue (its receive count starts again) and deletes this
 * one. The copy goes first: a crash in between leaves a duplicate, which the ledger's lease
 * absorbs, never a lost chunk.
 */
async function requeueFresh(deps: ChunkWorkerDeps, message: Message, delaySeconds: number, logKeys: Record<string, unknown>): Promise<void> {
  await deps.sqs.send(new SendMessageCommand({ QueueUrl: deps.workQueueUrl, MessageBody: message.Body, DelaySeconds: delaySeconds }));
  deps.log('info', 'chunk message re-sent fresh: its receives were not failures of the chunk', logKeys);
  await deleteMessage(deps, message.ReceiptHandle as string).catch((err) =>
    deps.log('warn', 'old chunk message not deleted (it dead-letters or comes back as a duplicate)', { ...logKeys, error: (err as Error).message }),
  );
}

async function afterCommit(deps: ChunkWorkerDeps, receipt: string, msg: ChunkMessage, logKeys: Record<string, unknown>): Promise<void> {
  await deleteMessage(deps, receipt).catch((err) =>
    deps.log('warn', 'committed chunk: message not deleted (a later receive deletes it as a duplicate)', { ...logKeys, error: (err as Error).message }),
  );
  await finalizeObjectIfComplete(deps, msg.objectId).catch((err) =>
    deps.log('warn', 'committed chunk: object not finalized here (the leader sweep finalizes it)', { ...logKeys, error: (err as Error).message }),
  );
}

function throttled(deps: ChunkWorkerDeps, logKeys: Record<string, unknown>, err: unknown, retry: number): void {
  deps.log('warn', 'throttled; backing off with jitter and keeping the lease', { ...logKeys, retry, error: (err as Error).name ?? String(err) });
  deps.onThrottle?.(err);
}

function replicaItems(msg: ChunkMessage, outcome: ChunkOutcome, nodes: PlacementNode[], replicas: number): ReplicaItem[] {
  const assignedAt = new Date().toISOString();
  return placeShard(msg.chunkId, nodes, replicas).map((nodeId) => ({
    ...keys.replica(nodeId, msg.chunkId),
    nodeId,
    chunkId: msg.chunkId,
    objectId: msg.objectId,
    shardKey: outcome.shard.key,
    sha256: outcome.shard.sha256,
    bytes: outcome.shard.bytes,
    status: 'ASSIGNED',
    assignedAt,
  }));
}

/** Extends the ledger lease and the message visibility every third of the lease. */
function startKeepAlive(deps: ChunkWorkerDeps, lease: ChunkLease, receipt: string, leaseMs: number, logKeys: Record<string, unknown>) {
  let lost: Error | undefined;
  const timer = setInterval(() => {
    Promise.all([deps.chunks.extend(lease, leaseMs), setVisibility(deps, receipt, Math.ceil(leaseMs / 1000))]).catch((err) => {
      if (err instanceof LeaseLostError) lost = err;
      else deps.log('warn', 'lease keep-alive failed', { ...logKeys, error: (err as Error).message });
    });
  }, Math.max(1000, Math.floor(leaseMs / 3)));
  timer.unref();
  return {
    stop: () => clearInterval(timer),
    assertHeld: () => {
      if (lost) throw lost;
    },
  };
}

/** Removes the files of an attempt that will never be committed. */
async function deleteOutputs(deps: ChunkWorkerDeps, outcome: ChunkOutcome): Promise<void> {
  const keys = [outcome.shard.key, outcome.rejects?.key].filter((k): k is string => Boolean(k));
  await deps.s3.send(new DeleteObjectsCommand({ Bucket: deps.processedBucket, Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true } }));
}

async function deleteMessage(deps: ChunkWorkerDeps, receipt: string): Promise<void> {
  await deps.sqs.send(new DeleteMessageCommand({ QueueUrl: deps.workQueueUrl, ReceiptHandle: receipt }));
}

async function setVisibility(deps: ChunkWorkerDeps, receipt: string, seconds: number): Promise<void> {
  await deps.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: deps.workQueueUrl, ReceiptHandle: receipt, VisibilityTimeout: seconds }));
}
