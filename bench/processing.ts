/**
 * Record-path benchmark (issue 12): split → validate → transform → encode the shard, on one
 * generated JSON Lines file with edge cases (bench/processing-fixture.ts), page cache warm, S3
 * left out, read into one refilled 1 MiB buffer (bench/file-body.ts) by ours and the plain loop
 * alike. In one run, with the peers measured alongside (interleaved, best of --runs):
 *
 * - per core: shardline's record path on one thread (the inline runner) for each codec, against a
 *   plain Node loop (JSON.parse per line, accepted lines encoded with the same codec, one thread);
 * - host: the record path on a pool of 1…N worker threads (`RecordPool`), the counts' runs interleaved;
 * - tools: `jq -cR 'fromjson? | objects'` (validate + re-serialize), `gzip -1`, `zstd -1 -T1`;
 * - a 4 MiB chunk's record-path latency with the pool (median and p90);
 * - memory: peak RSS growth of a pool run over 1/4 of the file and over all of it.
 *
 *   npm run bench:processing [-- --mb 256] [--workers N] [--runs 2] [--latency-runs 20] [--block-kib K] [--json]
 *
 * MB/s are decimal megabytes of input per second of wall time.
 */
import { spawnSync } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { DatasetConfig } from '../lib/config/pipeline-config';
import { encodeBlock } from '../lib/records/block-codec';
import { inlineRunner, type BlockRunner } from '../lib/records/block-runner';
import { RecordPool } from '../lib/records/pool/record-pool';
import { processChunk } from '../lib/records/process-chunk';
import type { ShardCodec } from '../lib/records/shard-codec';
import { createShardOutput } from '../lib/records/shard-output';
import { buildRecordPipeline } from '../lib/records/transforms';
import { refilledFileBody } from './file-body';
import { processingFixture } from './processing-fixture';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MIB = 1024 * 1024;
const FILE_BYTES = arg('mb', 256) * MIB;
const MAX_WORKERS = arg('workers', availableParallelism());
const RUNS = arg('runs', 2);
const LATENCY_RUNS = arg('latency-runs', 20);
const JSON_OUT = args.includes('--json');
const READ_BUFFER = MIB;
/** Block size of the record path (lib/records/line-blocks.ts); the default unless given. */
const BLOCK_BYTES = args.includes('--block-kib') ? arg('block-kib', 1024) * 1024 : undefined;

/** Issue 12's targets on the 2-core development machine. */
const TARGETS = { perCoreMBps: 100, ofPlainLoop: 0.9, twoWorkersOverOne: 1.7, chunkLatencyMs: 50 };

const CODECS: Array<{ name: string; codec: ShardCodec; level: number }> = [
  { name: 'gzip-1', codec: 'gzip', level: 1 },
  { name: 'zstd-1', codec: 'zstd', level: 1 },
  { name: 'none', codec: 'none', level: 0 },
];

const pipeline = buildRecordPipeline(DatasetConfig.parse({}));
const log = (line = '') => {
  if (!JSON_OUT) console.log(line);
};

/** The agent's record path over `[0, bytes)` of the file: the chunk's shard and rejects, hashed as the agent does. */
async function recordPath(file: string, bytes: number, runner: BlockRunner, codec: ShardCodec, level: number): Promise<number> {
  const shard = createShardOutput({ encoded: true });
  const rejects = createShardOutput({ level: 1 });
  shard.readable.resume();
  rejects.readable.resume();
  await processChunk(
    { body: refilledFileBody(file, 0, bytes, READ_BUFFER), bodyOffset: 0, start: 0, end: bytes, format: 'jsonl', compression: 'none', pipeline },
    { shard: shard.writable, rejects: rejects.writable },
    { runner, codec, level, blockBytes: BLOCK_BYTES },
  );
  shard.writable.end();
  rejects.writable.end();
  return (await shard.finished()).bytes;
}

