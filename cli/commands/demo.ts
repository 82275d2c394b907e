import { SingleBar, Presets } from 'cli-progress';
import { join } from 'node:path';
import { mkdir, rm } from 'node:fs/promises';
import { createAwsClients } from '../../lib/aws/clients';
import { chunkIdOf } from '../../lib/chunking/chunk';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { ingestPath } from '../../lib/ingest/ingest-path';
import { createIngestProgress } from '../progress-bar';
import { generateJsonlDataset } from '../../local/dataset';
import { parseSize } from '../../lib/units';
import { startLocalEnvironment } from '../../local/environment';
import { presentReplicas, verifyObject } from '../../local/verify';
import type { Target } from '../../lib/aws/target';

/** p-th percentile (0–100) of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** `shardline demo` as the CLI runs it: exit code 1 when anything does not balance. */
export async function demo(opts: Parameters<typeof runDemo>[0]): Promise<void> {
  process.exitCode = (await runDemo(opts)) ? 0 : 1;
}

/**
 * `npm run demo`: local up with N agents, generate a JSON Lines dataset with a few invalid lines,
 * ingest it, follow progress, verify the accounting and the replicas, print a summary, shut down.
 * Returns false if anything does not balance.
 */
export async function runDemo(opts: { size: string; agents: number; endpoint?: string; stateDir: string }): Promise<boolean> {
  const sizeBytes = parseSize(opts.size);
  const chunkSizeBytes = Math.max(1024 * 1024, Math.min(64 * 1024 * 1024, Math.ceil(sizeBytes / 16)));
  console.log(`shardline demo: ${opts.size} of JSON Lines through ${opts.agents} agents (chunk size ${(chunkSizeBytes / 1048576).toFixed(1)} MiB)`);
  const env = await startLocalEnvironment({ agents: opts.agents, endpoint: opts.endpoint, stateDir: opts.stateDir, config: { chunkSizeBytes, replicationFactor: 2 } });
  try {
    const target: Target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'local' };
    console.log(`local environment up at ${env.state.endpoint}: ${env.state.agents.map((a) => `${a.nodeId}@${a.failureDomain}`).join(', ')}`);

    const dir = join(env.state.stateDir, 'demo');
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    const data = await generateJsonlDataset({ path: join(dir, 'train.jsonl'), sizeBytes, seed: 42 });
    console.log(`generated ${(data.bytes / 1e6).toFixed(1)} MB: ${data.records} records (${data.invalidRecords} invalid)`);

    const started = Date.now();
    const progress = createIngestProgress();
    const key = `demo/${new Date().toISOString().replace(/[:.]/g, '-')}/train.jsonl`;
    await ingestPath(data.path, { bucket: env.state.resources.ingestBucket, prefix: key.replace(/train\.jsonl$/, '') }, { s3: target.clients.s3, onProgress: progress.onProgress });
    progress.stop();

    const object = await followProgress(target, key, 10 * 60 * 1000);
    const seconds = (Date.now() - started) / 1000;
    const verification = await verifyObject(target, object.objectId);
    const present = await waitForReplicas(
      target,
      env.state.agents.map((a) => a.nodeId),
      object.objectId,
      object.chunkCount,
      2,
      60_000,
    );
    const chunks = await new ObjectLedger(target.clients.doc, target.resources.ledgerTable).chunks(object.objectId);
    const latencies = chunks.map((c) => c.durationMs ?? 0);
    const t = verification.manifest.totals;
    const problems = [...verification.problems];
    if (t.recordsIn !== data.records) problems.push(`records in ${t.recordsIn} != generated ${data.records}`);
    if (t.recordsOut !== data.validRecords) problems.push(`records out ${t.recordsOut} != valid ${data.validRecords}`);
    if (t.recordsRejected !== data.invalidRecords) problems.push(`rejected ${t.recordsRejected} != invalid ${data.invalidRecords}`);
    if (present.short > 0) problems.push(`${present.short} shard(s) below 2 replicas`);

    console.log('\nSUMMARY');
    console.log(`  object            s3://${env.state.resources.ingestBucket}/${key} (${object.chunkCount} chunks)`);
    console.log(`  records in        ${t.recordsIn}`);
    console.log(`  records out       ${t.recordsOut}`);
    console.log(`  records rejected  ${t.recordsRejected}`);
    console.log(`  records filtered  ${t.recordsFiltered}`);
    console.log(`  balanced          ${verification.manifest.balanced ? 'yes' : 'NO'} (in = out + rejected + filtered)`);
    console.log(`  shards            ${verification.manifest.shards.length}, each once; ${present.replicated} with >= 2 replicas verified by sha256`);
    console.log(`  throughput        ${(data.bytes / 1e6 / seconds).toFixed(1)} MB/s end to end (${seconds.toFixed(1)} s from ingest to manifest)`);
    console.log(`  chunk latency     p50 ${percentile(latencies, 50)} ms, p99 ${percentile(latencies, 99)} ms`);
    console.log(`  manifest          s3://${env.state.resources.processedBucket}/${object.manifestKey}`);
    if (problems.length) console.log(`\nFAILED:\n  ${problems.join('\n  ')}`);
    else console.log('\nOK: every valid record delivered exactly once; accounting balances; every shard on 2 nodes');
    return problems.length === 0;
  } finally {
    await env.stop();
  }
}

async function followProgress(target: Target, key: string, timeoutMs: number) {
  const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  const bar = new SingleBar({ format: 'processing |{bar}| {value}/{total} chunks | {status}', hideCursor: true, noTTYOutput: true, notTTYSchedule: 2000 }, Presets.shades_classic);
  const deadline = Date.now() + timeoutMs;
  let started = false;
  try {
    while (Date.now() < deadline) {
      const object = (await ledger.list()).find((o) => o.key === key);
      if (object) {
        if (!started) bar.start(object.chunkCount, 0, { status: object.status });
        started = true;
        bar.update(object.chunksDone, { status: object.status });
        if (object.status === 'COMPLETE') return object;
        if (object.status === 'FAILED' || object.status === 'QUARANTINED') throw new Error(`object ${object.status.toLowerCase()}: ${object.lastError}`);
      }
      await new Promise((r) => setTimeout(r, 500));
    }
    throw new Error(`object ${key} did not complete within ${timeoutMs / 1000} s`);
  } finally {
    bar.stop();
  }
}

async function waitForReplicas(target: Target, nodeIds: string[], objectId: string, chunkCount: number, r: number, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  let replicated: number;
  do {
    const present = await presentReplicas(target, nodeIds);
    replicated = Array.from({ length: chunkCount }, (_, i) => present.get(chunkIdOf(objectId, i))?.length ?? 0).filter((n) => n >= r).length;
    if (replicated === chunkCount) break;
    await new Promise((res) => setTimeout(res, 500));
  } while (Date.now() < deadline);
  return { replicated, short: chunkCount - replicated };
}
