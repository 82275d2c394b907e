import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { detectFailures, handBackLeases } from '../cluster/failure-detector';
import { LeaderLease } from '../cluster/leader-lease';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PipelineConfig } from '../config/pipeline-config';
import type { PlacementNode } from '../cluster/placement';
import type { NodeIdentity, NodeRegistry } from '../cluster/registry';
import { ChunkLedger } from '../ledger/chunk-ledger';
import { ObjectLedger } from '../ledger/object-ledger';
import { handleChunkMessage, type ChunkReport, type ChunkWorkerDeps } from './chunk-worker';
import { ReplicaPuller } from './replica-puller';

export interface AgentDeps {
  s3: S3Client;
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  registry: NodeRegistry;
  names: { workQueueUrl: string; processedBucket: string; ledgerTable: string; controlTable: string };
  identity: NodeIdentity;
  config: PipelineConfig;
  log: ChunkWorkerDeps['log'];
  /** Called after every chunk (metrics, tests). */
  onChunk?: (report: ChunkReport) => void;
  /** Fault injection: chunks of objects whose key matches fail (see `--fail-keys`). */
  failKeys?: RegExp;
  /** Fault injection: extra milliseconds of work per chunk (see `--slow-ms`). */
  slowMs?: number;
  /** Seconds one receive call waits for a message (long polling). */
  pollWaitSeconds?: number;
}

/** How many chunks a node works on at once: more for more GPUs, bounded by its CPUs. */
export function concurrencyFor(identity: Pick<NodeIdentity, 'gpus' | 'cpus'>, config: Pick<PipelineConfig, 'concurrencyPerNode'>): number {
  return Math.max(1, Math.min(config.concurrencyPerNode * Math.max(1, identity.gpus), Math.max(1, identity.cpus) * 2));
}

/**
 * The node agent: joins the registry and heartbeats every second, long-polls the work queue with
 * a concurrency that follows its capacity, pulls the shards placed on it, and on `drain()` stops
 * taking work, finishes what is in flight, and leaves the cluster.
 */
