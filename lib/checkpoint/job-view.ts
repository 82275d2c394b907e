import { registryKeys } from './layout';
import type { CheckpointRegistry, PartItem, StepItem } from './registry';

/** The partition key prefix of every checkpoint registry item (`CKPT#<job>`). */
export const CHECKPOINT_PK_PREFIX = registryKeys.pk('');

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
  return jobViewOf(job, steps, parts);
}

/** A job's view from its step items and its parts (only the PENDING ones count as uploading). */
export function jobViewOf(job: string, steps: StepItem[], parts: PartItem[]): JobView {
  const complete = steps.filter((s) => s.state === 'COMPLETE').map((s) => s.step);
  return {
    job,
    steps: [...steps].sort((a, b) => a.step - b.step).map(stepViewOf),
    ...(complete.length ? { latestComplete: Math.max(...complete) } : {}),
    uploading: parts
      .filter((p) => p.state === 'PENDING')
      .sort((a, b) => a.step - b.step || a.rank - b.rank)
      .map((p) => ({ step: p.step, rank: p.rank, node: p.node, bytes: p.bytes, saveId: p.saveId, startedAt: iso(p.startedAt) as string })),
  };
}

/** Every job's view from checkpoint registry items of the ledger table (e.g. one scan), by job name. */
export function jobViewsOf(items: ReadonlyArray<Record<string, unknown>>): JobView[] {
  const byJob = new Map<string, { steps: StepItem[]; parts: PartItem[] }>();
  for (const item of items) {
    const pk = String(item.pk ?? '');
    const sk = String(item.sk ?? '');
    if (!pk.startsWith(CHECKPOINT_PK_PREFIX)) continue;
    const job = pk.slice(CHECKPOINT_PK_PREFIX.length);
    let entry = byJob.get(job);
    if (!entry) byJob.set(job, (entry = { steps: [], parts: [] }));
    if (sk.startsWith('STEP#')) entry.steps.push(item as unknown as StepItem);
    else if (sk.startsWith('PART#')) entry.parts.push(item as unknown as PartItem);
  }
  return [...byJob.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([job, e]) => jobViewOf(job, e.steps, e.parts));
}
