import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { open, readFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAX_IDLE_PULL_WAIT_MS } from '../../lib/agent/replica-keeper';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { readManifest, type CacheManifest } from '../../lib/cache/cache-manifest';
import { bytesBelow } from '../../lib/cache/capacity';
import { listFiles, sha256OfFile } from '../../lib/cache/reconcile';
import { chunkIdOf } from '../../lib/chunking/chunk';
import { NodeRegistry, type NodeItem } from '../../lib/cluster/registry';
import { replicasOf } from '../../lib/cluster/replica-repair';
import { keys, type ChunkItem, type ReplicaItem } from '../../lib/ledger/items';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { METRICS_LISTENING_MESSAGE } from '../../local/agent-metrics-endpoint';
import { METRICS_BASE_PORT_ENV, type LocalAgent } from '../../local/agent-processes';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { waitFor } from '../support/wait';

const R = 2;
/** The cache cap every agent gets: 4 MiB, passed as `--cache-capacity-gib` (exact in binary). */
const CAPACITY_BYTES = 4 * 1024 * 1024;
const CAPACITY_GIB = CAPACITY_BYTES / 1024 ** 3;
/** Input bytes per chunk: base64 noise gzips (level 1) to about 74%, so shards of about 0.93 MB; 4 fit in a cache, 5 do not. */
const CHUNK_BYTES = 1_250_000;
const CHUNKS = 8;
/** How often the running agent stats its cached files (the puller's default `statEveryMs`): a rewritten file is hashed again then. */
const STAT_EVERY_MS = 30_000;
/**
 * The check runs in the first replica pass once STAT_EVERY_MS has passed, and an idle node's passes
 * come up to MAX_IDLE_PULL_WAIT_MS apart (plus the pass itself): a file rewritten just after one check
 * is seen by the next within about two idle waits past STAT_EVERY_MS.
 */
const FOUND_WITHIN_MS = STAT_EVERY_MS + 2 * MAX_IDLE_PULL_WAIT_MS;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** JSON Lines of random base64 text (barely compressible), just under `chunks` chunks of `chunkBytes`. */
function noiseJsonl(chunks: number, chunkBytes: number): Buffer {
  const lines: string[] = [];
  let size = 0;
  for (let i = 0; size < chunks * chunkBytes - 5000; i++) {
    const line = JSON.stringify({ id: `rec-${i}`, text: randomBytes(675).toString('base64') });
    lines.push(line);
    size += line.length + 1;
  }
  return Buffer.from(lines.join('\n') + '\n');
}

/** The JSON records of an agent's log (one per line; other lines skipped). */
async function logRecords(agent: LocalAgent): Promise<Array<Record<string, unknown>>> {
  const text = await readFile(agent.logFile, 'utf8').catch(() => '');
  const records: Array<Record<string, unknown>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      records.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // a line cut by SIGKILL
    }
  }
  return records;
}

const withMessage = (records: Array<Record<string, unknown>>, message: string) => records.filter((r) => r.message === message);