/** The peer: a plain loop on one thread: split, `JSON.parse` each line, keep objects, encode each read's lines (1 MiB) with the same codec. */
async function plainLoop(file: string, codec: ShardCodec, level: number): Promise<number> {
  let carry: Buffer | undefined;
  let batch: Buffer[] = [];
  let batchBytes = 0;
  let out = 0;
  const flush = () => {
    if (batchBytes > 0) out += encodeBlock(Buffer.concat(batch, batchBytes), codec, level).length;
    batch = [];
    batchBytes = 0;
  };
  for await (const buf of refilledFileBody(file, 0, Infinity, READ_BUFFER)) {
    const data = carry ? Buffer.concat([carry, buf]) : buf;
    let p = 0;
    for (let nl = data.indexOf(10, p); nl >= 0; nl = data.indexOf(10, p)) {
      const end = nl > p && data[nl - 1] === 13 ? nl - 1 : nl;
      const line = data.subarray(p, end);
      p = nl + 1;
      if (line.length === 0) continue;
      try {
        const value: unknown = JSON.parse(line.toString('utf8'));
        if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
          batch.push(line, NEWLINE);
          batchBytes += line.length + 1;
        }
      } catch {
        // rejected
      }
    }
    carry = p < data.length ? Buffer.from(data.subarray(p)) : undefined;
    flush(); // the read buffer is refilled next
  }
  flush();
  return out;
}
const NEWLINE = Buffer.from('\n');

/** Wall seconds of `fn`. */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Wall seconds of a shell command, or undefined when its tool is not installed. */
function timedCommand(tool: string, command: string): number | undefined {
  if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return undefined;
  const t0 = process.hrtime.bigint();
  const out = spawnSync('sh', ['-c', command], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (out.status !== 0) throw new Error(`${command} exited ${out.status}: ${out.stderr}`);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

const mbps = (bytes: number, seconds: number) => bytes / 1e6 / seconds;
const fmt = (n: number, digits = 0) => n.toFixed(digits);

/** Nearest-rank percentile. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Peak RSS growth (MB) while `fn` runs, sampled every 20 ms. */
async function peakRssGrowth(fn: () => Promise<unknown>): Promise<number> {
  const base = process.memoryUsage.rss();
  let peak = base;
  const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 20);
  try {
    await fn();
  } finally {
    clearInterval(timer);
  }
  return (Math.max(peak, process.memoryUsage.rss()) - base) / 1e6;
}

/** The record path of one 4 MiB chunk from memory (S3 left out), in ms. */
async function chunkLatency(chunk: Buffer, runner: BlockRunner, codec: ShardCodec, level: number): Promise<number> {
  const shard = createShardOutput({ encoded: true });
  const rejects = createShardOutput({ level: 1 });
  shard.readable.resume();
  rejects.readable.resume();
  const t0 = process.hrtime.bigint();
  await processChunk(
    { body: pieces(chunk, 64 * 1024), bodyOffset: 0, start: 0, end: chunk.length, format: 'jsonl', compression: 'none', pipeline },
    { shard: shard.writable, rejects: rejects.writable },
    { runner, codec, level, blockBytes: BLOCK_BYTES },
  );
  shard.writable.end();
  rejects.writable.end();
  await shard.finished();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

async function* pieces(data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let at = 0; at < data.length; at += size) yield data.subarray(at, at + size);
}

/** A 4 MiB run of whole lines from the middle of the file (no 2 MB record in it). */
async function sampleChunk(file: string, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const b of createReadStream(file, { start: Math.floor(size / 3), end: Math.floor(size / 3) + 6 * MIB }) as AsyncIterable<Buffer>) parts.push(b);
  const window = Buffer.concat(parts);
  const from = window.indexOf(10) + 1;
  const to = window.indexOf(10, from + 4 * MIB) + 1;
  return Buffer.from(window.subarray(from, to));
}

