/**
 * The wiring of the agent's parts over real clients: what each part needs, taken from the AWS
 * clients, the ledgers and the other parts. The parts themselves know nothing of AWS.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { detectFailures, handBackLeases, placementOf } from '../cluster/failure-detector';
import { LeaderLease } from '../cluster/leader-lease';
import type { NodeIdentity, NodeRegistry } from '../cluster/registry';
import type { PipelineConfig } from '../config/pipeline-config';
import { ControlTable, leasingAllowed } from '../control/control-state';
import { ControlWatcher } from '../control/control-watcher';
import { countLeasedChunks, queueDepth, summarizeActivity } from '../control/pipeline-activity';
import { ChunkLedger } from '../ledger/chunk-ledger';
import { finalizeFinishedObjects } from '../ledger/manifest';
import { ObjectLedger } from '../ledger/object-ledger';
import { RunLedger, settleRuns } from '../ledger/run-ledger';
import type { Log } from '../log';
import type { ChunkReport, ChunkWorkerDeps } from './chunk-work';
import { handleChunkMessage } from './chunk-worker';
import type { Clock } from './clock';
import { ControlFollower } from './control-follower';
import { LeaderChores } from './leader-chores';
import { LEADER_LEASE_MS, LeaderDuties } from './leader-duties';
import { Membership } from './membership';
import { ReplicaKeeper } from './replica-keeper';
import { ReplicaPuller } from './replica-puller';
import { concurrencyFor, WorkConsumer } from './work-consumer';
import { maxReceiveCountOf, receiveWork, returnUnworked } from './work-message';

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
  log: Log;
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

/** The agent's parts, one job each. */
export interface AgentParts {
  control: ControlFollower;
  membership: Membership;
  work: WorkConsumer;
  replicas: ReplicaKeeper;
  leader: LeaderDuties;
  /** Reads what the receive rules need of the work queue (its maxReceiveCount). */
  readQueueRules: () => Promise<void>;
}

/** How old a registry read may be for the leader's activity, gauges and placement (the detector reads every 500 ms). */
export const REGISTRY_VIEW_MAX_AGE_MS = 1000;

/** Builds the agent's parts over real clients. */
export function wireAgent(deps: AgentDeps, clock: Clock): AgentParts {
  const { identity, names, log } = deps;
  const controlTable = new ControlTable(deps.doc, names.controlTable);
  const worker: ChunkWorkerDeps = {
    s3: deps.s3,
    sqs: deps.sqs,
    chunks: new ChunkLedger(deps.doc, names.ledgerTable),
    objects: new ObjectLedger(deps.doc, names.ledgerTable),
    workQueueUrl: names.workQueueUrl,
    processedBucket: names.processedBucket,
    nodeId: identity.nodeId,
    config: deps.config,
    placementNodes: async () => (await deps.registry.healthy(worker.config.heartbeatTimeoutSeconds * 1000, clock.now(), REGISTRY_VIEW_MAX_AGE_MS)).map(placementOf),
    log,
    clock,
    failKeys: deps.failKeys,
    slowMs: deps.slowMs,
    stopNow: () => control.current().state.emergency,
    onThrottle: () => work.throttled(),
  };
  const handBack = () => handBackLeases(worker, identity.nodeId);
  const control: ControlFollower = new ControlFollower({
    watch: (onChange) => new ControlWatcher(controlTable, deps.config, { group: deps.nodeGroup, log, onChange }),
    group: deps.nodeGroup ?? 'default',
    applyConfig: (config) => {
      worker.config = config;
      work.startWorkers();
    },
    concurrency: () => work.concurrency,
    handBackLeases: handBack,
    inFlight: () => work.inFlight,
    heartbeat: () => membership.heartbeat(),
    clock,
    log,
  });
  const work: WorkConsumer = new WorkConsumer({
    receive: () => receiveWork(worker, deps.pollWaitSeconds ?? 2),
    handle: (message) => handleChunkMessage(worker, message),
    giveBack: (message) => returnUnworked(worker, message),
    leasingAllowed: () => leasingAllowed(control.current().state),
    configured: () => concurrencyFor(identity, worker.config),
    onChunk: deps.onChunk,
    clock,
    log,
  });
  const membership = new Membership({
    registry: deps.registry,
    identity,
    handBackLeases: handBack,
    load: () => ({ inFlight: work.inFlight, chunksDone: work.chunksDone, concurrency: work.concurrency, ...control.report() }),
    clock,
    log,
  });
  const runs = new RunLedger(deps.doc, names.ledgerTable, names.controlTable);
  const chores = new LeaderChores({
    publishActivity: (now) => publishActivity(deps, controlTable, worker.config, now),
    finalizeObjects: () => finalizeFinishedObjects(worker),
    settleRuns: () => settleRuns({ runs, s3: deps.s3, processedBucket: names.processedBucket, log }),
    desired: () => control.current().state.desired,
    lastActionAt: () => control.lastActionAt,
    clock,
    log,
  });
  const leader = new LeaderDuties({
    lease: new LeaderLease(deps.doc, names.controlTable, identity.nodeId, LEADER_LEASE_MS),
    detectFailures: (recoveries) =>
      detectFailures(
        {
          ...worker,
          doc: deps.doc,
          registry: deps.registry,
          ledgerTable: names.ledgerTable,
          replicationFactor: worker.config.replicationFactor,
          timeoutMs: worker.config.heartbeatTimeoutSeconds * 1000,
          detectorId: identity.nodeId,
        },
        recoveries,
      ),
    onLeaderSweep: deps.onLeaderSweep,
    chores: () => chores.run(),
    clock,
    log,
  });
  const puller = new ReplicaPuller({ ...deps, ledgerTable: names.ledgerTable, processedBucket: names.processedBucket, nodeId: identity.nodeId, cacheDir: identity.cacheDir });
  const replicas = new ReplicaKeeper({ puller, clock, log });
  const readQueueRules = async () => {
    worker.maxReceiveCount = await maxReceiveCountOf(deps.sqs, names.workQueueUrl);
  };
  return { control, membership, work, replicas, leader, readQueueRules };
}

/** The leader's view of the whole pipeline, which the control state machine waits on. */
async function publishActivity(deps: AgentDeps, control: ControlTable, config: PipelineConfig, now: number): Promise<void> {
  const { sqs, doc, names } = deps;
  const noQueue = Promise.resolve({ visible: 0, inFlight: 0 });
  const [state, healthy, workQueue, ingestQueue, leasedChunks] = await Promise.all([
    control.state(),
    deps.registry.healthy(config.heartbeatTimeoutSeconds * 1000, now, REGISTRY_VIEW_MAX_AGE_MS),
    queueDepth(sqs, names.workQueueUrl),
    names.ingestEventsQueueUrl ? queueDepth(sqs, names.ingestEventsQueueUrl) : noQueue,
    countLeasedChunks(doc, names.ledgerTable),
  ]);
  await control.writeActivity(summarizeActivity({ state, healthy, workQueue, ingestQueue, leasedChunks, leader: deps.identity.nodeId, now }));
}
