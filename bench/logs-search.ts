/**
 * Benchmark of `shardline logs` over local files: generates 1,000,000 realistic log lines (the
 * agents' Powertools JSON, a few plain stderr lines, the chunker's log) in a temporary state
 * directory, then times representative queries through the same code the CLI runs.
 *
 *   npx tsx bench/logs-search.ts [--lines 1000000] [--agents 4] [--runs 5] [--keep]
 *
 * Figures are for a warm page cache (the files were just written): the search, not the disk.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { searchLocalLogs } from '../lib/logs/local-search';
import { buildLogQuery, type LogQueryOptions } from '../lib/logs/query';
import { generateLogs } from './log-fixture';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TOTAL_LINES = arg('lines', 1_000_000);
const AGENTS = arg('agents', 4);
const RUNS = arg('runs', 5);
const KEEP = args.includes('--keep');

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-logs-bench-'));
  try {
    const genStarted = Date.now();
    const sample = await generateLogs(dir, { totalLines: TOTAL_LINES, agents: AGENTS });
    let bytes = 0;
    for (const f of [join(dir, 'chunker.log'), ...Array.from({ length: AGENTS }, (_, i) => join(dir, 'agents', `agent-${i + 1}`, 'agent.log'))]) bytes += (await stat(f)).size;
    console.log(`generated ${TOTAL_LINES.toLocaleString('en-US')} lines in ${sample.files} files (${(bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - genStarted) / 1000).toFixed(1)} s under ${dir}`);
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; median of ${RUNS} runs after one warm-up;`);
    console.log("times are the whole search (open, read, filter, parse, merge); cpu ms is this process's CPU time (less sensitive to other load)\n");

    const window = (startMs: number, minutes: number) => ({ from: new Date(startMs).toISOString(), to: new Date(startMs + minutes * 60_000).toISOString() });
    const queries: Array<[string, LogQueryOptions]> = [
      ['one chunk (--chunk)', { chunk: sample.chunkId }],
      ['one object (--object, all)', { object: sample.objectId, limit: 100_000 }],
      ['a run, latest 1000 (--run)', { run: sample.runId, limit: 1000 }],
      ['errors (--level error)', { level: 'error' }],
      ['warnings of a node (--level warn --node agent-3)', { level: 'warn', node: 'agent-3' }],
      ['free text (--grep SlowDown)', { grep: 'SlowDown' }],
      ['tail, no filter (--limit 100)', {}],
      ['5-minute window mid-run (--from --to)', window(sample.midRun, 5)],
      ['a chunk that is not there (full scan)', { chunk: 'ffffffffffffffffffffffffffffffff-000000' }],
      ['latest 10,000 info lines (--level info --limit 10000)', { level: 'info', limit: 10_000 }],
    ];
    const rows: string[][] = [['query', 'matches', 'median ms', 'max ms', 'cpu ms', 'MB read', 'lines parsed']];
    for (const [name, opts] of queries) {
      const query = buildLogQuery(opts);
      await searchLocalLogs(dir, query); // warm-up (JIT, page cache)
      const times: number[] = [];
      const cpu: number[] = [];
      let result = await searchLocalLogs(dir, query);
      for (let i = 0; i < RUNS; i++) {
        const t = process.hrtime.bigint();
        const c = process.cpuUsage();
        result = await searchLocalLogs(dir, query);
        const used = process.cpuUsage(c);
        times.push(Number(process.hrtime.bigint() - t) / 1e6);
        cpu.push((used.user + used.system) / 1000);
      }
      const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
      rows.push([
        name,
        String(result.records.length),
        median(times).toFixed(1),
        Math.max(...times).toFixed(1),
        median(cpu).toFixed(1),
        (result.bytesRead / 1e6).toFixed(1),
        result.linesParsed.toLocaleString('en-US'),
      ]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));

    // The CLI end to end (compiled: run `npm run build` first): process start plus the search. See also npm run bench:startup.
    const cli = resolve(__dirname, '..', 'bin', 'shardline.cjs');
    const wall = (argv: string[]) => {
      const t = Date.now();
      const out = spawnSync(process.execPath, [cli, ...argv], { encoding: 'utf8' });
      if (out.status !== 0) throw new Error(out.stderr);
      return { ms: Date.now() - t, summary: out.stderr.trim() };
    };
    wall(['--help']);
    const help = wall(['--help']);
    const chunk = wall(['logs', '--state-dir', dir, '--chunk', sample.chunkId]);
    const errors = wall(['logs', '--state-dir', dir, '--level', 'error']);
    console.log(`\nCLI wall time: 'shardline --help' ${help.ms} ms (process start); 'shardline logs --chunk …' ${chunk.ms} ms; 'shardline logs --level error' ${errors.ms} ms`);
    console.log(`  stderr of the last: ${errors.summary}`);
  } finally {
    if (KEEP) console.log(`kept ${dir}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
