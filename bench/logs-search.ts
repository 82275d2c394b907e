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
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { searchLocalLogs } from '../lib/logs/local-search';
import { buildLogQuery, type LogQueryOptions } from '../lib/logs/query';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const TOTAL_LINES = arg('lines', 1_000_000);
const AGENTS = arg('agents', 4);
const RUNS = arg('runs', 5);
const KEEP = args.includes('--keep');

/** A deterministic pseudo-random stream, so every run generates the same logs. */
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const int = (n: number) => Math.floor(rand() * n);
const hex = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

interface Writer { stream: WriteStream; buffer: string[]; lines: number }

async function generate(dir: string): Promise<{ chunkId: string; objectId: string; runId: string; midRun: number; files: number }> {
  const nodes = Array.from({ length: AGENTS }, (_, i) => `agent-${i + 1}`);
  const logFile = (node: string) => join(dir, 'agents', node, 'agent.log');
  for (const node of nodes) await mkdir(join(dir, 'agents', node), { recursive: true });
  await writeFile(join(dir, 'local.json'), JSON.stringify({
    endpoint: 'http://127.0.0.1:0', region: 'us-east-1', agents: nodes.map((nodeId) => ({ nodeId, failureDomain: 'local-a', cacheDir: dir, logFile: logFile(nodeId) })),
    chunkerLogFile: join(dir, 'chunker.log'), stateDir: dir, startedAt: new Date().toISOString(),
  }));
  const writers = new Map<string, Writer>([...nodes, 'chunker'].map((n) => [n, { stream: createWriteStream(n === 'chunker' ? join(dir, 'chunker.log') : logFile(n)), buffer: [], lines: 0 }]));
  const emit = (node: string, line: string) => {
    const w = writers.get(node)!;
    w.buffer.push(line);
    w.lines++;
  };
  const flush = async () => {
    for (const w of writers.values()) {
      if (w.buffer.length < 5000) continue;
      const ok = w.stream.write(`${w.buffer.join('\n')}\n`);
      w.buffer = [];
      if (!ok) await new Promise<void>((r) => w.stream.once('drain', () => r()));
    }
  };
  const base = (level: string, message: string, time: number, node: string, service = 'shardline-agent') =>
    ({ level, message, timestamp: new Date(time).toISOString(), service, sampling_rate: 0, app: 'shardline', ...(node === 'chunker' ? {} : { nodeId: node }) });

  let time = Date.UTC(2026, 10, 2, 8);
  const started = time;
  let lines = 0;
  let objectIndex = 0;
  let sample = { chunkId: '', objectId: '', runId: '' };
  const runs = ['run-2026-11-02a', 'run-2026-11-02b', ''];
  while (lines < TOTAL_LINES) {
    const runId = runs[int(runs.length)];
    const objectId = hex(`object-${objectIndex}`);
    const chunks = 16 + int(96);
    emit('chunker', JSON.stringify({ ...base('INFO', 'planned object', time, 'chunker', 'shardline-chunker'), objectId, key: `datasets/train-${String(objectIndex).padStart(5, '0')}.jsonl`, size: chunks * 8_388_608, chunks, ...(runId ? { runId } : {}) }));
    lines++;
    for (let c = 0; c < chunks && lines < TOTAL_LINES; c++) {
      time += 10 + int(40);
      const node = nodes[int(nodes.length)];
      const chunkId = `${objectId}-${String(c).padStart(6, '0')}`;
      const ids = { objectId, chunkId, attempt: 1, ...(runId ? { runId } : {}) };
      emit(node, JSON.stringify({ ...base('INFO', 'chunk leased', time, node), ...ids, receiveCount: 1 }));
      lines++;
      const roll = rand();
      if (roll < 0.01) {
        emit(node, JSON.stringify({ ...base('WARN', 'S3 throttled the chunk; backing off', time + 5, node), ...ids, errorKind: 'throttled', delayMs: 200 + int(800), error: { name: 'SlowDown', message: 'Please reduce your request rate.', location: 'lib/agent/chunk-processor.ts:108' } }));
        lines++;
      }
      if (roll < 0.001) {
        emit(node, JSON.stringify({ ...base('ERROR', 'chunk failed', time + 9, node), ...ids, errorKind: 'transform', error: { name: 'Error', message: 'record 1289: unexpected token', stack: 'Error: record 1289: unexpected token\n    at processChunk (lib/records/process-chunk.ts:88:11)\n    at async ChunkWorker.work (lib/agent/chunk-worker.ts:140:7)' } }));
        emit(node, '(node:4127) Warning: a promise was rejected with a non-error: [object Object]');
        lines += 2;
      }
      emit(node, JSON.stringify({
        ...base('INFO', 'chunk processed', time + 30, node), ...ids, errorKind: undefined, queueWaitMs: int(5000), totalMs: 200 + int(3000), leaseMs: 4 + int(20), downloadMs: 50 + int(900),
        processMs: 100 + int(2000), uploadMs: 20 + int(400), commitMs: 5 + int(30), recordsIn: 8000 + int(2000), recordsOut: 7990 + int(10), recordsRejected: int(5), recordsFiltered: int(5), bytesIn: 8_388_608,
      }));
      lines++;
      for (let r = 0; r < 2 && lines < TOTAL_LINES; r++) {
        const replica = nodes[(nodes.indexOf(node) + 1 + r) % nodes.length];
        emit(replica, JSON.stringify({ ...base('INFO', 'replica pulled', time + 35, replica), objectId, chunkId, bytes: 2_000_000 + int(500_000), sha256: createHash('sha256').update(`${chunkId}-${r}`).digest('hex') }));
        lines++;
      }
      if (objectIndex === 1234 && c === 7) sample = { chunkId, objectId, runId: runId || 'run-2026-11-02a' };
    }
    objectIndex++;
    await flush();
  }
  await Promise.all([...writers.values()].map((w) => new Promise<void>((r) => w.stream.end(w.buffer.length ? `${w.buffer.join('\n')}\n` : '', () => r()))));
  if (!sample.chunkId) sample = { chunkId: `${hex('object-0')}-000003`, objectId: hex('object-0'), runId: 'run-2026-11-02a' };
  return { ...sample, midRun: started + (time - started) / 2, files: writers.size };
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-logs-bench-'));
  try {
    const genStarted = Date.now();
    const sample = await generate(dir);
    let bytes = 0;
    for (const f of [join(dir, 'chunker.log'), ...Array.from({ length: AGENTS }, (_, i) => join(dir, 'agents', `agent-${i + 1}`, 'agent.log'))]) bytes += (await stat(f)).size;
    console.log(`generated ${TOTAL_LINES.toLocaleString('en-US')} lines in ${sample.files} files (${(bytes / 1e6).toFixed(0)} MB) in ${((Date.now() - genStarted) / 1000).toFixed(1)} s under ${dir}`);
    console.log(`node ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}; median of ${RUNS} runs after one warm-up;`);
    console.log('times are the whole search (open, read, filter, parse, merge); cpu ms is this process\'s CPU time (less sensitive to other load)\n');

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
      rows.push([name, String(result.records.length), median(times).toFixed(1), Math.max(...times).toFixed(1), median(cpu).toFixed(1), (result.bytesRead / 1e6).toFixed(1), result.linesParsed.toLocaleString('en-US')]);
    }
    const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
    for (const r of rows) console.log(r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join('  '));

    // The CLI end to end: process start (tsx, commander, every command's imports) plus the search.
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
