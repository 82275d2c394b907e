import { randomBytes } from 'node:crypto';
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { spoolPaths } from '../../../lib/checkpoint/layout';
import { PART_FORMAT, type RetentionSpec, type SpoolManifest } from '../../../lib/checkpoint/manifest';

/** What a training process does in `Checkpointer.save()`: the files into the spool, then the manifest by rename. */
export async function savePart(
  spool: string,
  part: { job: string; step: number; rank: number; worldSize: number; attempt?: number; files: Record<string, Buffer>; retention?: RetentionSpec },
): Promise<SpoolManifest> {
  const saveId = randomBytes(8).toString('hex');
  const dir = join(spool, spoolPaths.partDir(part.job, part.step, part.rank, saveId));
  await mkdir(dir, { recursive: true });
  for (const [name, bytes] of Object.entries(part.files)) await writeFile(join(dir, name), bytes);
  const manifest: SpoolManifest = {
    format: PART_FORMAT,
    job: part.job,
    step: part.step,
    rank: part.rank,
    worldSize: part.worldSize,
    attempt: part.attempt ?? 0,
    saveId,
    savedAt: new Date().toISOString(),
    files: Object.entries(part.files).map(([name, bytes]) => ({ name, bytes: bytes.length })),
    metadata: { note: `step ${part.step}` },
    ...(part.retention ? { retention: part.retention } : {}),
  };
  const path = join(spool, spoolPaths.manifest(part.job, part.step, part.rank));
  await mkdir(dirname(path), { recursive: true });
  await writeFile(`${path}.tmp`, JSON.stringify(manifest));
  await rename(`${path}.tmp`, path);
  return manifest;
}
