import { InvalidArgumentError, Option } from 'commander';
import { parseCount, parsePort } from '../lib/units';

/** A parser from lib/units as a commander argument parser: its error becomes a usage error. */
export function usage<T>(parse: (value: string) => T): (value: string) => T {
  return (value) => {
    try {
      return parse(value);
    } catch (err) {
      throw new InvalidArgumentError((err as Error).message);
    }
  };
}

/** `--stack`: act on a deployed stack instead of the local environment. */
export const stackOption = () => new Option('--stack <name>', 'CloudFormation stack of a deployment (default: the local environment)');

/** `--state-dir`: where the local environment keeps local.json, logs and caches. */
export const stateDirOption = () => new Option('--state-dir <dir>', 'local state directory').default('.shardline');

/** Parses a port option: 0 (a free port) to 65535. */
export const portArg = usage(parsePort);

/** Parses a positive integer option. */
export const countArg = usage((value) => parseCount(value));

/** Parses a finite number option. */
export const numberArg = usage((value) => {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new Error(`'${value}' is not a number`);
  return n;
});

/** The metrics' Stage of a deployment: `Shardline-<stage>` stacks (infra/app.ts), `local` locally. */
export function metricsStageFor(stack: string | undefined): string {
  if (!stack) return 'local';
  const m = /^Shardline-(.+)$/.exec(stack);
  return m ? m[1] : stack;
}

/** Without --since/--from, `logs --stack` searches this far back (a local search reads whole files). */
export const CLOUDWATCH_DEFAULT_SINCE = '1h';
