import type { NodeIdentity } from '../../../lib/cluster/registry';
import type { Log } from '../../../lib/log';

/** A log that keeps its lines, for asserting on what a part said. */
export function memoryLog(): Log & { lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }>; said: (message: string) => number } {
  const lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  const log = ((level, message, fields) => void lines.push({ level, message, fields })) as Log & { lines: typeof lines; said: (message: string) => number };
  log.lines = lines;
  log.said = (message) => lines.filter((l) => l.message === message).length;
  return log;
}

export const identity: NodeIdentity = {
  nodeId: 'node-a',
  failureDomain: 'az-1',
  instanceType: 'g5.xlarge',
  gpus: 1,
  cpus: 4,
  memoryMiB: 16384,
  cacheDir: '/tmp/shardline-test-cache',
  cacheCapacityBytes: 1024 ** 3,
};
