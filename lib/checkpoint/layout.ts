/**
 * Where training checkpoints live: keys in the processed bucket, items in the ledger table, and
 * paths in a host's local spool directory. The Python client (`clients/python/shardline/
 * checkpoint_layout.py`) spells the same names; docs/checkpoints.md is the reference for both.
 *
 * A checkpoint is one `step` of one `job`; each rank of the job's world saves one part (a few files)
 * of it. Every save has a `saveId` (random, chosen by the training process), so the objects of a
 * save are never overwritten by another save of the same step and rank: a late upload of an old
 * attempt cannot clobber the bytes the registry points at.
 */

/** Prefix of every checkpoint object in the processed bucket (versioned). */
export const CHECKPOINTS_PREFIX = 'checkpoints/';

const JOB = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const FILE = /^[A-Za-z0-9._-]{1,255}$/;
const SAVE_ID = /^[a-f0-9]{8,64}$/;

/** A job name: 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit. */
export function checkJobName(job: string): string {
  if (!JOB.test(job)) throw new Error(`invalid checkpoint job name '${job}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return job;
}

/** A file name within a part: letters, digits, '.', '_' or '-' (no directories), not '.' or '..'. */
export function checkFileName(name: string): string {
  if (!FILE.test(name) || name === '.' || name === '..') throw new Error(`invalid checkpoint file name '${name}': use letters, digits, '.', '_' or '-' (no '/')`);
  return name;
}

/** A save id: 8-64 lowercase hex digits. */
export function checkSaveId(id: string): string {
  if (!SAVE_ID.test(id)) throw new Error(`invalid save id '${id}'`);
  return id;
}

/** A step or rank: a non-negative safe integer. */
export function checkIndex(what: string, n: unknown): number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) throw new Error(`invalid ${what} ${String(n)}: a non-negative integer`);
  return n;
}

/** Step numbers are zero-padded so that keys sort in step order. */
export const stepLabel = (step: number) => String(step).padStart(12, '0');
export const rankLabel = (rank: number) => `rank-${String(rank).padStart(5, '0')}`;

/** S3 keys of checkpoints (in the processed bucket). */
export const s3Keys = {
  job: (job: string) => `${CHECKPOINTS_PREFIX}${job}/`,
  step: (job: string, step: number) => `${CHECKPOINTS_PREFIX}${job}/${stepLabel(step)}/`,
  /** A file of one save of one rank's part. */
  file: (job: string, step: number, rank: number, saveId: string, name: string) => `${s3Keys.step(job, step)}${rankLabel(rank)}-${saveId}/${name}`,
  /** The durable manifest of one save (files, sizes, sha256 per file and per multipart part). */
  manifest: (job: string, step: number, rank: number, saveId: string) => `${s3Keys.step(job, step)}${rankLabel(rank)}-${saveId}.json`,
  /** Written after the step's conditional commit: S3-only readers trust a step only when it exists. */
  complete: (job: string, step: number) => `${s3Keys.step(job, step)}_COMPLETE.json`,
};

/**
 * The registry's items, in the ledger table (generic `pk`/`sk`), one partition per job: a step item
 * (`STEP#<step>`), one item per rank's part (`PART#<step>#RANK#<rank>`), and a `COMPLETE#<step>`
 * item written by the commit.
 */
export const registryKeys = {
  pk: (job: string) => `CKPT#${job}`,
  step: (job: string, step: number) => ({ pk: registryKeys.pk(job), sk: `STEP#${stepLabel(step)}` }),
  /** Parts live apart from steps (`PART#`), so that listing a job's steps reads no part item. */
  part: (job: string, step: number, rank: number) => ({ pk: registryKeys.pk(job), sk: `${registryKeys.partsOf(step)}${String(rank).padStart(5, '0')}` }),
  partsOf: (step: number) => `PART#${stepLabel(step)}#RANK#`,
  /** Exists only for COMPLETE steps: the newest one is a single query (`latest`). */
  complete: (job: string, step: number) => ({ pk: registryKeys.pk(job), sk: `COMPLETE#${stepLabel(step)}` }),
  stepPrefix: 'STEP#',
  completePrefix: 'COMPLETE#',
};

/** Paths in the host's spool directory, where training processes hand parts to the agent. */
export const spoolPaths = {
  /** Written by the agent when it starts: the bucket and table, so that training processes need no configuration. */
  agentFile: 'agent.json',
  /** Touched by `save()` after each hand-off: the agent watches for it, so a part is picked up at once rather than at the next scan. */
  handOffFile: '.handoff',
  stepDir: (job: string, step: number) => `${job}/${stepLabel(step)}`,
  /**
   * The files of one save of one rank's part. A save writes a new directory, so that saving a step
   * again never changes the files of an earlier save the agent may be uploading.
   */
  partDir: (job: string, step: number, rank: number, saveId: string) => `${job}/${stepLabel(step)}/${rankLabel(rank)}-${saveId}`,
  /** The hand-off: written last, by rename, by the training process. */
  manifest: (job: string, step: number, rank: number) => `${job}/${stepLabel(step)}/${rankLabel(rank)}.part.json`,
  /** Written back by the agent: UPLOADING, DURABLE, COMPLETE or FAILED. */
  status: (job: string, step: number, rank: number) => `${job}/${stepLabel(step)}/${rankLabel(rank)}.status.json`,
};

/** Parses a spool manifest's relative path back to its job, step and rank (undefined for any other file). */
export function parseSpoolManifestPath(rel: string): { job: string; step: number; rank: number } | undefined {
  const m = /^([^/]+)\/(\d{12})\/rank-(\d{5})\.part\.json$/.exec(rel);
  if (!m || !JOB.test(m[1])) return undefined;
  return { job: m[1], step: Number(m[2]), rank: Number(m[3]) };
}
