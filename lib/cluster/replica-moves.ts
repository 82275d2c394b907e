import {
  BatchGetCommand,
  DeleteCommand,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
  type BatchGetCommandInput,
  type BatchGetCommandOutput,
  type DynamoDBDocumentClient,
} from '@aws-sdk/lib-dynamodb';
import { conditionally, isConditionFailure } from '../aws/conditional-write';
import { queryAll } from '../aws/dynamo-pages';
import { keys, type ReplicaItem, type ReplicaStatus } from '../ledger/items';
import { replicaKeyOf, type ReplicaKey } from './rebalance';
import { replicaListUpdate } from './replica-repair';

/** Writes per transaction: DynamoDB takes up to 100, moto and older limits 25. */
const TRANSACTION_ITEMS = 25;
/** Keys per BatchGetItem. */
const BATCH_GET_KEYS = 100;

/**
 * The ledger writes and reads that move replicas between nodes, batched because the local
 * emulator serializes DynamoDB requests: new assignments and drops go 25 to a transaction (one
 * request in the common case), replica statuses 100 to a BatchGetItem. Every write is conditional.
 */
export class ReplicaMoves {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly table: string,
    /** Told the nodes given new replicas by `assign` (to nudge them: an idle node reads its replicas rarely). */
    private readonly opts: { onAssigned?: (nodeIds: string[]) => Promise<void> } = {},
  ) {}

  /** Every replica assigned to one node (one strongly consistent query per page). */
  replicasOf(nodeId: string): Promise<ReplicaItem[]> {
    return queryAll<ReplicaItem>(this.doc, {
      TableName: this.table,
      KeyConditionExpression: 'pk = :pk',
      ExpressionAttributeValues: { ':pk': keys.replica(nodeId, '').pk },
      ConsistentRead: true,
    });
  }

  /** The status of each replica that exists among `replicas`, by `replicaKeyOf`. */
  async statusOf(replicas: ReplicaKey[]): Promise<Map<string, ReplicaStatus>> {
    const found = new Map<string, ReplicaStatus>();
    for (let i = 0; i < replicas.length; i += BATCH_GET_KEYS) {
      const batch = replicas.slice(i, i + BATCH_GET_KEYS).map((r) => keys.replica(r.nodeId, r.chunkId));
      let request: BatchGetCommandInput['RequestItems'] | undefined = {
        [this.table]: { Keys: batch, ConsistentRead: true, ProjectionExpression: 'nodeId, chunkId, #s', ExpressionAttributeNames: { '#s': 'status' } },
      };
      while (request && Object.keys(request).length) {
        const out: BatchGetCommandOutput = await this.doc.send(new BatchGetCommand({ RequestItems: request }));
        for (const item of (out.Responses?.[this.table] ?? []) as ReplicaItem[]) found.set(replicaKeyOf(item), item.status);
        request = out.UnprocessedKeys;
      }
    }
    return found;
  }

  /**
   * Creates the given ASSIGNED replicas where none exists yet (a node that holds the shard, or was
   * given it, keeps its item as it is). Returns how many were created.
   */
  async assign(replicas: ReplicaItem[]): Promise<number> {
    const created = await this.eachBatch(replicas, {
      transact: (r) => ({ Put: { TableName: this.table, Item: r, ConditionExpression: 'attribute_not_exists(pk)' } }),
      one: (r) => this.doc.send(new PutCommand({ TableName: this.table, Item: r, ConditionExpression: 'attribute_not_exists(pk)' })),
    });
    if (created > 0 && this.opts.onAssigned) await this.opts.onAssigned([...new Set(replicas.map((r) => r.nodeId))]).catch(() => undefined);
    return created;
  }

  /** Deletes the given replicas (those already gone are skipped). Returns how many it deleted. */
  async drop(replicas: ReplicaKey[]): Promise<number> {
    return this.eachBatch(replicas, {
      transact: (r) => ({ Delete: { TableName: this.table, Key: keys.replica(r.nodeId, r.chunkId), ConditionExpression: 'attribute_exists(pk)' } }),
      one: (r) => this.doc.send(new DeleteCommand({ TableName: this.table, Key: keys.replica(r.nodeId, r.chunkId), ConditionExpression: 'attribute_exists(pk)' })),
    });
  }

  /**
   * Records a shard's new placement on its chunk item (informational: the replica items are the
   * truth), flagging it for the leader's top-up while it has fewer than R holders.
   */
  async recordPlacement(shard: { objectId: string; chunkId: string }, placement: string[], replicationFactor: number): Promise<void> {
    await conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.table,
          Key: keys.chunk(shard.objectId, Number(shard.chunkId.split('-').pop())),
          ...replicaListUpdate(placement, replicationFactor),
          ConditionExpression: 'attribute_exists(pk)',
        }),
      ),
    );
  }

  /**
   * Writes `items` 25 to a transaction; a transaction cancelled because one condition failed (an
   * item that exists already, or is gone already) is written again one item at a time, so the
   * others still land. Returns how many writes were applied.
   */
  private async eachBatch<T>(items: T[], write: { transact: (item: T) => Record<string, unknown>; one: (item: T) => Promise<unknown> }): Promise<number> {
    let applied = 0;
    for (let i = 0; i < items.length; i += TRANSACTION_ITEMS) {
      const batch = items.slice(i, i + TRANSACTION_ITEMS);
      if (batch.length > 1) {
        try {
          await this.doc.send(new TransactWriteCommand({ TransactItems: batch.map(write.transact) }));
          applied += batch.length;
          continue;
        } catch (err) {
          if (!isConditionFailure(err)) throw err;
        }
      }
      const results = await Promise.all(batch.map((item) => conditionally(write.one(item))));
      applied += results.filter(Boolean).length;
    }
    return applied;
  }
}
