import type { CheckpointRegistry, PartItem, StepItem } from './registry';

/** One step of a job as operators see it. */
export interface StepView {
  step: number;
  state: StepItem['state'];
  attempt: number;
  worldSize: number;
  /** Ranks of the step's attempt whose part is durable. */
  ranksDurable: number;
  createdAt: string;
  completedAt?: string;
  committedBy?: string;
}

/** A job's checkpoints: every step, its newest complete one, and the parts being uploaded now. */
export interface JobView {
  job: string;
  steps: StepView[];
  latestComplete?: number;
  uploading: Array<Pick<PartItem, 'step' | 'rank' | 'node' | 'bytes' | 'saveId'> & { startedAt: string }>;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());

export function stepViewOf(s: StepItem): StepView {
  return {
    step: s.step,
    state: s.state,
    attempt: s.attempt,
    worldSize: s.worldSize,
    ranksDurable: s.ranks?.size ?? 0,
    createdAt: iso(s.createdAt) as string,
    ...(s.completedAt ? { completedAt: iso(s.completedAt), committedBy: s.committedBy } : {}),
  };
}

/** Reads a job's steps and the parts being uploaded (two queries). */
export async function readJobView(registry: CheckpointRegistry, job: string): Promise<JobView> {
  const [steps, parts] = await Promise.all([registry.steps(job), registry.pendingParts(job)]);
  const complete = steps.filter((s) => s.state === 'COMPLETE').map((s) => s.step);
  return {
    job,
    steps: steps.map(stepViewOf),
    ...(complete.length ? { latestComplete: Math.max(...complete) } : {}),
    uploading: parts.map((p) => ({ step: p.step, rank: p.rank, node: p.node, bytes: p.bytes, saveId: p.saveId, startedAt: iso(p.startedAt) as string })),
  };
}
