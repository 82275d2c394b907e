import { queryAll, scanAll } from '../aws/dynamo-pages';
import { GetCommand, PutCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ChunkPlan } from '../chunking/plan';
import { keys, UNFINISHED, UNFINISHED_OBJECTS_INDEX, ZERO_COUNTS, type ChunkItem, type ObjectItem } from './items';
import { conditionally } from '../aws/conditional-write';

/** What `beginPlan` found: plan and enqueue now, or leave it to whoever already did. */
export type PlanDecision = 'plan' | 'already-planned' | 'in-progress';

/** How long one chunker may hold a half-done plan before another takes it over. */
export const PLAN_TAKEOVER_MS = 5 * 60 * 1000;

/** The object half of the ledger: plans, per-object totals, completion. */
export class ObjectLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
  ) {}

  /**
   * Records the plan of an object version exactly once. The first caller gets `plan`; a later
   * duplicate event gets `already-planned`; a concurrent one gets `in-progress` (retry later),
   * unless the first planner stalled for longer than {@link PLAN_TAKEOVER_MS}.
   */
  async beginPlan(plan: ChunkPlan, chunkSizeBytes: number, now = Date.now()): Promise<PlanDecision> {
    const { object } = plan;
    const item: ObjectItem = {
      ...keys.object(plan.objectId),
      sk: 'OBJECT',
      objectId: plan.objectId,
      bucket: object.bucket,
      key: object.key,
      ...(object.versionId ? { versionId: object.versionId } : {}),
      etag: object.etag,
      size: object.size,
      format: plan.format,
      compression: plan.compression,
      chunkCount: plan.chunks.length,
      chunkSizeBytes,
      chunksDone: 0,
      ...ZERO_COUNTS,
      status: 'PLANNING',
      unfinished: UNFINISHED,
      planStartedAt: now,
      createdAt: new Date(now).toISOString(),
      ...(object.runId ? { runId: object.runId } : {}),
    };
    if (await conditionally(this.doc.send(new PutCommand({ TableName: this.table, Item: item, ConditionExpression: 'attribute_not_exists(pk)' })))) return 'plan';
    if (
      await conditionally(
        this.doc.send(
          new UpdateCommand({
            TableName: this.table,
            Key: keys.object(plan.objectId),
            UpdateExpression: 'SET planStartedAt = :now',
            ConditionExpression: '#s = :planning AND planStartedAt < :stale',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':now': now, ':planning': 'PLANNING', ':stale': now - PLAN_TAKEOVER_MS },
          }),
        ),
      )
    )
      return 'plan';
    const existing = await this.get(plan.objectId);
    return existing?.status === 'PLANNING' ? 'in-progress' : 'already-planned';
  }

  /** Marks every chunk message of the object as sent. */
  async markEnqueued(objectId: string): Promise<void> {
    await this.doc.send(
      new UpdateCommand({
        TableName: this.table,
        Key: keys.object(objectId),
        UpdateExpression: 'SET #s = :enqueued',
        ConditionExpression: '#s = :planning',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':enqueued': 'ENQUEUED', ':planning': 'PLANNING' },
      }),
    );
  }

  /** Marks the object complete with its manifest (clearing any quarantine); true only for the caller that did it. */
  async markComplete(objectId: string, manifestKey: string, now = new Date()): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.object(objectId),
          UpdateExpression: 'SET #s = :complete, manifestKey = :m, completedAt = :t, failedChunks = :zero REMOVE unfinished, lastError, quarantineReason, quarantinedAt',
          ConditionExpression: '#s <> :complete AND chunksDone = chunkCount',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':complete': 'COMPLETE', ':m': manifestKey, ':t': now.toISOString(), ':zero': 0 },
        }),
      ),
    );
  }

  /** Reads one object item (strongly consistent). */
  async get(objectId: string): Promise<ObjectItem | undefined> {
    const out = await this.doc.send(new GetCommand({ TableName: this.table, Key: keys.object(objectId), ConsistentRead: true }));
    return out.Item as ObjectItem | undefined;
  }

  /** Every chunk item of an object, in index order. */
  async chunks(objectId: string): Promise<ChunkItem[]> {
    const items = await queryAll<ChunkItem>(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk AND begins_with(sk, :chunk)',
      ExpressionAttributeValues: { ':pk': keys.object(objectId).pk, ':chunk': keys.chunkPrefix },
      ConsistentRead: true,
    });
    return items;
  }

  /**
   * Objects whose chunks are all done but which are not COMPLETE yet (from the sparse index),
   * for at least `settledMs` since their last commit (so that their last committer had its chance).
   */
  async awaitingFinalize(settledMs: number, now = Date.now()): Promise<string[]> {
    const items = await queryAll<Pick<ObjectItem, 'objectId' | 'status' | 'chunkCount' | 'chunksDone' | 'lastCommitAt'>>(this.doc, {
      TableName: this.table,
      IndexName: UNFINISHED_OBJECTS_INDEX,
      KeyConditionExpression: 'unfinished = :open',
      ExpressionAttributeValues: { ':open': UNFINISHED },
    });
    return items.filter((o) => o.status === 'ENQUEUED' && o.chunkCount > 0 && o.chunksDone >= o.chunkCount && now - (o.lastCommitAt ?? 0) >= settledMs).map((o) => o.objectId);
  }

  /** Objects QUARANTINED now (from the sparse unfinished index: no scan). */
  async quarantinedIds(): Promise<string[]> {
    const items = await queryAll<Pick<ObjectItem, 'objectId' | 'status'>>(this.doc, {
      TableName: this.table,
      IndexName: UNFINISHED_OBJECTS_INDEX,
      KeyConditionExpression: 'unfinished = :open',
      FilterExpression: '#s = :q',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':open': UNFINISHED, ':q': 'QUARANTINED' },
    });
    return items.map((o) => o.objectId);
  }

  /**
   * Releases a QUARANTINED object (or one FAILED by a dead-lettered chunk before quarantine
   * existed) after a fix: back to ENQUEUED with its failure counters cleared, so it completes
   * once its failed chunks succeed. False if it was in neither state.
   */
  async release(objectId: string): Promise<boolean> {
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.object(objectId),
          UpdateExpression: 'SET #s = :enqueued, failedChunks = :zero REMOVE lastError, quarantineReason, quarantinedAt',
          ConditionExpression: '#s = :q OR (#s = :failed AND failedChunks > :zero)',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':enqueued': 'ENQUEUED', ':q': 'QUARANTINED', ':failed': 'FAILED', ':zero': 0 },
        }),
      ),
    );
  }

  /** Every object item in the ledger (a scan: for status views, not hot paths). */
  async list(): Promise<ObjectItem[]> {
    const items = await scanAll<ObjectItem>(this.doc, {
      TableName: this.table,
      FilterExpression: 'sk = :object',
      ExpressionAttributeValues: { ':object': 'OBJECT' },
    });
    return items.sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  }
}
