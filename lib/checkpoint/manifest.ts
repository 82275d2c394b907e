import { z } from 'zod';
import { checkFileName, checkJobName, checkSaveId } from './layout';

/** Format tag of the hand-off manifest a training process writes into the spool. */
export const PART_FORMAT = 'shardline.checkpoint-part/v1';
/** Format tag of the manifest of a durable part (in S3, and in the spool's status file). */
export const DURABLE_FORMAT = 'shardline.checkpoint-durable/v1';

const Retention = z.object({ keepLast: z.number().int().positive(), keepEvery: z.number().int().positive().optional() });

const SpoolManifestSchema = z.object({
  format: z.literal(PART_FORMAT),
  job: z.string(),
  step: z.number().int().nonnegative(),
  rank: z.number().int().nonnegative(),
  worldSize: z.number().int().positive(),
  /** Restart count of the training job (torchelastic's TORCHELASTIC_RESTART_COUNT by default): a newer attempt replaces an older one's parts of a step not yet complete. */
  attempt: z.number().int().nonnegative(),
  saveId: z.string(),
  savedAt: z.string(),
  files: z
    .array(
      z.object({
        name: z.string(),
        bytes: z.number().int().nonnegative(),
        /** Present when the training process hashed the bytes itself (`hash_on_save`); checked on upload. */
        sha256: z
          .string()
          .regex(/^[a-f0-9]{64}$/)
          .optional(),
      }),
    )
    .min(1),
  metadata: z.record(z.string(), z.unknown()).default({}),
  /** The job's retention, applied by the agent that commits a step. */
  retention: Retention.optional(),
  host: z.string().optional(),
  pid: z.number().int().optional(),
});

/** What a training process hands to the agent: the part's files and who saved it. */
export type SpoolManifest = z.infer<typeof SpoolManifestSchema>;
export type RetentionSpec = z.infer<typeof Retention>;

/** Parses a spool manifest; throws with the reason for anything malformed (it is never uploaded). */
export function parseSpoolManifest(text: string): SpoolManifest {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error('checkpoint part manifest is not JSON');
  }
  const result = SpoolManifestSchema.safeParse(json);
  if (!result.success) throw new Error(`malformed checkpoint part manifest: ${result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
  const m = result.data;
  checkJobName(m.job);
  checkSaveId(m.saveId);
  if (m.rank >= m.worldSize) throw new Error(`malformed checkpoint part manifest: rank ${m.rank} is not below worldSize ${m.worldSize}`);
  const names = new Set<string>();
  for (const f of m.files) {
    checkFileName(f.name);
    if (names.has(f.name)) throw new Error(`malformed checkpoint part manifest: file '${f.name}' listed twice`);
    names.add(f.name);
  }
  return m;
}

/** One file of a durable part: where it is and how to check it, whole and per multipart part. */
export interface DurableFile {
  name: string;
  key: string;
  bytes: number;
  /** Hex sha256 of the whole file. */
  sha256: string;
  /** Bytes per multipart part (the last one may be shorter). */
  partSize: number;
  /** Hex sha256 of each part, in order: a restore can repair one bad part from another copy. */
  parts: string[];
}

/** The manifest of a durable part, stored beside its files in S3 (and in the spool's status file). */
export interface DurableManifest {
  format: typeof DURABLE_FORMAT;
  job: string;
  step: number;
  rank: number;
  worldSize: number;
  attempt: number;
  saveId: string;
  bucket: string;
  savedAt: string;
  durableAt: string;
  /** The node whose agent uploaded it. */
  node: string;
  bytes: number;
  metadata: Record<string, unknown>;
  files: DurableFile[];
}

/** States a part's status file moves through (written by the agent, read by `wait_durable`). */
export type PartStatusState = 'UPLOADING' | 'DURABLE' | 'COMPLETE' | 'FAILED';

/** The spool's status file of one part. */
export interface PartStatus {
  state: PartStatusState;
  saveId: string;
  node: string;
  at: string;
  /** Why the part failed (FAILED only): it will not be retried. */
  error?: string;
  /** DURABLE and COMPLETE: what is in S3. */
  durable?: DurableManifest;
  /** COMPLETE: when the step was committed. */
  completedAt?: string;
}
