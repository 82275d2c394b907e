/**
 * Start-up benchmark of the `shardline` CLI, process start included: `--help`, `status --help` and
 * a `logs` search over a generated local state directory, each run the way users run it (the
 * compiled CLI: `node bin/shardline.cjs`, from dist/) and, as the peer in the same run, the old way
 * (`node --require tsx/cjs cli/main.ts`, the TypeScript sources compiled at every start).
 * Hyperfine-like: warm-up runs, then N timed runs, the two ways interleaved so that other load on
 * the machine falls on both alike; prints median, p90 and min of the wall time, and the ratio.
 *
 *   npm run bench:startup [-- --runs 15] [--warmup 3] [--lines 200000] [--no-build]
 *
 * Builds dist/ first (`npm run build`) unless --no-build, so the compiled CLI is not stale.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { generateLogs } from './log-fixture';

const ROOT = resolve(__dirname, '..');
const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const RUNS = arg('runs', 15);
const WARMUP = arg('warmup', 3);
const LINES = arg('lines', 200_000);

/** The targets of issue 9, process start included. */
const TARGET_MS: Record<string, number> = { help: 300, logs: 1000 };

/** How each way starts the CLI: node and its arguments before the command's own. */
const WAYS = [
  { name: 'compiled (dist/)', argv: [join(ROOT, 'bin', 'shardline.cjs')] },
  { name: 'sources (tsx)', argv: ['--require', 'tsx/cjs', join(ROOT, 'cli', 'main.ts')] },
] as const;

/** Runs one command line and returns its wall time in ms; a failure stops the benchmark. */
function timeOnce(argv: readonly string[]): number {
  const started = process.hrtime.bigint();
  const out = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (out.status !== 0) throw new Error(`node ${argv.join(' ')} exited ${out.status}: ${out.stderr}`);
  return ms;
}

/** Nearest-rank percentile of `values` (0–100). */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

async function main(): Promise<void> {
  if (!args.includes('--no-build')) {
    const build = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
    if (build.status !== 0) throw new Error('npm run build failed');
  }
  const dir = await mkdtemp(join(tmpdir(), 'shardline-startup-bench-'));
  try {
    const sample = await generateLogs(dir, { totalLines: LINES, agents: 4 });
    const cases = [
      { label: 'shardline --help', target: TARGET_MS.help, argv: ['--help'] },
      { label: 'shardline status --help', target: TARGET_MS.help, argv: ['status', '--help'] },
      { label: `shardline logs --chunk … (${LINES.toLocaleString('en-US')} lines)`, target: TARGET_MS.logs, argv: ['logs', '--state-dir', dir, '--chunk', sample.chunkId] },
    ];
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)} at the start`);
    console.log(`${WARMUP} warm-up + ${RUNS} timed runs of each command line, the two ways interleaved; wall time of the whole process\n`);

    const rows: string[][] = [['command', ...WAYS.flatMap((w) => [`${w.name} median`, 'p90', 'min']), 'ratio', 'target']];
    const misses: string[] = [];
    for (const c of cases) {
      const times = WAYS.map(() => [] as number[]);
      for (let i = 0; i < WARMUP + RUNS; i++) {
        WAYS.forEach((way, w) => {
          const ms = timeOnce([...way.argv, ...c.argv]);
          if (i >= WARMUP) times[w].push(ms);
        });
      }
      const [compiled, sources] = times.map((t) => percentile(t, 50));
      if (compiled >= c.target) misses.push(`${c.label}: median ${compiled.toFixed(0)} ms ≥ ${c.target} ms`);
      rows.push([
        c.label,
        ...times.flatMap((t) => [percentile(t, 50), percentile(t, 90), Math.min(...t)].map((ms) => `${ms.toFixed(0)} ms`)),
        `${(sources / compiled).toFixed(1)}×`,
        `< ${c.target} ms`,
      ]);
    }
    const widths = rows[0].map((_, col) => Math.max(...rows.map((r) => r[col].length)));
    for (const r of rows) console.log(r.map((cell, col) => (col === 0 ? cell.padEnd(widths[col]) : cell.padStart(widths[col]))).join('  '));
    console.log(`\nload average ${os.loadavg()[0].toFixed(1)} at the end; ratio = median of the sources way ÷ median of the compiled way`);
    console.log(misses.length ? `compiled CLI over target: ${misses.join('; ')}` : 'compiled CLI: every median within its target');
    if (misses.length) process.exitCode = 1;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
