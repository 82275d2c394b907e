/**
 * What the agent image holds, proven without a Docker engine: the Dockerfile's build stage runs
 * `npm run build:agent` and its final stage keeps only the bundle, so running that same script
 * and reading esbuild's metafile shows every file and package that would be in the image.
 */
import { execFile } from 'node:child_process';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';

const ROOT = resolve(__dirname, '..', '..');
const run = promisify(execFile);

/** The package a bundled file comes from (`@scope/name` or `name`), or undefined for the project's own files. */
function packageOf(input: string): string | undefined {
  const at = input.lastIndexOf('node_modules/');
  if (at < 0) return undefined;
  const [first, second] = input.slice(at + 'node_modules/'.length).split('/');
  return first.startsWith('@') ? `${first}/${second}` : first;
}

/** What the final stage keeps: the agent, the record path's worker thread, the native zstd addon. */
const IMAGE_FILES = ['main.js', 'main.js.map', 'worker.js', 'worker.js.map', 'zstd-napi.node'];

describe('agent image (agent-container/Dockerfile)', () => {
  let outdir: string;
  let inputs: string[];
  /** The packages the project's own files import at run time (type-only imports are erased). */
  let imported: string[];
  let dockerfile: string;

  beforeAll(async () => {
    outdir = await mkdtemp(join(tmpdir(), 'shardline-agent-image-'));
    await run('npm', ['run', 'build:agent', '--', '--outdir', outdir], { cwd: ROOT });
    const meta = JSON.parse(await readFile(join(outdir, 'meta.json'), 'utf8')) as { inputs: Record<string, { imports: Array<{ path: string }> }> };
    inputs = Object.keys(meta.inputs);
    imported = [...new Set(inputs.filter((i) => packageOf(i) === undefined).flatMap((i) => meta.inputs[i].imports.map((to) => packageOf(to.path))))].filter((p): p is string => p !== undefined);
    dockerfile = await readFile(join(ROOT, 'agent-container', 'Dockerfile'), 'utf8');
  }, 120_000);
  afterAll(() => rm(outdir, { recursive: true, force: true }));

  it('bundles no CDK library, no tsx, no chart or progress-bar package', () => {
    const packages = new Set(inputs.map(packageOf));

    for (const unwanted of ['aws-cdk-lib', 'constructs', 'cdk-nag', 'tsx', 'typescript', 'esbuild', 'uplot', 'cli-progress']) {
      expect(packages.has(unwanted) ? unwanted : undefined).toBeUndefined();
    }
    expect(packages).toContain('@aws-sdk/client-s3');
  });

  it('takes every package its own code imports from the production dependencies', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

    expect(imported.filter((p) => !(p in pkg.dependencies))).toEqual([]);
    expect(imported).toContain('@aws-sdk/client-s3');
  });

  it("reads only sources that the build stage copies into the image's context", () => {
    const copied = [...dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => m[1].split(' '));
    // `shardline:record-worker` is the build script's own entry of worker.js, not a file.
    const own = inputs.filter((i) => packageOf(i) === undefined && !i.startsWith('shardline:'));

    expect(own.filter((file) => !copied.some((c) => file === c || file.startsWith(`${c.replace(/\/$/, '')}/`)))).toEqual([]);
    expect(own).toContain('agent-container/main.ts');
  });

  it('keeps in the final stage the files the script writes, and starts them with plain node', () => {
    const kept = dockerfile.match(/^COPY --from=build (.+) \.\/$/m)?.[1].split(' ');

    expect(dockerfile).toMatch(/^RUN npm run build:agent$/m);
    expect(kept).toEqual(IMAGE_FILES.map((f) => `/src/dist/agent-bundle/${f}`));
    expect(dockerfile).toMatch(/^ENTRYPOINT \["node", "--enable-source-maps", "main\.js"\]$/m);
  });

  it('starts from the bundle alone, with no node_modules anywhere above it', async () => {
    const image = await mkdtemp(join(tmpdir(), 'shardline-agent-image-app-'));
    try {
      for (const file of IMAGE_FILES) await copyFile(join(outdir, file), join(image, file));

      const { stdout } = await run(process.execPath, ['--enable-source-maps', 'main.js', '--help'], { cwd: image, env: { PATH: process.env.PATH ?? '' } });

      expect(stdout).toContain('Usage: shardline-agent');
      expect(stdout).toContain('--cache-dir');
    } finally {
      await rm(image, { recursive: true, force: true });
    }
  });

  it('runs the record path in its worker thread, zstd included, with no node_modules anywhere above it', async () => {
    const image = await mkdtemp(join(tmpdir(), 'shardline-agent-image-worker-'));
    try {
      for (const file of IMAGE_FILES) await copyFile(join(outdir, file), join(image, file));
      // The handler piscina calls in worker.js, on one block, in a worker thread as piscina runs it.
      const probe = `
        const { Worker } = require('node:worker_threads');
        const code = \`
          const handler = require('./worker.js').default;
          const task = { bytes: Buffer.from('{"a": 1}\\\\n[2]\\\\n'), offset: 0, format: 'jsonl', codec: 'zstd', level: 1, forDedupe: false };
          const result = handler({ kind: 'block', task, dataset: { dedupe: false }, datasetKey: 'k' })[Symbol.for('Piscina.valueOf')];
          require('node:worker_threads').parentPort.postMessage({ out: result.recordsOut, rejected: result.recordsRejected, zstd: Buffer.from(result.output).toString('hex', 0, 4) });
          process.exit(0);
        \`;
        new Worker(code, { eval: true }).on('message', (m) => console.log(JSON.stringify(m)));
      `;

      const { stdout } = await run(process.execPath, ['-e', probe], { cwd: image, env: { PATH: process.env.PATH ?? '' } });

      expect(JSON.parse(stdout)).toEqual({ out: 1, rejected: 1, zstd: '28b52ffd' });
    } finally {
      await rm(image, { recursive: true, force: true });
    }
  });
});