async function main(): Promise<void> {
  const file = await processingFixture(FILE_BYTES);
  const size = (await stat(file)).size;
  await plainLoop(file, 'none', 0); // warm the page cache and the JIT
  const load0 = loadavg();
  log(`shardline record path: ${file} (${fmt(size / 1e6)} MB of JSON Lines with 2 MB records, CRLF, invalid and non-object lines)`);
  log(`node ${process.version}, ${availableParallelism()} CPUs, load average ${load0.map((l) => l.toFixed(2)).join(' ')} at the start; best of ${RUNS} runs, the peers interleaved`);
  log('(a noisy shared machine: other sessions may run tests at the same time)\n');

  // Per core: one thread, ours against the plain loop with the same codec.
  const perCore: Array<{ codec: string; shardlineMBps: number; plainLoopMBps: number; ratio: number; shardBytes: number }> = [];
  for (const c of CODECS) {
    let ours = Infinity;
    let plain = Infinity;
    let shardBytes = 0;
    for (let r = 0; r < RUNS; r++) {
      plain = Math.min(plain, await timed(() => plainLoop(file, c.codec, c.level)));
      ours = Math.min(ours, await timed(async () => (shardBytes = await recordPath(file, size, inlineRunner, c.codec, c.level))));
    }
    perCore.push({ codec: c.name, shardlineMBps: mbps(size, ours), plainLoopMBps: mbps(size, plain), ratio: plain / ours, shardBytes });
  }
  log('per core (one thread)         shardline MB/s   plain loop MB/s   ratio   shard MB');
  for (const p of perCore)
    log(`  ${p.codec.padEnd(28)}${fmt(p.shardlineMBps).padStart(14)}${fmt(p.plainLoopMBps).padStart(18)}${fmt(p.ratio, 2).padStart(8)}×${fmt(p.shardBytes / 1e6, 1).padStart(10)}`);

  // Host: the pool with 1…N workers, their runs interleaved (load that comes and goes hits every count alike).
  // MB per CPU-second (all threads) tells the pool's cost apart from the cores other load left free.
  const host: Array<{ codec: string; workers: number; MBps: number; cpuCores: number; MBperCpuSecond: number; overOneWorker: number }> = [];
  for (const c of CODECS.filter((x) => x.codec !== 'none')) {
    const pools = Array.from({ length: MAX_WORKERS }, (_, i) => ({ pool: new RecordPool(i + 1), best: Infinity, cpu: 0 }));
    for (const p of pools) await recordPath(file, Math.min(size, 32 * MIB), p.pool, c.codec, c.level); // start the workers, warm their JIT
    for (let r = 0; r < RUNS; r++) {
      for (const p of pools) {
        const cpu0 = process.cpuUsage();
        const s = await timed(() => recordPath(file, size, p.pool, c.codec, c.level));
        if (s < p.best) {
          const used = process.cpuUsage(cpu0);
          p.best = s;
          p.cpu = (used.user + used.system) / 1e6 / s;
        }
      }
    }
    for (const p of pools) {
      await p.pool.close();
      const MBps = mbps(size, p.best);
      host.push({ codec: c.name, workers: p.pool.parallelism, MBps, cpuCores: p.cpu, MBperCpuSecond: MBps / p.cpu, overOneWorker: MBps / mbps(size, pools[0].best) });
    }
  }
  log('\nhost (worker pool)            MB/s   CPU cores busy   MB per CPU-second   × one worker');
  for (const h of host)
    log(
      `  ${`${h.codec}, ${h.workers} worker${h.workers > 1 ? 's' : ''}`.padEnd(26)}${fmt(h.MBps).padStart(8)}${fmt(h.cpuCores, 2).padStart(17)}${fmt(h.MBperCpuSecond).padStart(20)}${fmt(h.overOneWorker, 2).padStart(15)}×`,
    );

  // The command-line peers.
  // Each is compared with shardline's record path per core with the matching codec (jq: the fastest).
  const perCoreOf = (codec?: string) => (codec ? perCore.find((p) => p.codec === codec) : [...perCore].filter((p) => p.codec !== 'none').sort((a, b) => b.shardlineMBps - a.shardlineMBps)[0]);
  const tools = [
    { name: "jq -cR 'fromjson? | objects'", tool: 'jq', command: `jq -cR 'fromjson? | objects' '${file}' > /dev/null`, versus: perCoreOf() },
    { name: 'gzip -1', tool: 'gzip', command: `gzip -1 -c '${file}' > /dev/null`, versus: perCoreOf('gzip-1') },
    { name: 'zstd -1 -T1', tool: 'zstd', command: `zstd -q -1 -T1 -c '${file}' > /dev/null`, versus: perCoreOf('zstd-1') },
  ];
  const peers: Array<{ peer: string; MBps: number | null; shardlineCodec: string; shardlineOverPeer: number | null }> = [];
  for (const t of tools) {
    let best: number | undefined;
    for (let r = 0; r < RUNS; r++) {
      const s = timedCommand(t.tool, t.command);
      if (s !== undefined) best = Math.min(best ?? Infinity, s);
    }
    const MBps = best === undefined ? null : mbps(size, best);
    const versus = t.versus as (typeof perCore)[number];
    peers.push({ peer: t.name, MBps, shardlineCodec: versus.codec, shardlineOverPeer: MBps === null ? null : versus.shardlineMBps / MBps });
  }
  log('\ncommand-line peers (one core)  MB/s   shardline per core ÷ peer');
  for (const p of peers) log(`  ${p.peer.padEnd(29)}${p.MBps === null ? 'not installed' : `${fmt(p.MBps).padStart(5)}${fmt(p.shardlineOverPeer ?? 0, 2).padStart(10)}× (${p.shardlineCodec})`}`);

  // One 4 MiB chunk's latency with the pool.
  const chunk = await sampleChunk(file, size);
  const latency: Array<{ codec: string; workers: number; medianMs: number; p90Ms: number }> = [];
  const pool = new RecordPool(MAX_WORKERS);
  for (const c of CODECS.filter((x) => x.codec !== 'none')) {
    const ms: number[] = [];
    for (let r = 0; r < 3 + LATENCY_RUNS; r++) {
      const t = await chunkLatency(chunk, pool, c.codec, c.level);
      if (r >= 3) ms.push(t);
    }
    latency.push({ codec: c.name, workers: MAX_WORKERS, medianMs: percentile(ms, 50), p90Ms: percentile(ms, 90) });
  }
  log(`\n4 MiB chunk (${fmt(chunk.length / 1e6, 2)} MB from memory, S3 left out), ${MAX_WORKERS} workers, ${LATENCY_RUNS} runs: median / p90 ms`);
  for (const l of latency) log(`  ${l.codec.padEnd(28)}${fmt(l.medianMs, 1).padStart(6)} / ${fmt(l.p90Ms, 1)}`);

  // Memory flat in object size: the same pool over a quarter of the file and over all of it.
  const quarter = await peakRssGrowth(() => recordPath(file, Math.floor(size / 4), pool, 'gzip', 1));
  const whole = await peakRssGrowth(() => recordPath(file, size, pool, 'gzip', 1));
  await pool.close();
  const memory = { quarterFileMB: size / 4 / 1e6, quarterPeakRssGrowthMB: quarter, wholeFileMB: size / 1e6, wholePeakRssGrowthMB: whole };
  log(`\nmemory: peak RSS growth ${fmt(quarter)} MB over ${fmt(size / 4e6)} MB, ${fmt(whole)} MB over ${fmt(size / 1e6)} MB (gzip-1, ${MAX_WORKERS} workers)`);

  const best = perCore.filter((p) => p.codec !== 'none').sort((a, b) => b.shardlineMBps - a.shardlineMBps)[0];
  const two = host.filter((h) => h.workers === 2);
  const jq = peers[0].MBps;
  const summary = {
    bestPerCoreCodec: best.codec,
    perCoreMBps: best.shardlineMBps,
    perCoreOfPlainLoop: best.ratio,
    twoWorkersOverOne: Object.fromEntries(two.map((h) => [h.codec, h.overOneWorker])),
    overJq: jq === null ? null : best.shardlineMBps / jq,
    chunkLatencyMs: Object.fromEntries(latency.map((l) => [l.codec, l.medianMs])),
  };
  const load1 = loadavg();
  log(
    `\nsummary: ${fmt(best.shardlineMBps)} MB/s per core with ${best.codec} (target ≥ ${TARGETS.perCoreMBps}), ${fmt(best.ratio, 2)}× the plain loop with the same codec (target ≥ ${TARGETS.ofPlainLoop})`,
  );
  for (const h of two) {
    const one = host.find((x) => x.codec === h.codec && x.workers === 1) as (typeof host)[number];
    const starved =
      h.cpuCores < 1.8 ? `; only ${fmt(h.cpuCores, 2)} cores were free for it (other load), and per CPU-second it did ${fmt(h.MBperCpuSecond)} MB against one worker's ${fmt(one.MBperCpuSecond)}` : '';
    log(`         ${h.codec}: 2 workers ${fmt(h.overOneWorker, 2)}× one worker (target ≥ ${TARGETS.twoWorkersOverOne})${starved}`);
  }
  if (jq !== null) log(`         ${fmt(best.shardlineMBps / jq, 1)}× jq per core`);
  for (const l of latency) log(`         4 MiB chunk with ${l.codec}: ${fmt(l.medianMs, 1)} ms median (target < ${TARGETS.chunkLatencyMs})`);
  log(`load average ${load1.map((l) => l.toFixed(2)).join(' ')} at the end`);
  if (JSON_OUT) {
    const machine = { node: process.version, cpus: availableParallelism(), loadAverageStart: load0, loadAverageEnd: load1 };
    console.log(JSON.stringify({ file: { path: file, bytes: size }, machine, runs: RUNS, perCore, host, peers, latency, memory, summary, targets: TARGETS }, null, 2));
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
