#!/usr/bin/env node
/**
 * `npm run build` (and `npm ci`, through `prepare`): compiles the entry folders and lib/ to dist/
 * with tsc (tsconfig.build.json), then copies next to the compiled code the files it reads at run
 * time through `__dirname` (tsc emits only JavaScript): every file of those folders that is not
 * TypeScript, e.g. the dashboard's static files and the moto launcher. dist/ is emptied first, so
 * nothing compiled from a moved or deleted source lingers.
 */
const { spawnSync } = require('node:child_process');
const { cpSync, rmSync, statSync } = require('node:fs');
const { basename, join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const DIST = join(ROOT, 'dist');
/** The compiled folders: the ones tsconfig.build.json includes. */
const FOLDERS = require('../tsconfig.build.json').include;
/** Not read at run time: the image is built from the sources (see agent-container/Dockerfile). */
const NOT_ASSETS = new Set(['Dockerfile']);

rmSync(DIST, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [require.resolve('typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

let copied = 0;
for (const folder of FOLDERS) {
  cpSync(join(ROOT, folder), join(DIST, folder), {
    recursive: true,
    filter: (src) => {
      if (statSync(src).isDirectory()) return true;
      const asset = !src.endsWith('.ts') && !NOT_ASSETS.has(basename(src));
      if (asset) copied++;
      return asset;
    },
  });
}
console.log(`built dist/ (${copied} run-time assets copied)`);
