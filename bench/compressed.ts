/**
 * Big compressed objects in parallel (issue 16, item 3): the same JSON Lines data dropped into the
 * local pipeline once uncompressed and once as `.jsonl.gz`, in one run on one local cluster
 * (`shardline local up`: moto, the chunker and N agent processes), timed from the moment the
 * object is in the ingest bucket to the moment its object item is COMPLETE. Prints both times
 * and their ratio (target: gzip at most 1.3× uncompressed), and checks that both objects account
 * for the same records. With `--unsplit`, a second cluster with splitting turned off times the
 * same `.gz` as one chunk, as before the split existed (the peer).
 *
 *   npm run bench:compressed [-- --mb 1024] [--agents 3] [--window-mib 64] [--runs 1] [--unsplit] [--zstd]
 *
 * MB are decimal megabytes of decompressed JSON Lines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { compress as zstdCompress } from 'zstd-napi';
import { readFile } from 'node:fs/promises';
import { createAwsClients, type AwsClients } from '../lib/aws/clients';
import { readLocalState, type LocalState } from '../lib/aws/local-state';
import { objectIdOf } from '../lib/chunking/chunk';
import { ObjectLedger } from '../lib/ledger/object-ledger';
import type { ObjectItem } from '../lib/ledger/items';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : fallback;
};
const MB = 1_000_000;
const MIB = 1024 * 1024;
const DATA_BYTES = arg('mb', 1024) * MB;
const AGENTS = arg('agents', 3);
const WINDOW_BYTES = arg('window-mib', 64) * MIB;
const RUNS = arg('runs', 1);
const TARGET_RATIO = 1.3;
const ROOT = resolve(__dirname, '..');

/** Writes about `bytes` of JSON Lines (ids, poorly compressible words) to `path`, streaming. */
async function writeJsonLines(path: string, bytes: number): Promise<number> {
  const out = createWriteStream(path);
  let written = 0;
  let seed = 12345;
  let i = 0;
  while (written < bytes) {
    const lines: string[] = [];
    for (let n = 0; n < 2000; n++, i++) {
      const words: string[] = [];
      for (let w = 0; w < 20 + (i % 40); w++) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        words.push(seed.toString(36));
      }
      lines.push(JSON.stringify({ id: `r${i}`, text: words.join(' '), n: i }));
    }
    const chunk = lines.join('\n') + '\n';
    written += chunk.length;
    if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
  }
  await new Promise<void>((r, j) => out.end((err?: Error | null) => (err ? j(err) : r())));
  return written;
}

interface Cluster {
  state: LocalState;
  clients: AwsClients;
  ledger: ObjectLedger;
  stop: () => Promise<void>;
}

