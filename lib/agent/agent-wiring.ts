/**
 * The wiring of the agent's parts over real clients: what each part needs, taken from the AWS
 * clients, the ledgers and the other parts. The parts themselves know nothing of AWS.
 */
import { wireCheckpointUploader, type CheckpointPart } from '../checkpoint/agent-part';
import { handBackLeases, placementOf } from '../cluster/failure-detector';
import { ReplicaMoves } from '../cluster/replica-moves';
import { ControlTable, leasingAllowed } from '../control/control-state';
import { CONTROL_POLL_MS, ControlWatcher } from '../control/control-watcher';
import { ChunkLedger } from '../ledger/chunk-ledger';
import { ObjectLedger } from '../ledger/object-ledger';
import { REGISTRY_VIEW_MAX_AGE_MS, type AgentDeps } from './agent-deps';
import type { ChunkWorkerDeps } from './chunk-work';
import { afterCommitsSettled } from './chunk-lifecycle';
import { handleChunkMessage } from './chunk-worker';
import type { Clock } from './clock';
import { ControlFollower } from './control-follower';
import type { LeaderDuties } from './leader-duties';
import { wireLeader } from './leader-wiring';
import { heartbeatPeriodMs, Membership } from './membership';
import { ReplicaHandoff } from './replica-handoff';
import { ReplicaKeeper } from './replica-keeper';
import { ReplicaPuller } from './replica-puller';
import { concurrencyFor, WorkConsumer } from './work-consumer';
import { maxReceiveCountOf, receiveWork, returnUnworked } from './work-message';

/** The agent's parts, one job each. */
export interface AgentParts {
  control: ControlFollower;
  membership: Membership;
  work: WorkConsumer;
  replicas: ReplicaKeeper;
  leader: LeaderDuties;
  /** Hands this node's replicas off to the others when it leaves. */
  handoff: Pick<ReplicaHandoff, 'run'>;
  /** Reads what the receive rules need of the work queue (its maxReceiveCount). */
  readQueueRules: () => Promise<void>;
  /** Makes training checkpoints handed off on this host durable (only with `deps.checkpoints`). */
  checkpoints?: CheckpointPart;
}

/** How long after its last chunk a node still counts as busy (reads the control table every second). */
export const ACTIVE_WINDOW_MS = 10_000;

/** Builds the agent's parts over real clients. */
export function wireAgent(deps: AgentDeps, clock: Clock): AgentParts {
  const { identity, names, log } = deps;
  const controlTable = new ControlTable(deps.doc, names.controlTable);
  const worker = chunkWorker(deps, clock, { stopNow: () => control.current().state.emergency, onThrottle: () => work.throttled() });
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
    // Busy (working, just worked, leading): the control table every second; idle: nudged, or every 30 s.
    active: () => work.inFlight > 0 || leader.leading || clock.now() - work.lastWorkAt < ACTIVE_WINDOW_MS,
    clock,
    log,
  });
  const work: WorkConsumer = new WorkConsumer({
    receive: ({ waitSeconds, signal }) => receiveWork(worker, waitSeconds, signal),
    waitSeconds: deps.pollWaitSeconds,
    handle: (message) => handleChunkMessage(worker, message),
    settled: () => afterCommitsSettled(worker),
    giveBack: (message) => returnUnworked(worker, message),
    leasingAllowed: () => leasingAllowed(control.current().state),
    beforeLeasing: () => control.freshen(2 * CONTROL_POLL_MS),
    configured: () => concurrencyFor(identity, worker.config),
    onChunk: (report) => {
      if (report.result === 'processed') replicas.poke(); // its shard may have been placed here
      deps.onChunk?.(report);
    },
    clock,
    log,
  });
  const membership = new Membership({
    registry: deps.registry,
    identity,
    handBackLeases: handBack,
    load: () => ({ inFlight: work.inFlight, chunksDone: work.chunksDone, concurrency: work.concurrency, ...control.report(), cache: puller.report() }),
    heartbeatEveryMs: heartbeatPeriodMs(deps.config.heartbeatTimeoutSeconds * 1000),
    // News for this node (replicas assigned here, a control change it has not obeyed): look now.
    onNudged: () => {
      replicas.poke();
      control.nudged();
    },
    clock,
    log,
  });
  const leader = wireLeader(deps, worker, control, controlTable, clock);
  const puller = new ReplicaPuller({ ...deps, ledgerTable: names.ledgerTable, processedBucket: names.processedBucket, nodeId: identity.nodeId, cacheDir: identity.cacheDir, now: clock.now });
  const replicas = new ReplicaKeeper({ puller, clock, log });
  const handoff = new ReplicaHandoff({
    nodeId: identity.nodeId,
    moves: new ReplicaMoves(deps.doc, names.ledgerTable, { onAssigned: (nodeIds) => deps.registry.nudge(nodeIds) }),
    nodes: worker.placementNodes,
    replicationFactor: () => worker.config.replicationFactor,
    clock,
    log,
  });
  const readQueueRules = async () => {
    worker.maxReceiveCount = await maxReceiveCountOf(deps.sqs, names.workQueueUrl);
  };
  const checkpoints = deps.checkpoints
    ? wireCheckpointUploader({ s3: deps.s3, doc: deps.doc, bucket: names.processedBucket, ledgerTable: names.ledgerTable, node: identity.nodeId, clock, log }, deps.checkpoints)
    : undefined;
  return { control, membership, work, replicas, leader, handoff, readQueueRules, checkpoints };
}

/** The chunk worker's dependencies; its `config` is replaced whenever a new version is applied. */
function chunkWorker(deps: AgentDeps, clock: Clock, hooks: Pick<ChunkWorkerDeps, 'stopNow' | 'onThrottle'>): ChunkWorkerDeps {
  const { names } = deps;
  const worker: ChunkWorkerDeps = {
    s3: deps.s3,
    sqs: deps.sqs,
    chunks: new ChunkLedger(deps.doc, names.ledgerTable),
    objects: new ObjectLedger(deps.doc, names.ledgerTable),
    workQueueUrl: names.workQueueUrl,
    processedBucket: names.processedBucket,
    nodeId: deps.identity.nodeId,
    config: deps.config,
    // Healthy nodes as placement targets, from a registry read at most a second old.
    placementNodes: async () => (await deps.registry.healthy(worker.config.heartbeatTimeoutSeconds * 1000, clock.now(), REGISTRY_VIEW_MAX_AGE_MS)).map(placementOf),
    log: deps.log,
    clock,
    failKeys: deps.failKeys,
    slowMs: deps.slowMs,
    onObjectOutcome: deps.onObjectOutcome,
    ...hooks,
  };
  return worker;
}
