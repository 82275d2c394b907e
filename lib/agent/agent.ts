import { CONTROL_POLL_MS } from '../control/control-watcher';
import { PLACEMENT_VIEW_MAX_AGE_MS, REGISTRY_VIEW_MAX_AGE_MS, type AgentDeps } from './agent-deps';
import { wireAgent, type AgentParts } from './agent-wiring';
import { realClock, type Clock } from './clock';
import { HANDOFF_DEADLINE_MS } from './replica-handoff';

export { REGISTRY_VIEW_MAX_AGE_MS, type AgentDeps } from './agent-deps';
export { LEADER_LEASE_MS } from './leader-duties';
export { concurrencyFor } from './work-consumer';
export { RECEIVE_VISIBILITY_SECONDS } from './work-message';

/**
 * How long after announcing DRAINING a node may still be given a shard: other nodes place shards
 * from a registry read at most a second old when their chunk was leased, used for at most
 * `PLACEMENT_VIEW_MAX_AGE_MS`, and a commit takes a few round trips after it.
 */
export const PLACEMENT_SETTLE_MS = REGISTRY_VIEW_MAX_AGE_MS + PLACEMENT_VIEW_MAX_AGE_MS + 2000;

/** How long before a drain's deadline the replica handoff ends, leaving time to leave the registry and exit. */
export const DEADLINE_MARGIN_MS = 5000;

/** How a drain ends. */
export interface DrainOptions {
  /** When the host goes away (epoch ms: a Spot notice's time, a lifecycle hook's timeout); the handoff ends `DEADLINE_MARGIN_MS` before. @default 60 s from the start of the drain */
  deadline?: number;
}

/**
 * The node agent: joins the registry and heartbeats every second, long-polls the work queue with
 * a concurrency that follows its capacity, pulls the shards placed on it, takes its turn as leader,
 * obeys the control table, and on `drain()` stops taking work, finishes what is in flight, hands
 * its replicas off to other nodes (copy first, then drop), and leaves the cluster. Each of those is
 * a part with one job (see `AgentParts`); the agent only starts and stops them in order.
 */
export class Agent {
  private readonly parts: AgentParts;
  private stopping = false;

  /** Builds the parts over real clients, on the wall clock unless told otherwise. */
  constructor(deps: AgentDeps, clock?: Clock);
  /** Composes parts built elsewhere (tests build them over in-memory fakes). */
  constructor(deps: Pick<AgentDeps, 'identity' | 'log'>, clock: Clock, parts: AgentParts);
  constructor(
    private readonly deps: Pick<AgentDeps, 'identity' | 'log'>,
    private readonly clock: Clock = realClock,
    parts?: AgentParts,
  ) {
    this.parts = parts ?? wireAgent(deps as AgentDeps, clock);
  }

  /** Chunks this node is working on right now (metrics). */
  get chunksInFlight(): number {
    return this.parts.work.inFlight;
  }

  /** Whether this node holds the leader lease (as of its last renewal). */
  get leading(): boolean {
    return this.parts.leader.leading;
  }

  /** Chunks this node works on at once: the config in force, lowered while S3 or DynamoDB throttle. */
  get concurrency(): number {
    return this.parts.work.concurrency;
  }

  /** Joins the cluster and starts the heartbeat, leader election, the workers and the replica puller. */
  async start(): Promise<void> {
    const { control, membership, work, replicas, leader } = this.parts;
    // The state and config in force at start are applied before joining; changes are obeyed
    // only after it (obeying heartbeats, which needs the registry item join creates).
    await control.refresh();
    await membership.join();
    control.follow(CONTROL_POLL_MS);
    await this.parts.readQueueRules();
    membership.start();
    leader.start();
    work.start();
    replicas.start();
    await this.parts.checkpoints?.start();
    const view = control.current();
    this.deps.log('info', 'agent started', { ...this.deps.identity, concurrency: work.concurrency, desired: view.state.desired, configVersion: view.configVersion });
  }

  /**
   * Stops taking work and announces DRAINING, so that no new shard is placed here; hands this
   * node's replicas off to the other nodes while in-flight chunks finish (the leaving node does it
   * itself: no leader and no heartbeat timeout is waited for); then hands over the lead and leaves
   * the registry.
   */
  async drain(opts: DrainOptions = {}): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { control, membership, work, replicas, leader, handoff } = this.parts;
    const deadline = opts.deadline !== undefined ? opts.deadline - DEADLINE_MARGIN_MS : this.clock.now() + HANDOFF_DEADLINE_MS;
    this.deps.log('info', 'draining', { inFlight: work.inFlight, handoffDeadline: new Date(deadline).toISOString() });
    // A checkpoint upload in flight may finish until the deadline; past it, it resumes from the spool on restart.
    const uploads = this.parts.checkpoints?.stop(deadline);
    // No new work from now on; heartbeats and the leader lease go on while in-flight chunks finish.
    const finished = Promise.all([work.drain(), replicas.stop()]);
    await membership.announceDraining().catch(() => undefined);
    const settled = Promise.all([finished, this.clock.sleep(PLACEMENT_SETTLE_MS)]);
    await handoff.run({ deadline, settled }).catch((err) => this.deps.log('error', 'replica handoff failed', { error: (err as Error).message }));
    await finished;
    await uploads;
    membership.stop();
    leader.stop();
    await leader.recoveriesDone(); // hand back a dead node's work before leaving the lead
    control.stop();
    await leader.release();
    await membership.leave();
    this.deps.log('info', 'drained and left the cluster', { chunksDone: work.chunksDone });
  }
}
