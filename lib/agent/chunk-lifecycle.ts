/**
 * The life of one chunk on a worker: lease it in the ledger, keep the lease and the message alive
 * while working, process it, commit conditionally on the lease, then delete the message and
 * finalize the object; or, when the attempt fails, give the chunk back the way its failure asks.
 */
import type { ChunkMessage } from '../chunking/chunk';
import type { PlacementNode } from '../cluster/placement';
import type { ChunkLease, LeaseOutcome } from '../ledger/chunk-ledger';
import { finalizeObjectIfComplete } from '../ledger/manifest';
import { processChunkFromS3, type ChunkOutcome } from './chunk-processor';
import { chunkLogKeys, type ChunkReport, type ChunkWorkerDeps, type LeasedChunk } from './chunk-work';
import { commitChunk } from './chunk-commit';
import { giveBackFailedChunk } from './chunk-failure';
import { PLACEMENT_VIEW_MAX_AGE_MS } from './agent-deps';
import { realClock, type Clock } from './clock';
import { classifyChunkError, InjectedFaultError, type ChunkPhase } from './error-kind';
import { startKeepAlive } from './lease-keep-alive';
import { withThrottleRetries } from './throttle-backoff';
import { deleteMessage, setVisibility } from './work-message';

/** The lease outcome, or the report of a lease that could not even be tried. */
export type Leased = LeaseOutcome | { outcome: 'not-leased'; report: ChunkReport };

/** Takes the chunk's lease in the ledger (conditional write). */
export async function leaseChunk(deps: ChunkWorkerDeps, msg: ChunkMessage, receipt: string, leaseMs: number, ids: LeasedChunk['reported']): Promise<Leased> {
  try {
    return await deps.chunks.lease(msg, deps.nodeId, receipt, leaseMs, (deps.clock ?? realClock).now());
  } catch (err) {
    // Nothing is held yet: the message returns after its receive visibility and is tried again.
    const error = (err as Error).message ?? String(err);
    const errorKind = classifyChunkError(err, 'lease');
    deps.log('error', 'chunk not leased; it is tried again after its receive visibility', { ...chunkLogKeys(msg), error, errorKind });
    return { outcome: 'not-leased', report: { result: 'failed', ...ids, error, errorKind } };
  }
}

/** Works a leased chunk to its commit, keeping the lease and the message alive meanwhile. */
export async function workLeasedChunk(deps: ChunkWorkerDeps, job: LeasedChunk): Promise<ChunkReport> {
  const clock = deps.clock ?? realClock;
  const { msg, lease, receipt, leaseMs, started, reported } = job;
  const logKeys = chunkLogKeys(msg, lease.attempt);
  let phase: ChunkPhase = 'work';
  const stages: Record<string, number> = { leaseMs: clock.now() - started };
  const keepAlive = startKeepAlive({ ...deps, clock }, lease, receipt, leaseMs, logKeys);
  const backOff = throttleBackOff(deps, logKeys);
  let outcome: ChunkOutcome | undefined;
  // Off the critical path: the message's visibility is extended to the lease while the GET runs,
  // and the placement targets are read (at most a second old) while the chunk is worked on.
  const visible = setVisibility(deps, receipt, Math.ceil(leaseMs / 1000)).catch(() => undefined);
  const nodes = deps.placementNodes();
  const nodesReadAt = clock.now();
  nodes.catch(() => undefined); // a failed read fails the commit below, not the process
  try {
    let t = clock.now();
    outcome = await processLeased(deps, clock, msg, lease, backOff);
    await visible;
    keepAlive.assertHeld();
    stages.workMs = clock.now() - t;
    t = clock.now();
    phase = 'commit';
    const committed = await commitChunk(deps, msg, lease, outcome, { durationMs: () => clock.now() - started, now: clock.now(), backOff, nodes: placementView(deps, clock, nodes, nodesReadAt) });
    stages.commitMs = clock.now() - t;
    // Committed: the chunk is done whatever happens next, so the rest runs off its critical path.
    // A message that cannot be deleted (its receipt went stale) comes back as a duplicate and is
    // deleted then; an object this node fails to finalize is finalized by the leader's sweep.
    inBackground(deps, afterCommit(deps, receipt, msg, committed.objectDone !== false, logKeys));
    return { result: 'processed', ...reported, outcome, queueWaitMs: started - job.sentAt, totalMs: clock.now() - started, stages };
  } catch (err) {
    return await giveBackFailedChunk(deps, job, { err, phase, outcome, stages, logKeys });
  } finally {
    keepAlive.stop();
  }
}

