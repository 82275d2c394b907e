import { execFile } from 'node:child_process';

/** The GPUs `nvidia-smi` lists on the host. */
export interface GpuInfo {
  count: number;
  /** The first GPU's model (hosts carry one model). */
  model?: string;
  memoryMiB?: number;
}

/** Runs `nvidia-smi` with arguments; resolves its stdout, rejects when it is missing or fails. */
export type CommandRunner = (file: string, args: string[]) => Promise<string>;

export const NVIDIA_SMI_ARGS = ['--query-gpu=name,memory.total', '--format=csv,noheader'];

/**
 * Parses `nvidia-smi --query-gpu=name,memory.total --format=csv,noheader`: one line per GPU,
 * `NVIDIA A10G, 23028 MiB`. Lines that do not parse are skipped (a driver message, an empty line).
 */
export function parseNvidiaSmi(output: string): GpuInfo {
  const gpus = output
    .split(/\r?\n/)
    .map((line) => /^(.+?),\s*(\d+)\s*MiB\s*$/i.exec(line.trim()))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ model: m[1].trim(), memoryMiB: Number(m[2]) }));
  return gpus.length === 0 ? { count: 0 } : { count: gpus.length, model: gpus[0].model, memoryMiB: gpus[0].memoryMiB };
}

const execRunner: CommandRunner = (file, args) => new Promise((resolve, reject) => execFile(file, args, { timeout: 5000, encoding: 'utf8' }, (err, stdout) => (err ? reject(err) : resolve(stdout))));

/**
 * The host's GPUs from `nvidia-smi`, or undefined when it is absent or fails (no driver in the
 * container, a host without GPUs). The agent reserves no GPU, so it counts what the host has
 * rather than reading NVIDIA_VISIBLE_DEVICES, which lists only the devices given to the container.
 */
export async function detectGpus(run: CommandRunner = execRunner): Promise<GpuInfo | undefined> {
  try {
    const info = parseNvidiaSmi(await run('nvidia-smi', NVIDIA_SMI_ARGS));
    return info.count > 0 ? info : undefined;
  } catch {
    return undefined;
  }
}
