import { watch, type FSWatcher } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseSpoolManifestPath, spoolPaths, stepLabel } from './layout';
import type { PartStatus } from './manifest';

/** A part manifest in the spool, and which version of it (inode and mtime: a rename over it changes both). */
export interface ManifestEntry {
  rel: string;
  version: string;
  /** When it was handed off (the manifest's modification time), epoch ms. */
  handedOffAt?: number;
}

/** What the agent tells training processes on its host (`agent.json` in the spool). */
export interface AgentInfo {
  format: 'shardline.checkpoint-agent/v1';
  node: string;
  bucket: string;
  ledgerTable: string;
  region?: string;
  /** The AWS endpoint the agent uses (local mode), when not AWS itself. */
  endpoint?: string;
  pid: number;
  startedAt: string;
}

/**
 * The host's spool directory, where training processes hand checkpoint parts to the agent: each
 * part's files, then (last, by rename) its manifest; the agent writes a status file back. The
 * uploader sees it through this interface, so its timing is tested without a disk.
 */
export interface Spool {
  readonly dir: string;
  /**
   * Every part manifest: its relative path (`<job>/<step>/rank-<r>.part.json`) and a version that
   * changes when the manifest is replaced (a step saved again).
   */
  listManifests(): Promise<ManifestEntry[]>;
  readManifest(rel: string): Promise<string>;
  readStatus(job: string, step: number, rank: number): Promise<PartStatus | undefined>;
  writeStatus(job: string, step: number, rank: number, status: PartStatus): Promise<void>;
  /** The absolute path of a file of a part. */
  filePath(job: string, step: number, rank: number, saveId: string, name: string): string;
  writeAgentInfo(info: AgentInfo): Promise<void>;
  /**
   * Deletes the local copies of `job`'s steps that are finished (every part handed off there has a
   * final status) beyond the newest `keep` finished ones; never a step still being saved or uploaded.
   * Returns the steps deleted.
   */
  pruneLocal(job: string, keep: number): Promise<number[]>;
  /**
   * Calls `onHandOff` when a training process signals a hand-off (it touches `.handoff`); returns the
   * unsubscribe. Optional: without it (or when the filesystem cannot be watched) the scan timer alone finds parts.
   */
  watchHandOffs?(onHandOff: () => void, onError?: (err: Error) => void): () => void;
}

const FINAL = new Set(['DURABLE', 'COMPLETE', 'FAILED']);

/** The spool on the local filesystem. */
export class FsSpool implements Spool {
  constructor(readonly dir: string) {}

  async listManifests(): Promise<ManifestEntry[]> {
    const found: ManifestEntry[] = [];
    for (const job of await dirs(this.dir)) {
      for (const step of await dirs(join(this.dir, job))) {
        for (const name of await names(join(this.dir, job, step))) {
          const rel = `${job}/${step}/${name}`;
          if (!parseSpoolManifestPath(rel)) continue;
          const s = await stat(join(this.dir, rel)).catch(() => undefined);
          if (s) found.push({ rel, version: `${s.ino}:${s.mtimeMs}`, handedOffAt: s.mtimeMs });
        }
      }
    }
    return found.sort((a, b) => a.rel.localeCompare(b.rel));
  }

  readManifest(rel: string): Promise<string> {
    return readFile(join(this.dir, rel), 'utf8');
  }

  async readStatus(job: string, step: number, rank: number): Promise<PartStatus | undefined> {
    try {
      return JSON.parse(await readFile(join(this.dir, spoolPaths.status(job, step, rank)), 'utf8')) as PartStatus;
    } catch {
      return undefined;
    }
  }

  async writeStatus(job: string, step: number, rank: number, status: PartStatus): Promise<void> {
    await writeAtomically(join(this.dir, spoolPaths.status(job, step, rank)), status);
  }

  filePath(job: string, step: number, rank: number, saveId: string, name: string): string {
    return join(this.dir, spoolPaths.partDir(job, step, rank, saveId), name);
  }

  async writeAgentInfo(info: AgentInfo): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await writeAtomically(join(this.dir, spoolPaths.agentFile), info);
  }

  watchHandOffs(onHandOff: () => void, onError?: (err: Error) => void): () => void {
    let watcher: FSWatcher;
    try {
      watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name === spoolPaths.handOffFile) onHandOff();
      });
    } catch (err) {
      onError?.(err as Error);
      return () => undefined;
    }
    watcher.on('error', (err) => {
      onError?.(err);
      watcher.close();
    });
    return () => watcher.close();
  }

  async pruneLocal(job: string, keep: number): Promise<number[]> {
    const steps = (await dirs(join(this.dir, job))).filter((s) => /^\d{12}$/.test(s)).sort((a, b) => b.localeCompare(a));
    const finished: string[] = [];
    for (const step of steps) if (await this.finished(job, step)) finished.push(step);
    const removed: number[] = [];
    for (const step of finished.slice(keep)) {
      await rm(join(this.dir, job, step), { recursive: true, force: true });
      removed.push(Number(step));
    }
    return removed;
  }

  /** True when the step dir holds at least one manifest and every one has a final status for its save. */
  private async finished(job: string, step: string): Promise<boolean> {
    const manifests = (await names(join(this.dir, job, step))).filter((n) => parseSpoolManifestPath(`${job}/${step}/${n}`));
    if (manifests.length === 0) return false;
    for (const name of manifests) {
      const rank = (parseSpoolManifestPath(`${job}/${step}/${name}`) as { rank: number }).rank;
      const status = await this.readStatus(job, Number(step), rank);
      if (!status || !FINAL.has(status.state)) return false;
      const saveId = await readFile(join(this.dir, job, step, name), 'utf8').then(
        (t) => (JSON.parse(t) as { saveId?: string }).saveId,
        () => undefined,
      );
      if (saveId !== status.saveId) return false;
    }
    return true;
  }
}

/** Writes JSON to a temporary file and renames it over `path`, so readers see the old or the new file whole. */
export async function writeAtomically(path: string, doc: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(doc, null, 2)}\n`);
  await rename(tmp, path);
}

async function dirs(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
}

async function names(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir, { withFileTypes: true })).filter((e) => e.isFile()).map((e) => e.name);
  } catch {
    return [];
  }
}

/** For logs: `job/step/rank`. */
export const partLabel = (job: string, step: number, rank: number) => `${job}/${stepLabel(step)}/rank-${rank}`;
