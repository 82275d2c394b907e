/** Training checkpoints as `status` and the dashboard show them: each job's last complete step and the uploads in flight. */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { scanAll } from '../aws/dynamo-pages';
import { CHECKPOINT_PK_PREFIX, jobViewsOf, type JobView } from '../checkpoint/job-view';

/** The registry attributes the rows need (a projection keeps scan pages small). */
export const CHECKPOINT_ATTRIBUTES = [
  'pk',
  'sk',
  'job',
  'step',
  'rank',
  'state',
  'worldSize',
  'attempt',
  'ranks',
  'createdAt',
  'completedAt',
  'committedBy',
  'node',
  'bytes',
  'saveId',
  'startedAt',
] as const;

/** One job's checkpoints at a glance. */
export interface CheckpointStatusRow {
  job: string;
  /** The newest step complete for every rank (what `latest()` returns), and when it completed. */
  latestComplete?: number;
  latestCompletedAt?: string;
  /** Steps newer than the latest complete one that are not complete yet: ranks durable of the world size. */
  pendingSteps: Array<{ step: number; ranksDurable: number; worldSize: number }>;
  /** Parts being uploaded (registry PENDING), oldest step first, with how long since their upload started. */
  uploading: Array<JobView['uploading'][number] & { ageMs: number }>;
}

/** The rows of every job from checkpoint registry items (items of other partitions are ignored). */
export function checkpointRows(items: ReadonlyArray<Record<string, unknown>>, now: number): CheckpointStatusRow[] {
  return jobViewsOf(items).map((v) => {
    const latest = v.latestComplete === undefined ? undefined : v.steps.find((s) => s.step === v.latestComplete);
    return {
      job: v.job,
      ...(latest ? { latestComplete: latest.step, ...(latest.completedAt ? { latestCompletedAt: latest.completedAt } : {}) } : {}),
      pendingSteps: v.steps
        .filter((s) => s.state === 'PENDING' && (v.latestComplete === undefined || s.step > v.latestComplete))
        .reverse()
        .map((s) => ({ step: s.step, ranksDurable: s.ranksDurable, worldSize: s.worldSize })),
      uploading: v.uploading.map((u) => ({ ...u, ageMs: Math.max(0, now - Date.parse(u.startedAt)) })),
    };
  });
}

/** Reads every job's checkpoint rows: one scan of the ledger table, filtered to the registry's items and projected. */
export async function collectCheckpointRows(doc: DynamoDBDocumentClient, ledgerTable: string, now = Date.now()): Promise<CheckpointStatusRow[]> {
  const items = await scanAll<Record<string, unknown>>(doc, {
    TableName: ledgerTable,
    FilterExpression: 'begins_with(#pk, :ckpt)',
    ProjectionExpression: CHECKPOINT_ATTRIBUTES.map((a) => `#${a}`).join(', '),
    ExpressionAttributeNames: Object.fromEntries(CHECKPOINT_ATTRIBUTES.map((a) => [`#${a}`, a])),
    ExpressionAttributeValues: { ':ckpt': CHECKPOINT_PK_PREFIX },
  });
  return checkpointRows(items, now);
}

/** The projection of a scan that serves both a view's own attributes and the checkpoint rows (no path twice). */
export function withCheckpointAttributes(attributes: readonly string[]): string[] {
  return [...new Set([...attributes, ...CHECKPOINT_ATTRIBUTES])];
}

const size = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(2)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);

/** The rows as plain-text lines (a `CHECKPOINTS` section; nothing when no job has checkpoints). */
export function renderCheckpointRows(rows: readonly CheckpointStatusRow[]): string[] {
  if (rows.length === 0) return [];
  const lines = [`CHECKPOINTS (${rows.length} jobs)`, ['JOB', 'LATEST COMPLETE', 'COMPLETED AT', 'NOT YET COMPLETE', 'UPLOADING'].join('\t')];
  for (const r of rows) {
    lines.push(
      [
        r.job,
        r.latestComplete ?? '-',
        r.latestCompletedAt ?? '-',
        r.pendingSteps.map((s) => `${s.step} (${s.ranksDurable}/${s.worldSize} ranks)`).join(', ') || '-',
        r.uploading.length ? `${r.uploading.length} parts, ${size(r.uploading.reduce((n, u) => n + u.bytes, 0))}` : '-',
      ].join('\t'),
    );
    for (const u of r.uploading) lines.push(`  ${r.job} step ${u.step} rank ${u.rank}: ${size(u.bytes)} from ${u.node}, uploading for ${(u.ageMs / 1000).toFixed(0)} s`);
  }
  return lines;
}
