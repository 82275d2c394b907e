#!/usr/bin/env node
/**
 * Checks the import layering (.dependency-cruiser.cjs) with dependency-cruiser's JS API.
 * Its CLI (`depcruise`) refuses to start on Node 20, which this project supports; the API has
 * no such gate and gives the same result.
 *
 *   node scripts/layering.mjs                  the source tree; prints the violations, exits 1 on any
 *   node scripts/layering.mjs --json           the violations as JSON (for test/lint/layering.test.ts)
 *   node scripts/layering.mjs --base-dir DIR   another tree laid out like this one (a fixture)
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const ROOT = resolve(import.meta.dirname, '..');

/** The folders that hold TypeScript (and the launcher's JavaScript), in layering order. */
export const SOURCE_FOLDERS = ['lib', 'functions', 'agent-container', 'infra', 'local', 'cli', 'bin', 'bench', 'test'];

/**
 * Cruises `baseDir` (the repository by default) with the project's rules.
 * @param {{ baseDir?: string, outputType?: string }} [opts]
 * @returns {Promise<import('dependency-cruiser').IReporterOutput>}
 */
export async function cruiseTree({ baseDir = ROOT, outputType = 'json' } = {}) {
  const config = createRequire(import.meta.url)(resolve(ROOT, '.dependency-cruiser.cjs'));
  const tsConfigFile = resolve(ROOT, 'tsconfig.json');
  const folders = SOURCE_FOLDERS.filter((folder) => existsSync(resolve(baseDir, folder)));
  return cruise(folders, { ...config.options, ruleSet: { forbidden: config.forbidden }, validate: true, baseDir, outputType, tsConfig: { fileName: tsConfigFile } }, undefined, {
    tsConfig: extractTSConfig(tsConfigFile),
  });
}

/** Every rule violation, as `{ rule, from, to, cycle? }`. */
export function violationsOf(cruiseOutput) {
  const result = typeof cruiseOutput === 'string' ? JSON.parse(cruiseOutput) : cruiseOutput;
  return result.summary.violations.map((v) => ({
    rule: v.rule.name,
    from: v.from,
    to: v.to,
    ...(v.cycle ? { cycle: v.cycle.map((step) => step.name ?? step) } : {}),
  }));
}

async function main(argv) {
  const json = argv.includes('--json');
  const baseIndex = argv.indexOf('--base-dir');
  const baseDir = baseIndex >= 0 ? resolve(argv[baseIndex + 1]) : ROOT;
  if (json) {
    const { output } = await cruiseTree({ baseDir });
    const violations = violationsOf(output);
    process.stdout.write(`${JSON.stringify(violations, null, 2)}\n`);
    return violations.length > 0 ? 1 : 0;
  }
  const { output, exitCode } = await cruiseTree({ baseDir, outputType: 'err' });
  process.stdout.write(output);
  return exitCode > 0 ? 1 : 0;
}

if (process.argv[1] && resolve(process.argv[1]) === import.meta.filename) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      console.error(err);
      process.exit(2);
    },
  );
}
