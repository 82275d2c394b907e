import { HeadObjectCommand, NotFound, type S3Client } from '@aws-sdk/client-s3';
import { SendMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { PipelineConfig } from '../config/pipeline-config';
import { finalizeObjectIfComplete } from '../ledger/manifest';
import type { ObjectLedger } from '../ledger/object-ledger';
import type { RunLedger } from '../ledger/run-ledger';
import type { ChunkMessage, ObjectRef } from '../chunking/chunk';
import { planChunks, splitOf, type ChunkPlan } from '../chunking/plan';
import { decodeS3EventBody, type CreatedObject } from '../chunking/s3-event';
import type { Log } from '../log';
import type { ObjectRefusals } from './refuse-object';

/** What the chunker needs; injected so the same code runs in Lambda and in local mode. */
export interface ChunkerDeps {
  s3: S3Client;
  sqs: SQSClient;
  objects: ObjectLedger;
  /** Marks objects of a format or compression shardline cannot read FAILED (absent: they are only logged). */
  refusals?: ObjectRefusals;
  workQueueUrl: string;
  processedBucket: string;
  config: Pick<PipelineConfig, 'chunkSizeBytes' | 'dataset'> & Partial<Pick<PipelineConfig, 'compressedSplitMinBytes' | 'compressedWindowBytes'>>;
  /** Where objects of a run over a prefix are recorded (absent: runs are not supported). */
  runs?: Pick<RunLedger, 'recordMember'>;
  /** Brings `config` up to the newest central version (called before each event). */
  refreshConfig?: () => Promise<void>;
  log?: Log;
}

/** Another chunker is planning the same object right now; retry the event later. */
export class PlanInProgressError extends Error {
  constructor(objectId: string) {
    super(`object ${objectId} is being planned by another chunker; retry later`);
    this.name = 'PlanInProgressError';
  }
}

/** `refused`: the object's format or compression cannot be read; it is FAILED with the reason (see `formatOfKey`). */
export type ObjectOutcome = { objectId?: string; key: string; outcome: 'planned' | 'already-planned' | 'gone' | 'refused'; chunks: number; /** The object's size (0 when gone). */ bytes: number };

/** Handles one ingest-events message body: every created object in it is planned once. */
export async function handleIngestEvent(deps: ChunkerDeps, body: string): Promise<ObjectOutcome[]> {
  const event = decodeS3EventBody(body);
  if (event.kind === 'test') {
    deps.log?.('info', 'ignored s3:TestEvent');
    return [];
  }
  await deps.refreshConfig?.();
  if (event.ignored.length > 0) deps.log?.('info', 'ignored non-create events', { events: event.ignored });
  const outcomes: ObjectOutcome[] = [];
  for (const created of event.objects) {
    try {
      outcomes.push(await chunkObject(deps, created));
    } catch (err) {
      deps.log?.('warn', 'object not planned; the event is retried', { bucket: created.bucket, key: created.key, runId: created.runId, error: (err as Error).message });
      throw err;
    }
  }
  return outcomes;
}

/** Plans one object version from HeadObject and enqueues its chunks, idempotently. */
export async function chunkObject(deps: ChunkerDeps, created: CreatedObject): Promise<ObjectOutcome> {
  const ref = await headObject(deps.s3, created);
  if (!ref) {
    deps.log?.('warn', 'object no longer exists; nothing to plan', { bucket: created.bucket, key: created.key, runId: created.runId });
    if (created.runId) await deps.runs?.recordMember(created.runId, { key: created.key, status: 'GONE' });
    return { key: created.key, outcome: 'gone', chunks: 0, bytes: 0 };
  }
  const plan = planChunks(ref, deps.config.chunkSizeBytes, deps.config.dataset, splitOf(deps.config));
  if (plan.refused) return refuseObject(deps, plan);
  const decision = await deps.objects.beginPlan(plan, deps.config.chunkSizeBytes);
  if (decision === 'in-progress') throw new PlanInProgressError(plan.objectId);
  if (ref.runId) await deps.runs?.recordMember(ref.runId, { key: ref.key, objectId: plan.objectId, status: 'PLANNED' });
  if (decision === 'already-planned') {
    deps.log?.('info', 'object already planned', { objectId: plan.objectId, key: ref.key, runId: ref.runId });
    return { objectId: plan.objectId, key: ref.key, outcome: 'already-planned', chunks: plan.chunks.length, bytes: ref.size };
  }
  await enqueueChunks(deps.sqs, deps.workQueueUrl, plan.chunks);
  await deps.objects.markEnqueued(plan.objectId);
  // An empty object completes here; otherwise this catches a last chunk that beat markEnqueued.
  await finalizeObjectIfComplete(deps, plan.objectId);
  deps.log?.('info', 'planned object', { objectId: plan.objectId, key: ref.key, runId: ref.runId, size: ref.size, chunks: plan.chunks.length });
  return { objectId: plan.objectId, key: ref.key, outcome: 'planned', chunks: plan.chunks.length, bytes: ref.size };
}

/**
 * Records an object whose format or compression cannot be read as FAILED with the reason, once
 * (a duplicate event finds it planned), so that status, the dashboard and a run's manifest show
 * it instead of bytes passed through as something they are not.
 */
async function refuseObject(deps: ChunkerDeps, plan: ChunkPlan): Promise<ObjectOutcome> {
  const { object: ref, objectId, refused } = plan;
  const outcome: ObjectOutcome = { objectId, key: ref.key, outcome: 'refused', chunks: 0, bytes: ref.size };
  deps.log?.('warn', 'object refused', { objectId, bucket: ref.bucket, key: ref.key, runId: ref.runId, reason: refused });
  if (!deps.refusals) return outcome;
  const decision = await deps.objects.beginPlan(plan, deps.config.chunkSizeBytes);
  if (decision === 'in-progress') throw new PlanInProgressError(objectId);
  if (ref.runId) await deps.runs?.recordMember(ref.runId, { key: ref.key, objectId, status: 'PLANNED' });
  if (decision === 'already-planned') return { ...outcome, outcome: 'already-planned' };
  await deps.refusals.refuse(objectId, refused as string);
  return outcome;
}

async function headObject(s3: S3Client, created: CreatedObject): Promise<ObjectRef | undefined> {
  try {
    const head = await s3.send(new HeadObjectCommand({ Bucket: created.bucket, Key: created.key, VersionId: created.versionId }));
    return {
      bucket: created.bucket,
      key: created.key,
      ...(created.runId ? { runId: created.runId } : {}),
      ...(head.VersionId && head.VersionId !== 'null' ? { versionId: head.VersionId } : {}),
      etag: (head.ETag ?? '').replace(/"/g, ''),
      size: head.ContentLength ?? 0,
    };
  } catch (err) {
    if (err instanceof NotFound || (err as { name?: string }).name === 'NotFound') return undefined;
    throw err;
  }
}

/** Sends chunk messages in batches of 10, retrying entries SQS reports as failed. */
export async function enqueueChunks(sqs: SQSClient, queueUrl: string, chunks: ChunkMessage[], maxTries = 5): Promise<void> {
  for (let i = 0; i < chunks.length; i += 10) {
    let batch = chunks.slice(i, i + 10);
    for (let attempt = 1; batch.length > 0; attempt++) {
      const out = await sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: batch.map((c) => ({ Id: String(c.index), MessageBody: JSON.stringify(c) })),
        }),
      );
      const failed = new Set((out.Failed ?? []).map((f) => f.Id));
      batch = batch.filter((c) => failed.has(String(c.index)));
      if (batch.length > 0 && attempt >= maxTries) {
        throw new Error(`could not enqueue ${batch.length} chunk messages: ${JSON.stringify(out.Failed)}`);
      }
    }
  }
}
