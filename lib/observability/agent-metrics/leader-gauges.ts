import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SHORT, SHORT_OF_REPLICAS_INDEX } from '../../ledger/items';
import type { LeaderGaugeValues } from './recorder';

export interface LeaderGaugeDeps {
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  /** Nodes the failure detector counts as healthy (the registry's view). */
  healthyNodes: () => Promise<number>;
  log: (level: 'warn', message: string, fields?: Record<string, unknown>) => void;
  now?: () => number;
}

/** How often the leader samples the cluster-wide gauges. */
export const LEADER_SAMPLE_EVERY_MS = 1000;

/** Shards flagged short of R replicas: a count over the sparse `byReplicaShortfall` index, never a table scan. */
export async function countShardsBelowReplication(doc: DynamoDBDocumentClient, ledgerTable: string): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(
      new QueryCommand({
        TableName: ledgerTable,
        IndexName: SHORT_OF_REPLICAS_INDEX,
        KeyConditionExpression: 'shortOfReplicas = :short',
        ExpressionAttributeValues: { ':short': SHORT },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}

/**
 * Samples the gauges only the leader publishes (healthy nodes, shards below R) at most once a
 * second and one sample at a time, off the leader's own loop: call `sweep()` from every leader
 * sweep, it returns at once. A failed sample is logged and skipped; the recorder then stops
 * publishing the gauges once the last good sample is stale.
 */
export class LeaderGaugeSampler {
  private sampling = false;
  private lastAt = -Infinity;

  constructor(
    private readonly deps: LeaderGaugeDeps,
    private readonly sink: (values: LeaderGaugeValues) => void,
  ) {}

  sweep(): void {
    const now = (this.deps.now ?? Date.now)();
    if (this.sampling || now - this.lastAt < LEADER_SAMPLE_EVERY_MS) return;
    this.sampling = true;
    this.lastAt = now;
    void this.sample().finally(() => (this.sampling = false));
  }

  /** One sample; resolves when it was handed to the sink (or failed and was logged). */
  async sample(): Promise<void> {
    try {
      const [healthyNodes, shardsBelowReplication] = await Promise.all([this.deps.healthyNodes(), countShardsBelowReplication(this.deps.doc, this.deps.ledgerTable)]);
      this.sink({ healthyNodes, shardsBelowReplication });
    } catch (err) {
      this.deps.log('warn', 'leader gauges not sampled', { error: (err as Error).message });
    }
  }
}
