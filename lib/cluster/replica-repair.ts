import { DeleteCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { keys, type ReplicaItem } from '../ledger/items';
import { placeShard, type PlacementNode } from './placement';

/**
 * Re-places the shard replicas a node held when it leaves or dies: each shard is placed again
 * over the remaining healthy nodes (rendezvous hashing keeps the surviving holders and adds the
 * next best), the new holders get an ASSIGNED replica to pull, and the lost one is removed.
 * Returns how many replicas were re-assigned.
 */
export async function repairReplicasOf(
  deps: { doc: DynamoDBDocumentClient; ledgerTable: string; replicationFactor: number },
  lostNodeId: string,
  healthy: PlacementNode[],
): Promise<number> {
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

async function repairOne(
  deps: { doc: DynamoDBDocumentClient; ledgerTable: string; replicationFactor: number },
  lost: ReplicaItem,
  candidates: PlacementNode[],
): Promise<number> {
  let moved = 0;
  const placement = placeShard(lost.chunkId, candidates, deps.replicationFactor);
  for (const nodeId of placement) {
    const replica: ReplicaItem = { ...lost, ...keys.replica(nodeId, lost.chunkId), nodeId, status: 'ASSIGNED', assignedAt: new Date().toISOString() };
    delete replica.presentAt;
    delete replica.localPath;
    try {
      // A node that already holds (or was given) the shard keeps its item as it is.
      await deps.doc.send(new PutCommand({ TableName: deps.ledgerTable, Item: replica, ConditionExpression: 'attribute_not_exists(pk)' }));
      moved++;
    } catch (err) {
      if (!(err instanceof ConditionalCheckFailedException)) throw err;
    }
  }
  await deps.doc.send(
    new UpdateCommand({
      TableName: deps.ledgerTable,
      Key: keys.chunk(lost.objectId, Number(lost.chunkId.split('-').pop())),
      UpdateExpression: 'SET replicas = :r',
      ConditionExpression: 'attribute_exists(pk)',
      ExpressionAttributeValues: { ':r': placement },
    }),
  ).catch(() => undefined); // the chunk's replica list is informational; the replica items are the truth
  await deps.doc.send(new DeleteCommand({ TableName: deps.ledgerTable, Key: { pk: lost.pk, sk: lost.sk } }));
  return moved;
}

/** Every replica assigned to one node. */
export async function replicasOf(deps: { doc: DynamoDBDocumentClient; ledgerTable: string }, nodeId: string): Promise<ReplicaItem[]> {
  const items: ReplicaItem[] = [];
  let startKey: Record<string, unknown> | undefined;
  do {
    const out = await deps.doc.send(
      new QueryCommand({
        TableName: deps.ledgerTable,
        KeyConditionExpression: 'pk = :pk',
        ExpressionAttributeValues: { ':pk': keys.replica(nodeId, '').pk },
        ExclusiveStartKey: startKey,
      }),
    );
    items.push(...((out.Items ?? []) as ReplicaItem[]));
    startKey = out.LastEvaluatedKey;
  } while (startKey);
  return items;
}
