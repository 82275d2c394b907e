import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { CapacityPolicy } from '../cache/capacity';
import type { CheckpointAgentOptions } from '../checkpoint/agent-part';
import type { NodeCacheLoad, NodeIdentity, NodeRegistry } from '../cluster/registry';
import type { PipelineConfig } from '../config/pipeline-config';
import type { OnObjectOutcome } from '../ledger/object-outcome';
import type { Log } from '../log';
import type { ChunkReport } from './chunk-work';
import type { CacheEvent } from './replica-puller';

/** What the agent is given: clients, resource names, this node's identity and config, hooks. */
export interface AgentDeps {
  s3: S3Client;
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  registry: NodeRegistry;
  names: { workQueueUrl: string; processedBucket: string; ledgerTable: string; controlTable: string; ingestEventsQueueUrl?: string; workDlqUrl?: string };
  identity: NodeIdentity;
  /** The deployed config (version 0); newer versions come from the control table. */
  config: PipelineConfig;
  /** The node group whose config overrides apply to this node. @default 'default' */
  nodeGroup?: string;
  log: Log;
  /** Called after every chunk (metrics, tests). */
  onChunk?: (report: ChunkReport) => void;
  /** Called on every sweep while this node leads, with its fencing token (leader-only metrics); must return at once. */
  onLeaderSweep?: (sweep: { token: number }) => void;
  /** Called once when an object completes or is quarantined here (metrics, the quarantine notice). */
  onObjectOutcome?: OnObjectOutcome;
  /** Called for every shard pulled into this node's cache (metrics). */
  onReplicaPulled?: (replica: { chunkId: string; objectId: string }) => void;
  /** How much of its filesystem the shard cache may use (headroom, an operator's cap). */
  cachePolicy?: CapacityPolicy;
  /** Called when the cache takes back, evicts, refuses or drops a shard (metrics). */
  onCacheEvent?: (event: CacheEvent) => void;
  /** Called after every pass of the replica puller with the cache's use and capacity (gauges). */
  onCacheReport?: (report: NodeCacheLoad) => void;
  /** Fault injection: chunks of objects whose key matches fail (see `--fail-keys`). */
  failKeys?: RegExp;
  /** Fault injection: extra milliseconds of work per chunk (see `--slow-ms`). */
  slowMs?: number;
  /** Seconds one receive call waits for a message (long polling). @default RECEIVE_WAIT_SECONDS (20) */
  pollWaitSeconds?: number;
  /** Uploads the training checkpoints handed off in this spool directory (docs/checkpoints.md); absent: no uploader. */
  checkpoints?: CheckpointAgentOptions;
}

/** How old a registry read may be for the leader's activity, gauges and placement (the detector reads every 500 ms). */
export const REGISTRY_VIEW_MAX_AGE_MS = 1000;

/**
 * How long a chunk may use the placement targets it read when it was leased (the read overlaps
 * the chunk's work instead of preceding its commit); a chunk that took longer reads them again.
 */
export const PLACEMENT_VIEW_MAX_AGE_MS = 3000;
