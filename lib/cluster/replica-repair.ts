import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../aws/dynamo-pages';
import { keys, SHORT, SHORT_OF_REPLICAS_INDEX, type ChunkItem, type ReplicaItem } from '../ledger/items';
import { placeShard, type PlacementNode } from './placement';
import { conditionally } from '../aws/conditional-write';

/**
 * Re-places the shard replicas a node held when it leaves or dies: each shard is placed again
 * over the remaining healthy nodes (rendezvous hashing keeps the surviving holders and adds the
 * next best), the new holders get an ASSIGNED replica to pull, and the lost one is removed.
 * Returns how many replicas were re-assigned.
 */
export async function repairReplicasOf(deps: { doc: DynamoDBDocumentClient; ledgerTable: string; replicationFactor: number }, lostNodeId: string, healthy: PlacementNode[]): Promise<number> {
  const candidates = healthy.filter((n) => n.nodeId !== lostNodeId);
  let moved = 0;
  const lostReplicas = await replicasOf(deps, lostNodeId);
  // A few shards at a time: recovery time matters (MTTR), and each shard is independent.
  for (let i = 0; i < lostReplicas.length; i += 8) {
    const counts = await Promise.all(lostReplicas.slice(i, i + 8).map((lost) => repairOne(deps, lost, candidates)));
    moved += counts.reduce((a, b) => a + b, 0);
  }
  return moved;
}

async function repairOne(deps: { doc: DynamoDBDocumentClient; ledgerTable: string; replicationFactor: number }, lost: ReplicaItem, candidates: PlacementNode[]): Promise<number> {
  let moved = 0;
  const placement = placeShard(lost.chunkId, candidates, deps.replicationFactor);
  for (const nodeId of placement) {
    const replica: ReplicaItem = { ...lost, ...keys.replica(nodeId, lost.chunkId), nodeId, status: 'ASSIGNED', assignedAt: new Date().toISOString() };
    delete replica.presentAt;
    delete replica.localPath;
    // A node that already holds (or was given) the shard keeps its item as it is.
    if (await conditionally(deps.doc.send(new PutCommand({ TableName: deps.ledgerTable, Item: replica, ConditionExpression: 'attribute_not_exists(pk)' })))) moved++;
  }
  await deps.doc
    .send(
      new UpdateCommand({
        TableName: deps.ledgerTable,
        Key: keys.chunk(lost.objectId, Number(lost.chunkId.split('-').pop())),
        ...replicaListUpdate(placement, deps.replicationFactor),
        ConditionExpression: 'attribute_exists(pk)',
      }),
    )
    .catch(() => undefined); // the chunk's replica list is informational; the replica items are the truth
  await deps.doc.send(new DeleteCommand({ TableName: deps.ledgerTable, Key: { pk: lost.pk, sk: lost.sk } }));
  return moved;
}

/** Records a shard's placement, flagging it for top-up while it has fewer than R holders. */
export function replicaListUpdate(placement: string[], replicationFactor: number) {
  const short = placement.length < replicationFactor;
  return {
    UpdateExpression: short ? 'SET replicas = :r, shortOfReplicas = :short' : 'SET replicas = :r REMOVE shortOfReplicas',
    ExpressionAttributeValues: { ':r': placement, ...(short ? { ':short': SHORT } : {}) },
  };
}

/**
 * Tops up shards that were placed on fewer than R nodes (too few healthy nodes when they were
 * committed or repaired): each is placed again over today's healthy nodes. Returns how many
 * replicas were added.
 */
export async function topUpShortShards(deps: { doc: DynamoDBDocumentClient; ledgerTable: string; replicationFactor: number }, healthy: PlacementNode[]): Promise<number> {
  if (healthy.length === 0) return 0;
  const out = await deps.doc.send(
    new QueryCommand({
      TableName: deps.ledgerTable,
      IndexName: SHORT_OF_REPLICAS_INDEX,
      KeyConditionExpression: 'shortOfReplicas = :short',
      ExpressionAttributeValues: { ':short': SHORT },
      Limit: 100,
    }),
  );
  let added = 0;
  for (const chunk of (out.Items ?? []) as ChunkItem[]) {
    if (chunk.status !== 'PROCESSED' || !chunk.shard) continue;
    const placement = placeShard(chunk.chunkId, healthy, deps.replicationFactor);
    if (placement.length <= (chunk.replicas?.length ?? 0)) continue;
    for (const nodeId of placement) {
      const replica: ReplicaItem = {
        ...keys.replica(nodeId, chunk.chunkId),
        nodeId,
        chunkId: chunk.chunkId,
        objectId: chunk.objectId,
        shardKey: chunk.shard.key,
        sha256: chunk.shard.sha256,
        bytes: chunk.shard.bytes,
        records: chunk.recordsOut,
        status: 'ASSIGNED',
        assignedAt: new Date().toISOString(),
      };
      if (await conditionally(deps.doc.send(new PutCommand({ TableName: deps.ledgerTable, Item: replica, ConditionExpression: 'attribute_not_exists(pk)' })))) added++;
    }
    await deps.doc.send(new UpdateCommand({ TableName: deps.ledgerTable, Key: { pk: chunk.pk, sk: chunk.sk }, ...replicaListUpdate(placement, deps.replicationFactor) }));
  }
  return added;
}

/** Every replica assigned to one node. */
export async function replicasOf(deps: { doc: DynamoDBDocumentClient; ledgerTable: string }, nodeId: string): Promise<ReplicaItem[]> {
  const items = await queryAll<ReplicaItem>(deps.doc, {
    TableName: deps.ledgerTable,
    KeyConditionExpression: 'pk = :pk',
    ExpressionAttributeValues: { ':pk': keys.replica(nodeId, '').pk },
  });
  return items;
}