export class Agent {
  private stopping = false;
  private inFlight = 0;
  private chunksDone = 0;
  private readonly loops: Promise<void>[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private leading = false;
  private renewing = false;
  private readonly leader: LeaderLease;
  private placementCache?: { at: number; nodes: Promise<PlacementNode[]> };
  readonly concurrency: number;
  private readonly worker: ChunkWorkerDeps;
  private readonly puller: ReplicaPuller;

  constructor(private readonly deps: AgentDeps) {
    this.concurrency = concurrencyFor(deps.identity, deps.config);
    this.worker = {
      s3: deps.s3,
      sqs: deps.sqs,
      chunks: new ChunkLedger(deps.doc, deps.names.ledgerTable),
      objects: new ObjectLedger(deps.doc, deps.names.ledgerTable),
      workQueueUrl: deps.names.workQueueUrl,
      processedBucket: deps.names.processedBucket,
      nodeId: deps.identity.nodeId,
      config: deps.config,
      placementNodes: () => this.placementNodes(),
      log: deps.log,
      failKeys: deps.failKeys,
      slowMs: deps.slowMs,
    };
    this.leader = new LeaderLease(deps.doc, deps.names.controlTable, deps.identity.nodeId, LEADER_LEASE_MS);
    this.puller = new ReplicaPuller({ ...deps, ledgerTable: deps.names.ledgerTable, processedBucket: deps.names.processedBucket, nodeId: deps.identity.nodeId, cacheDir: deps.identity.cacheDir });
  }

  /** Joins the cluster and starts the heartbeat, leader election, the workers and the replica puller. */
  async start(): Promise<void> {
    await this.join();
    this.worker.maxReceiveCount = await maxReceiveCountOf(this.deps.sqs, this.deps.names.workQueueUrl);
    this.every(1000, () => this.heartbeat());
    // Lease renewal runs on its own timer so a long recovery sweep never lets the lease lapse.
    this.every(500, () => this.renewLeadership());
    this.every(500, () => this.lead());
    for (let slot = 0; slot < this.concurrency; slot++) this.loops.push(this.workLoop());
    this.loops.push(this.pullLoop());
    this.deps.log('info', 'agent started', { ...this.deps.identity, concurrency: this.concurrency });
  }

  /** Stops taking work, lets in-flight chunks finish, and leaves the registry. */
  async drain(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.deps.log('info', 'draining', { inFlight: this.inFlight });
    await this.heartbeat().catch(() => undefined);
    await Promise.all(this.loops);
    this.timers.forEach(clearInterval);
    await this.leader.release().catch(() => undefined);
    await this.deps.registry.leave(this.deps.identity.nodeId);
    this.deps.log('info', 'drained and left the cluster', { chunksDone: this.chunksDone });
  }

  private async workLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        const out = await this.deps.sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.deps.names.workQueueUrl,
            MaxNumberOfMessages: 1,
            WaitTimeSeconds: this.deps.pollWaitSeconds ?? 2,
            // Short until the chunk is leased (then the lease's length): a node that dies between
            // receiving and leasing delays the chunk by seconds, not by the queue's timeout.
            VisibilityTimeout: RECEIVE_VISIBILITY_SECONDS,
            MessageSystemAttributeNames: ['SentTimestamp', 'ApproximateReceiveCount'],
          }),
        );
        for (const message of out.Messages ?? []) {
          this.inFlight++;
          try {
            const report = await handleChunkMessage(this.worker, message);
            if (report.result === 'processed') this.chunksDone++;
            this.deps.log('info', `chunk ${report.result}`, {
              chunkId: report.chunkId, queueWaitMs: report.queueWaitMs, totalMs: report.totalMs, ...report.stages, ...report.outcome?.timings, ...report.outcome?.counts,
            });
            this.deps.onChunk?.(report);
          } finally {
            this.inFlight--;
          }
        }
      } catch (err) {
        this.deps.log('error', 'work loop error', { error: (err as Error).message });
        await sleep(1000);
      }
    }
  }

  private async pullLoop(): Promise<void> {
    while (!this.stopping) {
      try {
        const pulled = await this.puller.pullOnce();
        if (pulled === 0) await sleep(500);
      } catch (err) {
        this.deps.log('error', 'replica puller error', { error: (err as Error).message });
        await sleep(1000);
      }
    }
  }

  /** Joins as a new incarnation and hands back any lease a previous incarnation left behind. */
  private async join(): Promise<void> {
    await this.deps.registry.join(this.deps.identity);
    const revoked = await handBackLeases({ ...this.worker, log: this.deps.log }, this.deps.identity.nodeId);
    if (revoked > 0) this.deps.log('warn', 'handed back leases of a previous incarnation', { revoked });
    await this.heartbeat();
  }

  private async heartbeat(): Promise<void> {
    try {
      await this.deps.registry.heartbeat(
        this.deps.identity.nodeId,
        { inFlight: this.inFlight, chunksDone: this.chunksDone, concurrency: this.concurrency },
        this.stopping,
      );
    } catch (err) {
      if (err instanceof ConditionalCheckFailedException && !this.stopping) {
        // Declared dead while stalled (SIGSTOP, GC, network): rejoin; late commits are refused.
        this.deps.log('warn', 'this node was declared dead; rejoining');
        await this.join().catch((e) => this.deps.log('error', 'rejoin failed', { error: (e as Error).message }));
        return;
      }
      this.deps.log('warn', 'heartbeat failed', { error: (err as Error).message });
    }
  }

  /** Holds or seeks the leader lease. */
  private async renewLeadership(): Promise<void> {
    // One call at a time: an overlapping attempt would fail its condition and drop the lease.
    if (this.renewing) return;
    this.renewing = true;
    try {
      const wasLeader = this.leader.currentToken !== undefined;
      const leads = await this.leader.tryAcquire();
      if (leads && !wasLeader) this.deps.log('info', 'became leader', { token: this.leader.currentToken });
      if (!leads && wasLeader) this.deps.log('warn', 'lost the leader lease');
    } catch (err) {
      this.deps.log('warn', 'leader lease renewal failed', { error: (err as Error).message });
    } finally {
      this.renewing = false;
    }
  }

  /** While this node leads, runs the failure detector (one sweep at a time). */
  private async lead(): Promise<void> {
    if (this.leading || this.leader.currentToken === undefined) return;
    this.leading = true;
    try {
      await detectFailures({
        ...this.worker,
        doc: this.deps.doc,
        registry: this.deps.registry,
        ledgerTable: this.deps.names.ledgerTable,
        replicationFactor: this.deps.config.replicationFactor,
        timeoutMs: this.deps.config.heartbeatTimeoutSeconds * 1000,
        detectorId: this.deps.identity.nodeId,
        log: this.deps.log,
      });
    } catch (err) {
      this.deps.log('error', 'leader duty failed', { error: (err as Error).message });
    } finally {
      this.leading = false;
    }
  }

  /** Healthy nodes as placement targets, refreshed at most once a second. */
  private placementNodes(): Promise<PlacementNode[]> {
    const now = Date.now();
    if (!this.placementCache || now - this.placementCache.at > 1000) {
      const nodes = this.deps.registry
        .healthy(this.deps.config.heartbeatTimeoutSeconds * 1000)
        .then((list) => list.map((n) => ({ nodeId: n.nodeId, failureDomain: n.failureDomain, capacity: Math.max(1, n.cacheCapacityBytes / 1024 ** 3) })));
      this.placementCache = { at: now, nodes };
      nodes.catch(() => (this.placementCache = undefined));
    }
    return this.placementCache.nodes;
  }

  private every(ms: number, fn: () => Promise<void>): void {
    const timer = setInterval(() => void fn(), ms);
    timer.unref();
    this.timers.push(timer);
  }
}

/** Visibility of a received message until its chunk is leased. */
export const RECEIVE_VISIBILITY_SECONDS = 10;

/** How long a leader's lease lasts without renewal (renewed every 500 ms). */
export const LEADER_LEASE_MS = 3000;

async function maxReceiveCountOf(sqs: SQSClient, queueUrl: string): Promise<number | undefined> {
  const out = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['RedrivePolicy'] }));
  const policy = out.Attributes?.RedrivePolicy;
  return policy ? Number((JSON.parse(policy) as { maxReceiveCount: number | string }).maxReceiveCount) : undefined;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms).unref());
