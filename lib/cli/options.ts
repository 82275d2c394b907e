import { InvalidArgumentError, Option } from 'commander';

/** `--stack`: act on a deployed stack instead of the local environment. */
export const stackOption = () => new Option('--stack <name>', 'CloudFormation stack of a deployment (default: the local environment)');

/** `--state-dir`: where the local environment keeps local.json, logs and caches. */
export const stateDirOption = () => new Option('--state-dir <dir>', 'local state directory').default('.shardline');

/** Parses a port option: 0 (a free port) to 65535. */
export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number (0 picks a free one)');
  return n;
}
