import { resolveTarget, type Target, type TargetOptions } from '../../lib/aws/target';
import { readJobView, stepViewOf, type JobView } from '../../lib/checkpoint/job-view';
import { checkJobName } from '../../lib/checkpoint/layout';
import { applyRetention } from '../../lib/checkpoint/prune';
import { CheckpointRegistry, type PartItem, type StepItem } from '../../lib/checkpoint/registry';
import { restoreCheckpoint, type RestoredFile } from '../../lib/checkpoint/restore';
import { choosePrunable } from '../../lib/checkpoint/retention';
import { formatBytes } from '../../lib/units';

type JobOptions = TargetOptions & { job: string; json?: boolean };

const registryOf = (t: Target) => new CheckpointRegistry(t.clients.doc, t.resources.ledgerTable);

/** `shardline checkpoints list --job J`: every step, its state and durable ranks, and the uploads in flight. */
export async function checkpointsList(opts: JobOptions): Promise<void> {
  const target = await resolveTarget(opts);
  const view = await readJobView(registryOf(target), checkJobName(opts.job));
  console.log(opts.json ? JSON.stringify(view, null, 2) : renderJob(view));
}

/** `shardline checkpoints show --job J [--step S]`: one step (the newest complete by default) and its parts. */
export async function checkpointsShow(opts: JobOptions & { step?: number }): Promise<void> {
  const target = await resolveTarget(opts);
  const registry = registryOf(target);
  const job = checkJobName(opts.job);
  const stepNo = opts.step ?? (await registry.latest(job))?.step;
  if (stepNo === undefined) throw new Error(`job ${job} has no complete checkpoint (shardline checkpoints list --job ${job})`);
  const [step, parts] = await Promise.all([registry.step(job, stepNo), registry.parts(job, stepNo)]);
  if (!step) throw new Error(`job ${job} has no step ${stepNo}`);
  if (opts.json) console.log(JSON.stringify({ ...stepViewOf(step), parts }, null, 2));
  else console.log(renderStep(job, step, parts, target.resources.processedBucket));
}

/** `shardline checkpoints restore --job J --dest DIR`: a complete step's files, every part sha256-checked. */
export async function checkpointsRestore(opts: JobOptions & { step?: number; dest: string; rank?: number; localCopy?: string[] }): Promise<void> {
  const target = await resolveTarget(opts);
  const result = await restoreCheckpoint(
    { s3: target.clients.s3, registry: registryOf(target), bucket: target.resources.processedBucket },
    { job: checkJobName(opts.job), step: opts.step, ranks: opts.rank === undefined ? undefined : [opts.rank], dest: opts.dest, localCopies: opts.localCopy },
  );
  console.log(opts.json ? JSON.stringify(result, null, 2) : renderRestore(opts.job, result.step, result.files));
}

/** `shardline checkpoints prune --job J --keep-last K`: deletes steps behind a newer complete one, objects and items. */
export async function checkpointsPrune(opts: JobOptions & { keepLast: number; keepEvery?: number; dryRun?: boolean }): Promise<void> {
  const target = await resolveTarget(opts);
  const registry = registryOf(target);
  const job = checkJobName(opts.job);
  const policy = { keepLast: opts.keepLast, keepEvery: opts.keepEvery };
  const pruned = opts.dryRun
    ? choosePrunable(
        (await registry.steps(job)).map((s) => ({ step: s.step, state: s.state, createdAt: s.createdAt })),
        policy,
        Date.now(),
      )
    : await applyRetention({ s3: target.clients.s3, registry, bucket: target.resources.processedBucket, now: Date.now }, job, policy);
  if (opts.json) console.log(JSON.stringify({ job, dryRun: Boolean(opts.dryRun), pruned }));
  else console.log(pruned.length === 0 ? `nothing to prune in ${job}` : `${opts.dryRun ? 'would prune' : 'pruned'} ${pruned.length} step(s) of ${job}: ${pruned.join(', ')}`);
}

export function renderJob(view: JobView): string {
  if (view.steps.length === 0 && view.uploading.length === 0) return `job ${view.job} has no checkpoints`;
  const rows = view.steps.map((s) => [String(s.step), s.state, `${s.ranksDurable}/${s.worldSize}`, String(s.attempt), s.createdAt, s.completedAt ?? '-', s.committedBy ?? '-']);
  const lines = [`job ${view.job}: newest complete step ${view.latestComplete ?? 'none'}`, table([['STEP', 'STATE', 'DURABLE', 'ATTEMPT', 'STARTED', 'COMPLETED', 'COMMITTED BY'], ...rows])];
  if (view.uploading.length > 0) {
    lines.push('', 'uploading now:', table([['STEP', 'RANK', 'NODE', 'BYTES', 'SINCE'], ...view.uploading.map((u) => [String(u.step), String(u.rank), u.node, formatBytes(u.bytes), u.startedAt])]));
  }
  return lines.join('\n');
}

export function renderStep(job: string, step: StepItem, parts: PartItem[], bucket: string): string {
  const bytes = parts.filter((p) => p.attempt === step.attempt).reduce((n, p) => n + p.bytes, 0);
  const lines = [
    `job ${job} step ${step.step}: ${step.state}, ${step.ranks?.size ?? 0}/${step.worldSize} ranks durable (attempt ${step.attempt}), ${formatBytes(bytes)}`,
    step.completedAt ? `committed ${new Date(step.completedAt).toISOString()} by ${step.committedBy}` : 'not committed',
    `objects under s3://${bucket}/checkpoints/${job}/${String(step.step).padStart(12, '0')}/`,
    '',
    table([
      ['RANK', 'STATE', 'ATTEMPT', 'NODE', 'BYTES', 'FILES', 'DURABLE AT'],
      ...parts.map((p) => [
        String(p.rank),
        p.state,
        String(p.attempt),
        p.node,
        formatBytes(p.bytes),
        (p.files ?? []).map((f) => f.name).join(' '),
        p.durableAt ? new Date(p.durableAt).toISOString() : '-',
      ]),
    ]),
  ];
  return lines.join('\n');
}

export function renderRestore(job: string, step: number, files: RestoredFile[]): string {
  const repaired = files.reduce((n, f) => n + f.repairedParts, 0);
  const rows = files.map((f) => [String(f.rank), f.name, formatBytes(f.bytes), f.source, f.sha256.slice(0, 16), f.path]);
  return [
    `restored ${job} step ${step}: ${files.length} file(s), ${formatBytes(files.reduce((n, f) => n + f.bytes, 0))}, every part sha256-checked${repaired ? `; ${repaired} bad part(s) read from another copy` : ''}`,
    table([['RANK', 'FILE', 'BYTES', 'FROM', 'SHA256', 'PATH'], ...rows]),
  ].join('\n');
}

function table(rows: string[][]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