/** `shardline local up` as a process, with `config`; resolves once its state file is written. */
async function startCluster(dir: string, config: Record<string, unknown>): Promise<Cluster> {
  const stateDir = join(dir, `cluster-${Date.now()}`);
  const configFile = join(dir, `config-${Date.now()}.json`);
  await writeFile(configFile, JSON.stringify(config));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--require', 'tsx/cjs', join(ROOT, 'cli', 'main.ts'), 'local', 'up', '--agents', String(AGENTS), '--config', configFile, '--state-dir', stateDir, '--dashboard-port', '0'],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  child.stderr?.on('data', () => undefined);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const deadline = Date.now() + 180_000;
  while (!output.includes('Press Ctrl-C')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`local up did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  const state = await readLocalState(stateDir);
  const clients = createAwsClients({ endpoint: state.endpoint, region: state.region });
  return {
    state,
    clients,
    ledger: new ObjectLedger(clients.doc, state.resources.ledgerTable),
    stop: async () => {
      child.kill('SIGINT');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 30_000))]);
      if (child.exitCode === null) child.kill('SIGKILL');
    },
  };
}

/** Uploads `file` as `key`, then times from that moment until the object is COMPLETE. */
async function timeObject(cluster: Cluster, file: string, key: string): Promise<{ seconds: number; object: ObjectItem }> {
  const Bucket = cluster.state.resources.ingestBucket;
  await new Upload({ client: cluster.clients.s3, params: { Bucket, Key: key, Body: createReadStream(file) }, partSize: 64 * MIB, queueSize: 2 }).done();
  const t0 = performance.now();
  const head = await cluster.clients.s3.send(new HeadObjectCommand({ Bucket, Key: key }));
  const objectId = objectIdOf({ bucket: Bucket, key, versionId: head.VersionId, etag: (head.ETag ?? '').replace(/"/g, '') });
  for (;;) {
    const object = await cluster.ledger.get(objectId);
    if (object?.status === 'COMPLETE') return { seconds: (performance.now() - t0) / 1000, object };
    if (object?.status === 'QUARANTINED' || object?.status === 'FAILED') throw new Error(`${key}: ${object.status} ${object.lastError ?? ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const fmt = (n: number, digits = 1) => n.toFixed(digits);
const counts = (o: ObjectItem) => `${o.recordsIn} in, ${o.recordsOut} out, ${o.recordsRejected} rejected, ${o.chunkCount} chunks`;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'shardline-bench-compressed-'));
  const clusters: Cluster[] = [];
  try {
    const plain = join(dir, 'data.jsonl');
    const gz = `${plain}.gz`;
    const bytes = await writeJsonLines(plain, DATA_BYTES);
    await pipeline(createReadStream(plain), createGzip({ level: 6 }), createWriteStream(gz));
    const gzBytes = (await stat(gz)).size;
    const zst = `${plain}.zst`;
    if (args.includes('--zstd')) await writeFile(zst, zstdCompress(await readFile(plain)));
    console.log(
      `big compressed objects in parallel — ${fmt(bytes / MB, 0)} MB of JSON Lines, .gz ${fmt(gzBytes / MB, 0)} MB (level 6), ${AGENTS} agents, ${WINDOW_BYTES / MIB} MiB chunks and windows`,
    );
    console.log(
      `host: ${availableParallelism()} CPUs, load average before ${loadavg()
        .map((l) => fmt(l, 2))
        .join(' ')}`,
    );

    const base = { chunkSizeBytes: WINDOW_BYTES, compressedWindowBytes: WINDOW_BYTES, replicationFactor: 1 };
    const split = await startCluster(dir, base);
    clusters.push(split);
    // Warm-up (agents' worker threads, first requests): neither measured object pays for it.
    const warm = join(dir, 'warm.jsonl');
    await writeJsonLines(warm, 2 * MB);
    await timeObject(split, warm, 'bench/warm-up.jsonl');
    const ratios: number[] = [];
    for (let run = 1; run <= RUNS; run++) {
      // Odd runs time the uncompressed object first, even runs the .gz: neither always goes first.
      const first = run % 2 === 1 ? await timeObject(split, plain, `bench/run${run}/data.jsonl`) : await timeObject(split, gz, `bench/run${run}/data.jsonl.gz`);
      const second = run % 2 === 1 ? await timeObject(split, gz, `bench/run${run}/data.jsonl.gz`) : await timeObject(split, plain, `bench/run${run}/data.jsonl`);
      const [a, b] = run % 2 === 1 ? [first, second] : [second, first];
      ratios.push(b.seconds / a.seconds);
      console.log(`run ${run}: uncompressed ${fmt(a.seconds)} s (${fmt(bytes / MB / a.seconds)} MB/s; ${counts(a.object)})`);
      console.log(`run ${run}: .jsonl.gz     ${fmt(b.seconds)} s (${fmt(bytes / MB / b.seconds)} MB/s; ${counts(b.object)})`);
      if (args.includes('--zstd')) {
        const c = await timeObject(split, zst, `bench/run${run}/data.jsonl.zst`);
        console.log(`run ${run}: .jsonl.zst    ${fmt(c.seconds)} s (${fmt(bytes / MB / c.seconds)} MB/s; ${counts(c.object)}); ratio ${fmt(c.seconds / a.seconds, 2)}×`);
      }
      const same = a.object.recordsIn === b.object.recordsIn && a.object.recordsOut === b.object.recordsOut && a.object.bytesIn === b.object.bytesIn;
      console.log(`run ${run}: gzip / uncompressed = ${fmt(b.seconds / a.seconds, 2)}× (target ≤ ${TARGET_RATIO}×); same records and bytes: ${same ? 'yes' : 'NO'}`);
    }
    await split.stop();
    clusters.pop();
    if (args.includes('--unsplit')) {
      const whole = await startCluster(dir, { ...base, compressedSplitMinBytes: Number.MAX_SAFE_INTEGER });
      clusters.push(whole);
      const c = await timeObject(whole, gz, 'bench/unsplit/data.jsonl.gz');
      console.log(`peer: .jsonl.gz as one chunk (split off) ${fmt(c.seconds)} s (${fmt(bytes / MB / c.seconds)} MB/s; ${counts(c.object)})`);
    }
    const best = Math.min(...ratios);
    console.log(
      `result: best gzip/uncompressed ratio ${fmt(best, 2)}× over ${RUNS} run(s): ${best <= TARGET_RATIO ? 'meets' : 'MISSES'} the ≤ ${TARGET_RATIO}× target; load average after ${loadavg()
        .map((l) => fmt(l, 2))
        .join(' ')}`,
    );
  } finally {
    for (const c of clusters) await c.stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
