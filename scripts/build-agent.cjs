#!/usr/bin/env node
/**
 * Bundles the node agent for its container image (the Dockerfile's build stage runs
 * `npm run build:agent`). esbuild follows the imports from agent-container/main.ts, so the bundle
 * holds exactly the code and packages the agent uses (never aws-cdk-lib, constructs, tsx, uplot or
 * cli-progress) and the image's last stage needs no node_modules at all.
 *
 *   node scripts/build-agent.cjs [--outdir dist/agent-bundle]
 *
 * Writes main.js (the agent), worker.js (the record path's worker thread: piscina's own worker
 * script, which piscina starts from beside the bundle, and the pool's handler in one file, so both
 * share piscina's module), their source maps, zstd-napi.node (the native zstd addon both load)
 * and meta.json (esbuild's metafile: every input file of the bundle).
 */
const { build } = require('esbuild');
const { copyFileSync, mkdirSync, writeFileSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const ROOT = resolve(__dirname, '..');
const flag = process.argv.indexOf('--outdir');
const outdir = resolve(flag >= 0 ? process.argv[flag + 1] : join(ROOT, 'dist', 'agent-bundle'));

/** The native zstd addon's name beside the bundle (zstd-napi finds its own by a computed path, which esbuild cannot follow). */
const ZSTD_ADDON = 'zstd-napi.node';

/** Plugins: the worker entry (piscina's worker script and the handler), and zstd-napi's addon loaded from beside the bundle. */
const plugins = [
  {
    name: 'record-worker-entry',
    setup(b) {
      b.onResolve({ filter: /^shardline:record-worker$/ }, () => ({ path: 'record-worker', namespace: 'shardline' }));
      b.onLoad({ filter: /.*/, namespace: 'shardline' }, () => ({
        contents: `require(${JSON.stringify(join(dirname(require.resolve('piscina')), 'worker.js'))});\nmodule.exports = require('./lib/records/pool/record-worker.ts');\n`,
        resolveDir: ROOT,
        loader: 'js',
      }));
    },
  },
  {
    name: 'zstd-napi-addon',
    setup(b) {
      b.onLoad({ filter: /[\\/]zstd-napi[\\/]binding\.js$/ }, () => ({ contents: `module.exports = require('./${ZSTD_ADDON}');`, loader: 'js' }));
      b.onResolve({ filter: /^\.\/zstd-napi\.node$/ }, (args) => ({ path: args.path, external: true }));
    },
  },
];

async function main() {
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    absWorkingDir: ROOT,
    entryPoints: { main: 'agent-container/main.ts', worker: 'shardline:record-worker' },
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    // Stack traces (and the `location` of logged errors) name the TypeScript sources under --enable-source-maps.
    sourcemap: true,
    sourcesContent: false,
    metafile: true,
    logLevel: 'warning',
    // The pool then starts worker.js beside the bundle (lib/records/pool/record-pool.ts).
    define: { SHARDLINE_AGENT_BUNDLE: 'true' },
    // piscina's worker asks for this optional package inside a catch.
    external: ['@napi-rs/nice'],
    plugins,
  });
  copyFileSync(join(dirname(require.resolve('zstd-napi/package.json')), 'build', 'Release', 'binding.node'), join(outdir, ZSTD_ADDON));
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  const bytes = result.metafile.outputs[Object.keys(result.metafile.outputs).find((o) => o.endsWith('main.js'))].bytes;
  console.log(`agent bundle: ${join(outdir, 'main.js')} (${(bytes / 1e6).toFixed(1)} MB, ${Object.keys(result.metafile.inputs).length} inputs)`);
}

main().catch((err) => {
  console.error(err.message);
  process.exit(1);
});
