import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { Log } from '../log';
import { S3CheckpointBackend } from './backend';
import { CheckpointRegistry } from './registry';
import { FsSpool } from './spool';
import { ByteThrottle } from './throttle';
import { CheckpointUploader, type DurableEvent, type UploaderClock, type UploaderReport } from './uploader';

/** Told of the uploader's work: the agent's checkpoint metrics. */
export interface CheckpointObserver {
  /** Called once, with what reads the uploader's counters and backlog (whenever metrics are taken). */
  attach(report: () => UploaderReport): void;
  /** Every part this agent made durable. */
  durable(event: DurableEvent): void;
}

/** How the agent runs the checkpoint uploader (`--checkpoint-dir` and friends). */
export interface CheckpointAgentOptions {
  /** The host's spool directory, shared with training containers. */
  dir: string;
  /** Multipart parts in flight at once on this host. @default 4 */
  concurrency?: number;
  /** Cap on checkpoint upload bandwidth, bytes/s, so shard pulls are not starved. @default no cap */
  maxBytesPerSecond?: number;
  /** Finished steps kept in the spool per job for fast local restores. @default 2 */
  keepLocalSteps?: number;
  /** Told to training processes through `agent.json` (local mode's endpoint). */
  endpoint?: string;
  region?: string;
  scanMs?: number;
  onDurable?: (event: DurableEvent) => void;
  /** Metrics: bytes sent, time to durable, the oldest part not yet durable. */
  observer?: CheckpointObserver;
}

/** What the agent starts and drains. */
export interface CheckpointPart {
  start(): Promise<void>;
  stop(deadline?: number): Promise<void>;
  report: CheckpointUploader['report'];
}

/** Builds the uploader over the processed bucket and the ledger table. */
export function wireCheckpointUploader(
  deps: { s3: S3Client; doc: DynamoDBDocumentClient; bucket: string; ledgerTable: string; node: string; clock: UploaderClock; log: Log },
  opts: CheckpointAgentOptions,
): CheckpointPart {
  const spool = new FsSpool(opts.dir);
  const backend = new S3CheckpointBackend({
    s3: deps.s3,
    registry: new CheckpointRegistry(deps.doc, deps.ledgerTable),
    bucket: deps.bucket,
    node: deps.node,
    now: deps.clock.now,
    concurrency: opts.concurrency,
    throttle: opts.maxBytesPerSecond ? new ByteThrottle(opts.maxBytesPerSecond, deps.clock) : undefined,
  });
  const onDurable = (event: DurableEvent) => {
    opts.onDurable?.(event);
    opts.observer?.durable(event);
  };
  const uploader = new CheckpointUploader({ spool, backend, clock: deps.clock, log: deps.log, node: deps.node, scanMs: opts.scanMs, keepLocalSteps: opts.keepLocalSteps, onDurable });
  opts.observer?.attach(() => uploader.report());
  return {
    start: async () => {
      await spool.writeAgentInfo({
        format: 'shardline.checkpoint-agent/v1',
        node: deps.node,
        bucket: deps.bucket,
        ledgerTable: deps.ledgerTable,
        ...(opts.region ? { region: opts.region } : {}),
        ...(opts.endpoint ? { endpoint: opts.endpoint } : {}),
        pid: process.pid,
        startedAt: new Date(deps.clock.now()).toISOString(),
      });
      uploader.start();
      deps.log('info', 'checkpoint uploader started', { spool: opts.dir });
    },
    stop: (deadline) => uploader.stop(deadline),
    report: () => uploader.report(),
  };
}
