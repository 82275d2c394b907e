/**
 * The rules of the checkpoint registry, apart from DynamoDB: when a step is complete, and what
 * registering a durable part does to its step. `CheckpointRegistry` turns each into a conditional
 * write, so that a race between agents can only make a write fail, never break the rule.
 */

/** A step moves PENDING → COMPLETE (all ranks durable) → PRUNING (being deleted). */
export type StepState = 'PENDING' | 'COMPLETE' | 'PRUNING';

/** What the registry knows of a step. */
export interface StepView {
  state: StepState;
  worldSize: number;
  /** The attempt (training restart count) whose parts count towards completion. */
  attempt: number;
  /** Ranks whose part of this attempt is durable. */
  ranks: number[];
}

/** A durable part that is being registered. */
export interface PartClaim {
  rank: number;
  worldSize: number;
  attempt: number;
  saveId: string;
}

/**
 * What registering `part` does, given its step (undefined: none yet) and the rank's current part
 * item's save id and attempt, if any:
 * - `add`: the rank joins the step's durable ranks (first save of the step, or same attempt);
 * - `reset`: a newer attempt starts the step over, so that no complete step mixes attempts;
 * - `already`: this very save is registered (an agent resuming after a crash);
 * - `refuse`: a stale attempt, another world size, or a step already complete with other bytes.
 */
export type Registration = { action: 'add' } | { action: 'reset'; from: number } | { action: 'already'; complete: boolean } | { action: 'refuse'; reason: string };

export function registrationFor(step: StepView | undefined, part: PartClaim, current?: { saveId: string; attempt: number }): Registration {
  if (current?.saveId === part.saveId && step && step.attempt === part.attempt && step.ranks.includes(part.rank)) return { action: 'already', complete: step.state === 'COMPLETE' };
  if (!step) return { action: 'add' };
  if (step.state === 'PRUNING') return { action: 'refuse', reason: 'the step is being pruned' };
  if (step.state === 'COMPLETE') return { action: 'refuse', reason: `step already complete (attempt ${step.attempt}); a part of it cannot change` };
  if (part.attempt < step.attempt) return { action: 'refuse', reason: `stale attempt ${part.attempt}: the step is being saved by attempt ${step.attempt}` };
  if (part.attempt > step.attempt) return { action: 'reset', from: step.attempt };
  if (part.worldSize !== step.worldSize) return { action: 'refuse', reason: `world size ${part.worldSize} differs from the step's ${step.worldSize}` };
  return { action: 'add' };
}

/** A step may be committed once every rank 0..worldSize-1 of its attempt is durable, and only while PENDING. */
export function readyToCommit(step: StepView): boolean {
  if (step.state !== 'PENDING') return false;
  const ranks = new Set(step.ranks);
  if (ranks.size !== step.worldSize) return false;
  for (let r = 0; r < step.worldSize; r++) if (!ranks.has(r)) return false;
  return true;
}
