#!/usr/bin/env node
/**
 * Bundles the node agent into one JavaScript file for its container image (the Dockerfile's build
 * stage runs `npm run build:agent`). esbuild follows the imports from agent-container/main.ts, so
 * the bundle holds exactly the code and packages the agent uses (never aws-cdk-lib, constructs,
 * tsx, uplot or cli-progress) and the image's last stage needs no node_modules at all.
 *
 *   node scripts/build-agent.cjs [--outdir dist/agent-bundle]
 *
 * Writes main.js, main.js.map and meta.json (esbuild's metafile: every input file of the bundle).
 */
const { build } = require('esbuild');
const { mkdirSync, writeFileSync } = require('node:fs');
const { join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const flag = process.argv.indexOf('--outdir');
const outdir = resolve(flag >= 0 ? process.argv[flag + 1] : join(ROOT, 'dist', 'agent-bundle'));

async function main() {
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: ['agent-container/main.ts'],
    outfile: join(outdir, 'main.js'),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Stack traces (and the `location` of logged errors) name the TypeScript sources under --enable-source-maps.
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((o) => o.endsWith('main.js'))].bytes;
  console.log(`agent bundle: ${join(outdir, 'main.js')} (${(bytes / 1e6).toFixed(1)} MB, ${Object.keys(result.metafile.inputs).length} inputs)`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