/** Downloads, processes and uploads the chunk, waiting out throttling with its lease kept. */
async function processLeased(deps: ChunkWorkerDeps, clock: Clock, msg: ChunkMessage, lease: ChunkLease, backOff: ReturnType<typeof throttleBackOff>): Promise<ChunkOutcome> {
  if (deps.failKeys?.test(msg.key)) throw new InjectedFaultError(`injected fault: key matches ${deps.failKeys}`);
  if (deps.slowMs) await clock.sleep(deps.slowMs);
  const outcome = await withThrottleRetries(() => processChunkFromS3({ ...deps, abandoned: deps.stopNow }, msg, lease.attempt), backOff);
  // The injected slowness stands for a slow transform: it is processing time.
  return deps.slowMs ? { ...outcome, timings: { ...outcome.timings, processMs: outcome.timings.processMs + deps.slowMs } } : outcome;
}

/** Throttling is back pressure: logged, told to the agent (it lowers its concurrency), and waited out. */
function throttleBackOff(deps: Pick<ChunkWorkerDeps, 'log' | 'onThrottle'>, logKeys: Record<string, unknown>) {
  return {
    onThrottle: (err: unknown, retry: number) => {
      deps.log('warn', 'throttled; backing off with jitter and keeping the lease', { ...logKeys, retry, error: (err as Error).name ?? String(err) });
      deps.onThrottle?.(err);
    },
  };
}

/**
 * The placement targets read when the chunk was leased, unless that read is older than
 * `PLACEMENT_VIEW_MAX_AGE_MS` (a long chunk): then a fresh one, so that no shard lands on a node
 * that announced it drains (see `PLACEMENT_SETTLE_MS`).
 */
function placementView(deps: ChunkWorkerDeps, clock: Clock, nodes: Promise<PlacementNode[]>, readAt: number): Promise<PlacementNode[]> {
  return clock.now() - readAt <= PLACEMENT_VIEW_MAX_AGE_MS ? nodes : deps.placementNodes();
}

/** Deletes the message and, when the commit said the object is complete, finalizes it (the only read of the object item). */
async function afterCommit(deps: ChunkWorkerDeps, receipt: string, msg: ChunkMessage, objectDone: boolean, logKeys: Record<string, unknown>): Promise<void> {
  const deleted = deleteMessage(deps, receipt).catch((err) =>
    deps.log('warn', 'committed chunk: message not deleted (a later receive deletes it as a duplicate)', { ...logKeys, error: (err as Error).message }),
  );
  if (objectDone) {
    await finalizeObjectIfComplete(deps, msg.objectId).catch((err) =>
      deps.log('warn', 'committed chunk: object not finalized here (the leader sweep finalizes it)', { ...logKeys, error: (err as Error).message }),
    );
  }
  await deleted;
}

const background = new WeakMap<ChunkWorkerDeps, Set<Promise<void>>>();

/** Runs `work` past the chunk's report; `afterCommitsSettled` waits for it (a drain). */
function inBackground(deps: ChunkWorkerDeps, work: Promise<void>): void {
  let pending = background.get(deps);
  if (!pending) background.set(deps, (pending = new Set()));
  const tracked = work.finally(() => pending.delete(tracked));
  pending.add(tracked);
}

/** Resolves once the message deletes and object finalizations started after commits have ended. */
export async function afterCommitsSettled(deps: ChunkWorkerDeps): Promise<void> {
  await Promise.all(background.get(deps) ?? []);
}
