import type { S3Client } from '@aws-sdk/client-s3';
import { s3Keys } from './layout';
import type { CheckpointRegistry } from './registry';
import { choosePrunable, type RetentionPolicy } from './retention';
import { deleteCurrentObjects } from './s3-objects';

export interface PruneDeps {
  s3: S3Client;
  registry: CheckpointRegistry;
  bucket: string;
  now: () => number;
}

/**
 * Applies `policy` to a job: picks the steps to prune (`choosePrunable`), then for each one marks
 * it PRUNING and drops its COMPLETE item — conditional on a newer step being COMPLETE at that very
 * moment — deletes its objects (its `_COMPLETE.json` first; old versions expire by lifecycle), and its items last.
 * A pruning cut short is finished by the next one. Returns the steps pruned.
 */
export async function applyRetention(deps: PruneDeps, job: string, policy: RetentionPolicy): Promise<number[]> {
  const steps = await deps.registry.steps(job);
  const summaries = steps.map((s) => ({ step: s.step, state: s.state, createdAt: s.createdAt }));
  const chosen = choosePrunable(summaries, policy, deps.now());
  const newest = Math.max(-1, ...steps.filter((s) => s.state === 'COMPLETE').map((s) => s.step));
  const pruned: number[] = [];
  for (const step of chosen) {
    const state = steps.find((s) => s.step === step)?.state;
    if (state !== 'PRUNING' && !(await deps.registry.beginPrune(job, step, newest, deps.now()))) continue;
    await deleteCurrentObjects(deps.s3, deps.bucket, s3Keys.step(job, step), s3Keys.complete(job, step));
    await deps.registry.finishPrune(job, step);
    pruned.push(step);
  }
  return pruned;
}
