import type { StepState } from './commit-rule';

/** Which steps of a job to keep. */
export interface RetentionPolicy {
  /** The newest K complete steps are kept (at least 1). */
  keepLast: number;
  /** Also keep every complete step that is a multiple of N (e.g. 1000 for long-term milestones). */
  keepEvery?: number;
  /**
   * An incomplete step older than the newest complete one is pruned only when it was started this
   * long ago (a slow rank may still finish it). @default 1 hour
   */
  incompleteGraceMs?: number;
}

/** What retention needs to know of a step. */
export interface StepSummary {
  step: number;
  state: StepState;
  /** When the step's first part became durable, epoch ms. */
  createdAt: number;
}

export const DEFAULT_INCOMPLETE_GRACE_MS = 60 * 60 * 1000;

/**
 * The steps to prune, oldest first. Only ever behind a newer complete step: with no complete step
 * nothing is pruned (a pruning that was interrupted is finished); the newest `keepLast` complete
 * steps and every `keepEvery`-th complete step stay; an incomplete step newer than the newest
 * complete one is never pruned.
 */
export function choosePrunable(steps: StepSummary[], policy: RetentionPolicy, now: number): number[] {
  if (!Number.isInteger(policy.keepLast) || policy.keepLast < 1) throw new Error(`keepLast must be a positive integer, not ${policy.keepLast}`);
  if (policy.keepEvery !== undefined && (!Number.isInteger(policy.keepEvery) || policy.keepEvery < 1)) throw new Error(`keepEvery must be a positive integer, not ${policy.keepEvery}`);
  const grace = policy.incompleteGraceMs ?? DEFAULT_INCOMPLETE_GRACE_MS;
  const complete = steps.filter((s) => s.state === 'COMPLETE').sort((a, b) => b.step - a.step);
  const newest = complete[0]?.step;
  const kept = new Set(complete.slice(0, policy.keepLast).map((s) => s.step));
  const prune = steps.filter((s) => {
    if (s.state === 'PRUNING') return true;
    if (newest === undefined || s.step >= newest) return false;
    if (s.state === 'COMPLETE') return !kept.has(s.step) && !(policy.keepEvery !== undefined && s.step % policy.keepEvery === 0);
    return now - s.createdAt >= grace;
  });
  return prune.map((s) => s.step).sort((a, b) => a - b);
}
