import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { ControlTable, leasingAllowed } from '../control/control-state';
import { CONTROL_POLL_MS, ControlWatcher, type ControlView } from '../control/control-watcher';
import { countLeasedChunks, queueDepth, summarizeActivity } from '../control/pipeline-activity';
import { finalizeFinishedObjects } from '../ledger/manifest';
import { RunLedger, settleRuns } from '../ledger/run-ledger';
import { detectFailures, handBackLeases, placementOf, type RecoveriesInProgress } from '../cluster/failure-detector';
import { LeaderLease } from '../cluster/leader-lease';
import type { S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { PipelineConfig } from '../config/pipeline-config';
import type { PlacementNode } from '../cluster/placement';
import type { NodeIdentity, NodeRegistry } from '../cluster/registry';
import { ChunkLedger } from '../ledger/chunk-ledger';
import { ObjectLedger } from '../ledger/object-ledger';
import { handleChunkMessage, returnUnworked, type ChunkReport, type ChunkWorkerDeps } from './chunk-worker';
import { ReplicaPuller } from './replica-puller';
import { AdaptiveConcurrency } from './throttle-backoff';

export interface AgentDeps {
  s3: S3Client;
  sqs: SQSClient;
  doc: DynamoDBDocumentClient;
  registry: NodeRegistry;
  names: { workQueueUrl: string; processedBucket: string; ledgerTable: string; controlTable: string; ingestEventsQueueUrl?: string };
  identity: NodeIdentity;
  /** The deployed config (version 0); newer versions come from the control table. */
  config: PipelineConfig;
  /** The node group whose config overrides apply to this node. @default 'default' */
  nodeGroup?: string;
  log: ChunkWorkerDeps['log'];
  /** Called after every chunk (metrics, tests). */
  onChunk?: (report: ChunkReport) => void;
  /** Called on every sweep while this node leads, with its fencing token (leader-only metrics); must return at once. */
  onLeaderSweep?: (sweep: { token: number }) => void;
  /** Called for every shard pulled into this node's cache (metrics). */
  onReplicaPulled?: (replica: { chunkId: string; objectId: string }) => void;
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
  private workers = 0;
  private readonly worker: ChunkWorkerDeps;
  private readonly puller: ReplicaPuller;
  private readonly control: ControlTable;
  private readonly watcher: ControlWatcher;
  private readonly runs: RunLedger;
  private choring = false;
  private readonly recoveries: RecoveriesInProgress = new Map();
  private started = false;
  private lastActivityAt = 0;
  private lastActionSeenAt = 0;
  private lastRunSweepAt = 0;
  private lastFinalizeSweepAt = 0;
  private readonly adaptive = new AdaptiveConcurrency();

  constructor(private readonly deps: AgentDeps) {
    this.control = new ControlTable(deps.doc, deps.names.controlTable);
    this.runs = new RunLedger(deps.doc, deps.names.ledgerTable, deps.names.controlTable);
    this.watcher = new ControlWatcher(this.control, deps.config, { group: deps.nodeGroup, log: deps.log, onChange: (view, previous) => this.obey(view, previous) });
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
      stopNow: () => this.watcher.current().state.emergency,
      onThrottle: () => {
        const configured = concurrencyFor(deps.identity, this.worker.config);
        const before = this.concurrency;
        if (this.adaptive.throttled(configured) < before) this.deps.log('warn', 'throttled: lowering concurrency', { from: before, to: this.concurrency });
      },
    };
    this.leader = new LeaderLease(deps.doc, deps.names.controlTable, deps.identity.nodeId, LEADER_LEASE_MS);
    this.puller = new ReplicaPuller({ ...deps, ledgerTable: deps.names.ledgerTable, processedBucket: deps.names.processedBucket, nodeId: deps.identity.nodeId, cacheDir: deps.identity.cacheDir });
  }

  /** Chunks this node is working on right now (metrics). */
  get chunksInFlight(): number {
    return this.inFlight;
  }

  /** Chunks this node works on at once: the config in force, lowered while S3 or DynamoDB throttle. */
  get concurrency(): number {
    return this.adaptive.current(concurrencyFor(this.deps.identity, this.worker.config));
  }

  /** Joins the cluster and starts the heartbeat, leader election, the workers and the replica puller. */
  async start(): Promise<void> {
    // The state and config in force at start are applied here, before joining; obey() only
    // handles changes after that (it heartbeats, which needs the registry item join creates).
    await this.watcher.refresh();
    this.worker.config = this.watcher.current().config;
    this.lastActionSeenAt = Date.now();
    await this.join();
    this.started = true;
    this.watcher.start(CONTROL_POLL_MS);
    this.worker.maxReceiveCount = await maxReceiveCountOf(this.deps.sqs, this.deps.names.workQueueUrl);
    this.every(1000, () => this.heartbeat());
    // Lease renewal runs on its own timer so a long recovery sweep never lets the lease lapse.
    this.every(500, () => this.renewLeadership());
    this.every(500, () => this.lead());
    this.every(ACTIVITY_EVERY_MS, () => this.chores());
    this.startWorkers();
    this.loops.push(this.pullLoop());
    const view = this.watcher.current();
    this.deps.log('info', 'agent started', { ...this.deps.identity, concurrency: this.concurrency, desired: view.state.desired, configVersion: view.configVersion });
  }

  /** Starts work loops up to the concurrency in force; loops above it end by themselves. */
  private startWorkers(): void {
    while (this.workers < this.concurrency) this.loops.push(this.workLoop(this.workers++));
  }

  /** Applies a new control action or config version, within a second of it being recorded. */
  private obey(view: ControlView, previous: ControlView): void {
    if (!this.started) return;
    if (view.state.generation !== previous.state.generation) {
      this.lastActionSeenAt = Date.now();
      this.deps.log('info', 'control state changed', { desired: view.state.desired, generation: view.state.generation, action: view.state.action, reason: view.state.reason });
      if (view.state.emergency) void this.handBackEverything();
    }
    if (view.configVersion !== previous.configVersion) {
      const before = this.concurrency;
      this.worker.config = view.config;
      this.startWorkers();
      this.deps.log('info', 'config version applied', { configVersion: view.configVersion, concurrency: this.concurrency, previousConcurrency: before });
    }
    void this.heartbeat();
  }

  /** Emergency stop: every lease this node holds goes back to the queue now; late results are discarded. */
  private async handBackEverything(): Promise<void> {
    try {
      const revoked = await handBackLeases({ ...this.worker, log: this.deps.log }, this.deps.identity.nodeId);
      this.deps.log('warn', 'emergency stop: handed back leases', { revoked, inFlight: this.inFlight });
    } catch (err) {
      this.deps.log('error', 'emergency stop: hand-back failed (the leader retries through the failure detector)', { error: (err as Error).message });
    }
  }

  /** Stops taking work, lets in-flight chunks finish, and leaves the registry. */
  async drain(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.deps.log('info', 'draining', { inFlight: this.inFlight });
    await this.heartbeat().catch(() => undefined);
    await Promise.all(this.loops);
    this.timers.forEach(clearInterval);
    await Promise.all(this.recoveries.values()); // hand back a dead node's work before leaving the lead
    this.watcher.stop();
    await this.leader.release().catch(() => undefined);
    await this.deps.registry.leave(this.deps.identity.nodeId);
    this.deps.log('info', 'drained and left the cluster', { chunksDone: this.chunksDone });
  }

  private async workLoop(slot: number): Promise<void> {
    while (!this.stopping) {
      if (slot >= this.concurrency) {
        this.workers--;
        return; // the config in force lowered concurrency
      }
      if (!leasingAllowed(this.watcher.current().state)) {
        await sleep(200);
        continue;
      }
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
          if (!leasingAllowed(this.watcher.current().state)) {
            await this.returnToQueue(message); // paused while this receive was waiting
            continue;
          }
          this.inFlight++;
          try {
            const report = await handleChunkMessage(this.worker, message);
            if (report.result === 'processed') {
              this.chunksDone++;
              this.adaptive.succeeded(concurrencyFor(this.deps.identity, this.worker.config));
              this.startWorkers();
            }
            this.deps.log('info', `chunk ${report.result}`, {
              chunkId: report.chunkId, objectId: report.objectId, attempt: report.attempt, runId: report.runId, errorKind: report.errorKind, queueWaitMs: report.queueWaitMs, totalMs: report.totalMs, ...report.stages, ...report.outcome?.timings, ...report.outcome?.counts,
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

  private async returnToQueue(message: Message): Promise<void> {
    await returnUnworked(this.worker, message).catch((err) => this.deps.log('warn', 'could not give back a message received while paused; it returns after its receive visibility', { error: (err as Error).message }));
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
        { inFlight: this.inFlight, chunksDone: this.chunksDone, concurrency: this.concurrency, ...this.controlReport() },
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

  /** What this node obeys, for `status` and the control state machine. */
  private controlReport() {
    const view = this.watcher.current();
    return {
      controlGeneration: view.state.generation,
      desired: view.state.desired,
      configVersion: view.configVersion,
      configGroup: this.deps.nodeGroup ?? 'default',
      ...(view.configError ? { configError: view.configError } : {}),
    };
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

  /** While this node leads, runs the failure detector (one sweep at a time; recoveries run apart). */
  private async lead(): Promise<void> {
    if (this.leading || this.leader.currentToken === undefined) return;
    this.leading = true;
    try {
      this.deps.onLeaderSweep?.({ token: this.leader.currentToken });
      await detectFailures(
        {
          ...this.worker,
          doc: this.deps.doc,
          registry: this.deps.registry,
          ledgerTable: this.deps.names.ledgerTable,
          replicationFactor: this.worker.config.replicationFactor,
          timeoutMs: this.worker.config.heartbeatTimeoutSeconds * 1000,
          detectorId: this.deps.identity.nodeId,
          log: this.deps.log,
        },
        this.recoveries,
      );
    } catch (err) {
      this.deps.log('error', 'leader duty failed', { error: (err as Error).message });
    } finally {
      this.leading = false;
    }
  }

  /**
   * The leader's control-plane chores, on their own timer so that they never delay the failure
   * detector: publish the pipeline's activity every second, settle finished runs every 2 s,
   * finalize objects a dead committer left unfinished every 5 s.
   */
  private async chores(): Promise<void> {
    if (this.choring || this.leader.currentToken === undefined) return;
    this.choring = true;
    try {
      const now = Date.now();
      // Every second while an action is recent or the pipeline is not simply running (the
      // control state machine waits on it then); every 10 s otherwise, to spare the tables.
      const view = this.watcher.current();
      const busy = view.state.desired !== 'RUNNING' || now - this.lastActionSeenAt < ACTIVE_CONTROL_WINDOW_MS;
      if (busy || now - this.lastActivityAt >= IDLE_ACTIVITY_EVERY_MS) {
        this.lastActivityAt = now;
        await this.publishActivity(now);
      }
      if (now - this.lastFinalizeSweepAt >= FINALIZE_SWEEP_EVERY_MS) {
        this.lastFinalizeSweepAt = now;
        const finalized = await finalizeFinishedObjects(this.worker);
        if (finalized.length) this.deps.log('warn', 'finalized objects their last committer left unfinished', { objectIds: finalized });
      }
      if (now - this.lastRunSweepAt >= RUN_SWEEP_EVERY_MS) {
        this.lastRunSweepAt = now;
        await settleRuns({ runs: this.runs, s3: this.deps.s3, processedBucket: this.deps.names.processedBucket, log: this.deps.log });
      }
    } catch (err) {
      this.deps.log('error', 'leader chore failed', { error: (err as Error).message });
    } finally {
      this.choring = false;
    }
  }

  /** The leader's view of the whole pipeline, which the control state machine waits on. */
  private async publishActivity(now: number): Promise<void> {
    const { sqs, doc, names } = this.deps;
    const noQueue = Promise.resolve({ visible: 0, inFlight: 0 });
    const [state, healthy, workQueue, ingestQueue, leasedChunks] = await Promise.all([
      this.control.state(),
      this.deps.registry.healthy(this.worker.config.heartbeatTimeoutSeconds * 1000, now, REGISTRY_VIEW_MAX_AGE_MS),
      queueDepth(sqs, names.workQueueUrl),
      names.ingestEventsQueueUrl ? queueDepth(sqs, names.ingestEventsQueueUrl) : noQueue,
      countLeasedChunks(doc, names.ledgerTable),
    ]);
    await this.control.writeActivity(summarizeActivity({ state, healthy, workQueue, ingestQueue, leasedChunks, leader: this.deps.identity.nodeId, now }));
  }

  /** Healthy nodes as placement targets, from a registry read at most a second old. */
  private async placementNodes(): Promise<PlacementNode[]> {
    const healthy = await this.deps.registry.healthy(this.worker.config.heartbeatTimeoutSeconds * 1000, Date.now(), REGISTRY_VIEW_MAX_AGE_MS);
    return healthy.map(placementOf);
  }

  private every(ms: number, fn: () => Promise<void>): void {
    // Referenced timers: they keep the agent process alive while it is paused and idle (then no
    // request is in flight); drain() clears them.
    const timer = setInterval(() => void fn(), ms);
    this.timers.push(timer);
  }
}

/** How often the leader publishes the pipeline's activity, and settles finished runs. */
const ACTIVITY_EVERY_MS = 1000;
const IDLE_ACTIVITY_EVERY_MS = 10_000;
/** After a control action, the leader publishes activity every second for this long. */
const ACTIVE_CONTROL_WINDOW_MS = 10 * 60 * 1000;
const RUN_SWEEP_EVERY_MS = 2000;
const FINALIZE_SWEEP_EVERY_MS = 5000;

/** How old a registry read may be for the leader's activity, gauges and placement (the detector reads every 500 ms). */
export const REGISTRY_VIEW_MAX_AGE_MS = 1000;

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