/** Sum of one Prometheus sample over the series of `name` whose labels include `labels`. */
function metric(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** The /metrics text of the agent's current process (the last URL its log names). */
async function scrape(agent: LocalAgent): Promise<string> {
  const listening = withMessage(await logRecords(agent), METRICS_LISTENING_MESSAGE);
  const url = listening[listening.length - 1]?.url as string | undefined;
  if (!url) throw new Error(`${agent.nodeId} has not logged its /metrics URL`);
  return (await fetch(url)).text();
}

interface CachePeak {
  /** Largest sum of file sizes under `shards/` (partial files included). */
  diskBytes: number;
  /** Largest `usedBytes` the manifest showed. */
  manifestUsed: number;
  /** Largest `capacityBytes` the manifest showed. */
  manifestCapacity: number;
}

/**
 * Every `everyMs`, measures each agent's cache directory on disk and reads its manifest, keeping
 * the peaks and every sample that went over the cap.
 */
function sampleCaches(agents: () => LocalAgent[], capBytes: number, everyMs = 100) {
  const peaks = new Map<string, CachePeak>();
  const overs: string[] = [];
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      for (const a of agents()) {
        const [disk, manifest] = await Promise.all([bytesBelow(join(a.cacheDir, 'shards')), readManifest(a.cacheDir)]);
        const peak = peaks.get(a.nodeId) ?? { diskBytes: 0, manifestUsed: 0, manifestCapacity: 0 };
        peak.diskBytes = Math.max(peak.diskBytes, disk);
        peak.manifestUsed = Math.max(peak.manifestUsed, manifest?.usedBytes ?? 0);
        peak.manifestCapacity = Math.max(peak.manifestCapacity, manifest?.capacityBytes ?? 0);
        peaks.set(a.nodeId, peak);
        const used = manifest?.usedBytes ?? 0;
        if (disk > capBytes || used > capBytes || (manifest && used > manifest.capacityBytes)) {
          overs.push(`${a.nodeId} at ${new Date().toISOString()}: ${disk} B on disk, manifest ${used} of ${manifest?.capacityBytes} B`);
        }
      }
      samples++;
      await sleep(everyMs);
    }
  })();
  return {
    peaks,
    overs,
    samples: () => samples,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

describe('bounded shard cache on 3 agent processes (real pipeline, local endpoint)', () => {
  let env: LocalEnvironment;
  let clients: AwsClients;
  let registry: NodeRegistry;
  let sampler: ReturnType<typeof sampleCaches>;
  /** The shard each chunk committed, from the ledger's chunk items. */
  const shardOf = new Map<string, NonNullable<ChunkItem['shard']>>();
  const figures: string[] = [];
  /** The agent the restart test restarted (1-based). */
  let restarted = 0;
  const previousBase = process.env[METRICS_BASE_PORT_ENV];

  const ledgerDeps = () => ({ doc: clients.doc, ledgerTable: env.state.resources.ledgerTable });
  const nodeItem = async (nodeId: string): Promise<NodeItem | undefined> => (await registry.list()).find((n) => n.nodeId === nodeId);

  /**
   * What is wrong between the ledger and one agent's cache: every PRESENT replica must be a file
   * of the right size and sha256 (the chunk's shard) listed by the manifest; every REFUSED one must
   * say why and hold no file; the manifest and the files on disk must list exactly the PRESENT ones.
   */
  async function ledgerProblems(agent: LocalAgent): Promise<{ problems: string[]; present: ReplicaItem[]; refused: ReplicaItem[]; manifest?: CacheManifest }> {
    const problems: string[] = [];
    const items = await replicasOf(ledgerDeps(), agent.nodeId);
    const manifest = await readManifest(agent.cacheDir);
    if (!manifest) return { problems: [`${agent.nodeId}: no manifest`], present: [], refused: [] };
    const listed = new Map(manifest.shards.map((s) => [s.path, s]));
    const present = items.filter((r) => r.status === 'PRESENT');
    const refused = items.filter((r) => r.status === 'REFUSED');
    for (const r of items.filter((x) => x.status === 'ASSIGNED')) problems.push(`${agent.nodeId} ${r.chunkId}: still ASSIGNED`);
    for (const r of present) {
      const want = shardOf.get(r.chunkId);
      if (!want || want.sha256 !== r.sha256 || want.key !== r.shardKey) problems.push(`${agent.nodeId} ${r.chunkId}: replica item does not name the chunk's shard`);
      if (!r.localPath) {
        problems.push(`${agent.nodeId} ${r.chunkId}: PRESENT without localPath`);
        continue;
      }
      const s = await stat(r.localPath).catch(() => undefined);
      if (!s) problems.push(`${agent.nodeId} ${r.chunkId}: PRESENT but ${r.localPath} is missing`);
      else if (s.size !== r.bytes) problems.push(`${agent.nodeId} ${r.chunkId}: ${s.size} B on disk, ${r.bytes} B in the ledger`);
      else if ((await sha256OfFile(r.localPath)) !== r.sha256) problems.push(`${agent.nodeId} ${r.chunkId}: sha256 of ${r.localPath} differs from the ledger's`);
      const entry = listed.get(r.localPath);
      if (!entry || entry.sha256 !== r.sha256 || !entry.assigned) problems.push(`${agent.nodeId} ${r.chunkId}: PRESENT but not in the manifest as an assigned shard`);
    }
    for (const r of refused) {
      if (!/^cache full: shard needs \d+ B/.test(r.refusedReason ?? '') || !r.refusedAt) problems.push(`${agent.nodeId} ${r.chunkId}: REFUSED without a reason (${r.refusedReason})`);
      if (manifest.shards.some((s) => s.chunkId === r.chunkId)) problems.push(`${agent.nodeId} ${r.chunkId}: REFUSED but listed by the manifest`);
    }
    const presentPaths = present.map((r) => r.localPath).sort();
    if (
      manifest.shards
        .map((s) => s.path)
        .sort()
        .join() !== presentPaths.join()
    )
      problems.push(`${agent.nodeId}: manifest lists ${manifest.shards.length} shards, ledger says ${present.length} PRESENT`);
    const onDisk = (await listFiles(join(agent.cacheDir, 'shards'))).map((f) => f.path).sort();
    if (onDisk.join() !== presentPaths.join()) problems.push(`${agent.nodeId}: ${onDisk.length} files on disk, ledger says ${present.length} PRESENT`);
    const presentBytes = present.reduce((n, r) => n + r.bytes, 0);
    if (manifest.usedBytes !== presentBytes) problems.push(`${agent.nodeId}: manifest usedBytes ${manifest.usedBytes}, PRESENT bytes ${presentBytes}`);
    if (manifest.capacityBytes !== CAPACITY_BYTES) problems.push(`${agent.nodeId}: manifest capacityBytes ${manifest.capacityBytes}, cap ${CAPACITY_BYTES}`);
    return { problems, present, refused, manifest };
  }

  /** Waits until every agent's cache and the ledger agree and nothing is left to pull. */
  async function settled(timeoutMs: number) {
    return waitFor(
      async () => {
        const checks = await Promise.all(env.agents.map((a) => ledgerProblems(a)));
        // Settled also means every shard has its R holders: a move adds the new holder before it drops the old one.
        const holders = checks.reduce((n, c) => n + c.present.length + c.refused.length, 0);
        return checks.every((c) => c.problems.length === 0) && holders >= CHUNKS * R && checks;
      },
      timeoutMs,
      500,
    ).catch(async (err: Error) => {
      const checks = await Promise.all(env.agents.map((a) => ledgerProblems(a)));
      const holders = checks.reduce((n, c) => n + c.present.length + c.refused.length, 0);
      throw new Error(`${err.message}; ${holders} present or refused replicas of ${CHUNKS * R}; left: ${checks.flatMap((c) => c.problems).join('; ')}`);
    });
  }

  beforeAll(async () => {
    process.env[METRICS_BASE_PORT_ENV] = '0'; // free ports: never collides with other local runs
    const stateDir = mkdtempSync(join(tmpdir(), 'shardline-host-cache-'));
    env = await startLocalEnvironment({
      agents: 3,
      stateDir,
      agentArgs: ['--cache-capacity-gib', String(CAPACITY_GIB)],
      // A killed agent restarts well within 30 s, so it is not declared dead meanwhile and keeps
      // its replica items (with the default 3.5 s a slow restart is a failure and its replicas move:
      // the membership tests' subject, not this one's).
      config: { chunkSizeBytes: CHUNK_BYTES, replicationFactor: R, heartbeatTimeoutSeconds: 30 },
    });
    clients = createAwsClients({ endpoint: env.state.endpoint, region: env.state.region });
    registry = new NodeRegistry(clients.doc, env.state.resources.nodesTable);
    sampler = sampleCaches(() => env.agents, CAPACITY_BYTES);
  }, 120_000);

  afterAll(async () => {
    await sampler?.stop();
    console.log(['', 'HOST CACHE FIGURES', ...figures].join('\n'));
    await env?.stop();
    if (previousBase === undefined) delete process.env[METRICS_BASE_PORT_ENV];
    else process.env[METRICS_BASE_PORT_ENV] = previousBase;
  });

  it('never holds more than its capacity while more shards are placed than fit, and the ledger stays true', async () => {
    const key = 'host-cache/noise.jsonl';
    const body = noiseJsonl(CHUNKS, CHUNK_BYTES);
    const started = Date.now();
    const samplesAtUpload = sampler.samples();
    await clients.s3.send(new PutObjectCommand({ Bucket: env.state.resources.ingestBucket, Key: key, Body: body }));
    const ledger = new ObjectLedger(clients.doc, env.state.resources.ledgerTable);
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === key && o.status === 'COMPLETE'), 90_000, 500);
    expect(object.chunkCount).toBe(CHUNKS);
    for (let i = 0; i < object.chunkCount; i++) {
      const out = await clients.doc.send(new GetCommand({ TableName: env.state.resources.ledgerTable, Key: keys.chunk(object.objectId, i) }));
      const chunk = out.Item as ChunkItem;
      expect(chunk.shard).toBeDefined();
      shardOf.set(chunkIdOf(object.objectId, i), chunk.shard!);
    }
    const checks = await settled(45_000);
    const settledAfter = Date.now() - started;
    const fillSamples = sampler.samples() - samplesAtUpload;

    const shardBytes = [...shardOf.values()].map((s) => s.bytes);
    const replicaBytes = shardBytes.reduce((a, b) => a + b, 0) * R;
    // The dataset does not fit at R: some replicas were refused, and said so.
    expect(replicaBytes).toBeGreaterThan(CAPACITY_BYTES * env.agents.length);
    const refused = checks.reduce((n, c) => n + c.refused.length, 0);
    const present = checks.reduce((n, c) => n + c.present.length, 0);
    expect(refused).toBeGreaterThan(0);
    // At least R holders (present or refused) per shard in all; a rebalance copy refused by a full cache
    // leaves its surplus holder in place (an extra copy, by design), so it may be more.
    expect(present + refused).toBeGreaterThanOrEqual(CHUNKS * R);
    for (const chunkId of shardOf.keys()) expect(checks.filter((c) => [...c.present, ...c.refused].some((r) => r.chunkId === chunkId)).length).toBeGreaterThanOrEqual(R);
    expect(sampler.overs).toEqual([]);
    expect(fillSamples).toBeGreaterThan(10);
    figures.push(
      `  ingest: ${CHUNKS} shards of ${Math.min(...shardBytes)}–${Math.max(...shardBytes)} B at R=${R} (${replicaBytes} B of replicas) on 3 caches of ${CAPACITY_BYTES} B; settled ${(settledAfter / 1000).toFixed(1)} s after upload (${fillSamples} samples of every cache meanwhile); ${present} PRESENT, ${refused} REFUSED`,
    );
    for (const [i, a] of env.agents.entries()) {
      const peak = sampler.peaks.get(a.nodeId)!;
      expect(peak.diskBytes).toBeLessThanOrEqual(CAPACITY_BYTES);
      expect(peak.manifestUsed).toBeLessThanOrEqual(CAPACITY_BYTES);
      expect(peak.manifestCapacity).toBe(CAPACITY_BYTES);
      figures.push(
        `    ${a.nodeId}: peak ${peak.diskBytes} B on disk, manifest peak ${peak.manifestUsed} B, capacity ${CAPACITY_BYTES} B (${((100 * peak.diskBytes) / CAPACITY_BYTES).toFixed(1)}%); holds ${checks[i].present.length}, refused ${checks[i].refused.length}`,
      );
    }
    // Refusals are reported by the agents too: a log line and the heartbeat's cache load, whose count is
    // taken at the end of a replica pass (an idle node's passes come up to MAX_IDLE_PULL_WAIT_MS apart).
    for (const [i, a] of env.agents.entries()) {
      expect(withMessage(await logRecords(a), 'shard refused: cache full').length).toBeGreaterThanOrEqual(checks[i].refused.length);
      const counts = async () => ({
        node: a.nodeId,
        heartbeat: (await nodeItem(a.nodeId))?.load?.cache?.refused,
        ledger: (await replicasOf(ledgerDeps(), a.nodeId)).filter((r) => r.status === 'REFUSED').length,
      });
      const agreed = await waitFor(
        async () => {
          const c = await counts();
          return c.heartbeat === c.ledger && c;
        },
        2 * MAX_IDLE_PULL_WAIT_MS + 5000,
      ).catch(counts);
      expect(agreed).toEqual({ ...agreed, heartbeat: agreed.ledger });
    }
  }, 240_000);

  it('takes its cache back after a crash and restart with the same identity, pulling nothing again', async () => {
    const checks = await Promise.all(env.agents.map((a) => ledgerProblems(a)));
    const index = checks.reduce((best, c, i) => (c.present.length > checks[best].present.length ? i : best), 0) + 1;
    restarted = index;
    const old = env.agents[index - 1];
    const before = checks[index - 1].present;
    expect(before.length).toBeGreaterThan(0);
    const inodes = new Map(await Promise.all(before.map(async (r) => [r.chunkId, (await stat(r.localPath!)).ino] as const)));
    const opensBefore = withMessage(await logRecords(old), 'shard cache opened').length;

    const exited = new Promise((r) => old.process.once('exit', r));
    old.process.kill('SIGKILL');
    await exited;
    const restartedAt = Date.now();
    const agent = await env.restartAgent(index);
    expect(agent.nodeId).toBe(old.nodeId);
    expect(agent.cacheDir).toBe(old.cacheDir);
    // ACTIVE again as a new incarnation, idle, and its cache reopened with what it held.
    await waitFor(
      async () => {
        const node = await nodeItem(agent.nodeId);
        const opens = withMessage(await logRecords(agent), 'shard cache opened');
        return node?.status === 'ACTIVE' && Date.parse(node.startedAt) >= restartedAt - 1000 && node.load?.inFlight === 0 && node.load.cache?.shards === before.length && opens.length > opensBefore;
      },
      60_000,
      250,
    );
    const backAfter = Date.now() - restartedAt;
    await sleep(3000); // a few more passes of the puller (one every 0.5 s when idle)

    const text = await scrape(agent);
    const pulled = metric(text, 'shardline_replicas_pulled_total');
    const adopted = metric(text, 'shardline_cache_events_total', { event: 'adopted' });
    const opened = withMessage(await logRecords(agent), 'shard cache opened').pop()!;
    const after = await ledgerProblems(agent);
    figures.push(
      `  restart: ${agent.nodeId} (SIGKILL, then same node id and cache) ACTIVE and idle ${(backAfter / 1000).toFixed(1)} s after restart; ${pulled} shards pulled, ${adopted} adopted; cache opened: kept ${String(opened.kept)} (vouched by the manifest ${String(opened.vouched)}, hashed ${String(opened.hashed)}), removed ${String(opened.removed)}`,
    );

    expect(pulled).toBe(0);
    expect(opened.kept).toBe(before.length);
    expect(opened.removed).toBe(0);
    expect(after.problems).toEqual([]);
    // Same items, still PRESENT since the first pull (never re-marked), same files (a pull renames a new one in).
    expect(after.present.map((r) => `${r.chunkId}@${r.presentAt}`).sort()).toEqual(before.map((r) => `${r.chunkId}@${r.presentAt}`).sort());
    for (const r of after.present) expect((await stat(r.localPath!)).ino).toBe(inodes.get(r.chunkId));
  }, 90_000);

  it('finds a corrupted cache file while running and replaces it with the right bytes', async () => {
    const checks = await Promise.all(env.agents.map((a) => ledgerProblems(a)));
    // Not the agent just restarted: this one has been running since the start, scrubbing on its own.
    const i = checks.findIndex((c, n) => n + 1 !== restarted && c.present.length > 0);
    const agent = env.agents[i];
    const victim = checks[i].present[0];
    const path = victim.localPath!;
    const pulledBefore = metric(await scrape(agent), 'shardline_replicas_pulled_total');
    const { size } = await stat(path);

    // Overwrite 64 KiB in the middle with noise; the size stays.
    const file = await open(path, 'r+');
    await file.write(randomBytes(64 * 1024), 0, 64 * 1024, Math.floor(size / 2) - 32 * 1024);
    await file.close();
    const corruptedAt = Date.now();
    expect((await stat(path)).size).toBe(size);
    expect(await sha256OfFile(path)).not.toBe(victim.sha256);

    // Replaced: the right bytes again (a new file, though the filesystem may give it the freed inode number).
    await waitFor(async () => (await sha256OfFile(path).catch(() => '')) === victim.sha256, FOUND_WITHIN_MS + 15_000, 200);
    const replacedAfter = Date.now() - corruptedAt;
    const found = withMessage(await logRecords(agent), 'cached shard failed its check; replacing it').filter((r) => r.chunkId === victim.chunkId);
    const after = await waitFor(async () => {
      const c = await ledgerProblems(agent);
      return c.problems.length === 0 && c;
    }, 10_000);
    const text = await scrape(agent);
    figures.push(
      `  corrupt: 64 KiB of ${path.split('/').slice(-1)[0]} on ${agent.nodeId} overwritten (same size); found by the running agent's stat check (every ${STAT_EVERY_MS / 1000} s, at the next replica pass) and replaced with the right sha256 ${(replacedAfter / 1000).toFixed(1)} s later; ${metric(text, 'shardline_replicas_pulled_total') - pulledBefore} pull`,
    );

    expect(found.map((r) => r.reason)).toEqual(['corrupt']);
    expect(metric(text, 'shardline_cache_events_total', { event: 'corrupt' })).toBe(1);
    expect(metric(text, 'shardline_replicas_pulled_total') - pulledBefore).toBe(1);
    expect(after.present.find((r) => r.chunkId === victim.chunkId)?.status).toBe('PRESENT');
    expect(replacedAfter).toBeLessThan(FOUND_WITHIN_MS + 10_000);

    // Over the whole run (ingest, restart, corruption), no cache ever held more than its capacity.
    await sampler.stop();
    expect(sampler.overs).toEqual([]);
    const final = await Promise.all(env.agents.map((a) => ledgerProblems(a)));
    expect(final.flatMap((c) => c.problems)).toEqual([]);
    figures.push(
      `  over the run (${sampler.samples()} samples every ~100 ms): peak on disk ${env.agents.map((a) => `${a.nodeId} ${sampler.peaks.get(a.nodeId)!.diskBytes} B`).join(', ')} against ${CAPACITY_BYTES} B each`,
    );
  }, 120_000);
});
