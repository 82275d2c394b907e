import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The folder of shardline's package.json, looked for from `dir` upwards: the project root whether
 * the code runs from its TypeScript sources or compiled under dist/ (one level deeper), for code
 * that refers to source files by path (the CDK app's Lambda entries and image context, local mode).
 */
export function packageRoot(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, 'package.json'))) return d;
    if (dirname(d) === d) throw new Error(`no package.json in ${dir} or above`);
  }
}
