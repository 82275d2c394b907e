import { BatchGetCommand, type BatchGetCommandInput, type BatchGetCommandOutput, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { chunkIdOf } from '../chunking/chunk';
import { keys, type ReplicaItem } from '../ledger/items';
import { ObjectLedger } from '../ledger/object-ledger';
import type { IndexInput } from './build-index';

/** Objects whose chunk items are read at once. */
const PARALLEL_QUERIES = 8;

/**
 * The nodes holding a PRESENT replica of each chunk of the inputs, now. Candidates are the nodes
 * each chunk is placed on today (its ledger item's `replicas`, kept current by repair and
 * top-up) and the nodes its manifest recorded at commit; their replica items are read with
 * BatchGet (one request per 100 candidates), never by scanning nodes' partitions.
 */
export async function presentHolders(deps: { doc: DynamoDBDocumentClient; ledgerTable: string }, inputs: IndexInput[]): Promise<Map<string, string[]>> {
  const objects = new ObjectLedger(deps.doc, deps.ledgerTable);
  const candidates: Array<{ nodeId: string; chunkId: string }> = [];
  for (let i = 0; i < inputs.length; i += PARALLEL_QUERIES) {
    const batch = await Promise.all(
      inputs.slice(i, i + PARALLEL_QUERIES).map(async ({ object, manifest }) => {
        const placed = new Map<string, Set<string>>();
        const add = (chunkId: string, nodes: string[] | undefined) => {
          const set = placed.get(chunkId) ?? (placed.set(chunkId, new Set()).get(chunkId) as Set<string>);
          for (const n of nodes ?? []) set.add(n);
        };
        for (const s of manifest?.shards ?? []) add(chunkIdOf(object.objectId, s.chunk), s.replicas);
        for (const c of await objects.chunks(object.objectId)) if (c.status === 'PROCESSED') add(c.chunkId, c.replicas);
        return [...placed].flatMap(([chunkId, nodes]) => [...nodes].map((nodeId) => ({ nodeId, chunkId })));
      }),
    );
    candidates.push(...batch.flat());
  }
  const holders = new Map<string, string[]>();
  for (const r of await replicaItems(deps, candidates)) {
    if (r.status === 'PRESENT') holders.set(r.chunkId, [...(holders.get(r.chunkId) ?? []), r.nodeId]);
  }
  return holders;
}

async function replicaItems(deps: { doc: DynamoDBDocumentClient; ledgerTable: string }, wanted: Array<{ nodeId: string; chunkId: string }>): Promise<ReplicaItem[]> {
  const found: ReplicaItem[] = [];
  for (let i = 0; i < wanted.length; i += 100) {
    let request: BatchGetCommandInput['RequestItems'] | undefined = {
      [deps.ledgerTable]: {
        Keys: wanted.slice(i, i + 100).map((w) => keys.replica(w.nodeId, w.chunkId)),
        ProjectionExpression: 'nodeId, chunkId, #s',
        ExpressionAttributeNames: { '#s': 'status' },
      },
    };
    while (request && Object.keys(request).length) {
      const out: BatchGetCommandOutput = await deps.doc.send(new BatchGetCommand({ RequestItems: request }));
      found.push(...((out.Responses?.[deps.ledgerTable] ?? []) as ReplicaItem[]));
      request = out.UnprocessedKeys;
    }
  }
  return found;
}
