import { GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LEASES_BY_HOLDER_INDEX } from '../ledger/items';
import type { NodeItem } from '../cluster/registry';
import type { ControlState, PipelineActivity } from './control-state';

export interface QueueDepth {
  visible: number;
  inFlight: number;
}

/** Adds up what the healthy nodes and the queues say, for the control state machine. */
export function summarizeActivity(input: {
  state: ControlState;
  healthy: NodeItem[];
  workQueue: QueueDepth;
  ingestQueue: QueueDepth;
  /** Chunks whose ledger lease is held (the sparse by-holder index). */
  leasedChunks: number;
  leader: string;
  now: number;
}): PipelineActivity {
  const { state, healthy, workQueue, ingestQueue } = input;
  const loads = healthy.map((n) => n.load);
  const inFlight = loads.reduce((sum, l) => sum + (l?.inFlight ?? 0), 0);
  const acked = loads.map((l) => l?.controlGeneration ?? -1);
  return {
    observedGeneration: state.generation,
    ackedGeneration: acked.length ? Math.min(...acked) : state.generation,
    healthyNodes: healthy.length,
    inFlight,
    workQueueVisible: workQueue.visible,
    workQueueInFlight: workQueue.inFlight,
    ingestQueueVisible: ingestQueue.visible,
    ingestQueueInFlight: ingestQueue.inFlight,
    quiescent: inFlight === 0 && input.leasedChunks === 0 && workQueue.visible === 0 && workQueue.inFlight === 0,
    leasedChunks: input.leasedChunks,
    noLeases: input.leasedChunks === 0,
    leader: input.leader,
    updatedAt: input.now,
  };
}

/** Approximate visible and in-flight messages of a queue. */
export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
  );
  const a = out.Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesDelayed ?? 0), inFlight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

/** How many chunks hold a lease: a count over the sparse by-holder index (only leased chunks are in it). */
export async function countLeasedChunks(doc: DynamoDBDocumentClient, ledgerTable: string): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  do {
    const out = await doc.send(new ScanCommand({ TableName: ledgerTable, IndexName: LEASES_BY_HOLDER_INDEX, Select: 'COUNT', ExclusiveStartKey: start }));
    count += out.Count ?? 0;
    start = out.LastEvaluatedKey;
  } while (start);
  return count;
}
