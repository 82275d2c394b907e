/** What working one chunk takes and gives: the worker's dependencies, a leased chunk, the report. */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { ChunkMessage } from '../chunking/chunk';
import type { PlacementNode } from '../cluster/placement';
import type { PipelineConfig } from '../config/pipeline-config';
import type { ChunkLease, ChunkLedger } from '../ledger/chunk-ledger';
import type { ObjectLedger } from '../ledger/object-ledger';
import type { OnObjectOutcome } from '../ledger/object-outcome';
import type { Log } from '../log';
import type { ChunkOutcome } from './chunk-processor';
import type { Clock } from './clock';
import type { ChunkErrorKind } from './error-kind';

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
  log: Log;
  /** Time and timers (the keep-alive). @default realClock */
  clock?: Clock;
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
  /** Told once when an object completes or is quarantined (metrics, the quarantine notice). */
  onObjectOutcome?: OnObjectOutcome;
}

/** A chunk this worker holds the lease of, with what its report and its failure handling need. */
export interface LeasedChunk {
  msg: ChunkMessage;
  lease: ChunkLease;
  receipt: string;
  leaseMs: number;
  /** When the message was received here, and when it was sent. */
  started: number;
  sentAt: number;
  /** The report's correlation fields. */
  reported: Pick<ChunkReport, 'chunkId' | 'objectId' | 'runId' | 'bytes' | 'attempt'>;
  receives: number;
  lastReceive: boolean;
}

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
