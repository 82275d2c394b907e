/** The leader's duties over real clients: the lease item, the failure detector, the rebalancer and the chores' tables and queues. */
import { detectFailures, placementOf } from '../cluster/failure-detector';
import { LeaderLease } from '../cluster/leader-lease';
import { ReplicaMoves } from '../cluster/replica-moves';
import type { PipelineConfig } from '../config/pipeline-config';
import type { ControlTable } from '../control/control-state';
import { countLeasedChunks, queueDepth, summarizeActivity } from '../control/pipeline-activity';
import { buildRunIndex } from '../dataset/create-index';
import { finalizeFinishedObjects } from '../ledger/manifest';
import { RunLedger, settleRuns } from '../ledger/run-ledger';
import { REGISTRY_VIEW_MAX_AGE_MS, type AgentDeps } from './agent-deps';
import type { ChunkWorkerDeps } from './chunk-work';
import type { Clock } from './clock';
import type { ControlFollower } from './control-follower';
import { LeaderChores } from './leader-chores';
import { LEADER_LEASE_MS, LeaderDuties } from './leader-duties';
import { ControlLagNudger } from './control-lag';
import { Rebalancer } from './rebalancer';
import { returnStrayDeadLetters } from './stray-dead-letters';

/** Builds the leader's duties; `worker` carries the config in force and the ledgers. */
export function wireLeader(deps: AgentDeps, worker: ChunkWorkerDeps, control: ControlFollower, controlTable: ControlTable, clock: Clock): LeaderDuties {
  const { identity, names, log } = deps;
  const { workDlqUrl } = names;
  const nudge = (nodeIds: string[]) => deps.registry.nudge(nodeIds);
  const runs = new RunLedger(deps.doc, names.ledgerTable, names.controlTable);
  const chores = new LeaderChores({
    publishActivity: (now) => publishActivity(deps, controlTable, worker.config, now),
    finalizeObjects: () => finalizeFinishedObjects(worker),
    settleRuns: () =>
      settleRuns({
        runs,
        s3: deps.s3,
        processedBucket: names.processedBucket,
        log,
        buildIndex: (run, members, objects) => buildRunIndex({ ...names, s3: deps.s3, doc: deps.doc }, run, members, objects),
      }),
    returnStrayDeadLetters: workDlqUrl ? () => returnStrayDeadLetters({ ...deps, ledgerTable: names.ledgerTable, workQueueUrl: names.workQueueUrl, workDlqUrl }) : undefined,
    desired: () => control.current().state.desired,
    lastActionAt: () => control.lastActionAt,
    clock,
    log,
  });
  const lagging = new ControlLagNudger({ nodes: () => deps.registry.recent(REGISTRY_VIEW_MAX_AGE_MS), view: () => control.current(), nudge, log });
  // The deputy (the first healthy follower by id) alone watches the lease's expiry closely.
  let deputy: string | undefined;
  const chooseDeputy = async () => {
    const healthy = await deps.registry.healthy(worker.config.heartbeatTimeoutSeconds * 1000, clock.now(), REGISTRY_VIEW_MAX_AGE_MS);
    deputy = healthy.map((n) => n.nodeId).find((nodeId) => nodeId !== identity.nodeId);
  };
  const lease = new LeaderLease(deps.doc, names.controlTable, identity.nodeId, LEADER_LEASE_MS, { deputy: () => deputy });
  const rebalancer = new Rebalancer({
    moves: new ReplicaMoves(deps.doc, names.ledgerTable, { onAssigned: nudge }),
    // The registry read of the sweep that just ran (at most a second old): no read of its own.
    nodes: async () => (await deps.registry.healthy(worker.config.heartbeatTimeoutSeconds * 1000, clock.now(), REGISTRY_VIEW_MAX_AGE_MS)).map(placementOf),
    replicationFactor: () => worker.config.replicationFactor,
    assignmentsPerSecond: () => worker.config.rebalanceAssignmentsPerSecond,
    leading: () => lease.currentToken !== undefined,
    clock,
    log,
  });
  return new LeaderDuties({
    lease,
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
          nudge,
        },
        recoveries,
        clock.now(),
      ),
    afterSweep: async () => {
      await lagging.nudge();
      await chooseDeputy().catch(() => undefined);
    },
    onLeaderSweep: deps.onLeaderSweep,
    chores: () => chores.run(),
    rebalancer,
    clock,
    log,
  });
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
