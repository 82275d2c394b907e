import { PutObjectCommand } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import { CACHE_MANIFEST_FILE } from '../../lib/cache/cache-manifest';
import { createDatasetIndex } from '../../lib/dataset/create-index';
import type { DatasetIndex } from '../../lib/dataset/index-format';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { presentReplicas } from '../../local/verify';
import { waitFor } from '../support/wait';

const PYTHONPATH = resolve(__dirname, '..', '..', 'clients', 'python');
const VALID = 4000; // a multiple of the world size: no rank is padded, so "exactly once" is strict
const WORLD_SIZE = 4;

/** JSON Lines with `VALID` good records and a few bad lines (not JSON, not an object, truncated). */
function dataset(): { body: string; ids: string[]; bad: number } {
  const ids: string[] = [];
  const lines: string[] = [];
  let bad = 0;
  for (let i = 0; i < VALID; i++) {
    ids.push(`rec-${i}`);
    lines.push(JSON.stringify({ id: `rec-${i}`, text: `sample ${i} — naïve café ✓ ${'x'.repeat(i % 120)}` }));
    if (i % 700 === 350) {
      lines.push(['not json', '[1, 2, 3]', '{"id": "cut', '"a string"'][bad % 4]);
      bad++;
    }
  }
  return { body: lines.join('\n') + '\n', ids, bad };
}

/** The shard keys a host's cache lists now (its agent's manifest, which the reader reads first). */
function cachedShards(cacheDir: string): Set<string> {
  const manifest = JSON.parse(readFileSync(join(cacheDir, CACHE_MANIFEST_FILE), 'utf8')) as { shards: Array<{ shardKey: string }> };
  return new Set(manifest.shards.map((s) => s.shardKey));
}

/** What one `python3 -m shardline read` printed: its record ids and its summary (reads by source). */
interface RankRead {
  rank: number;
  ids: string[];
  stats: { cache_records: number; s3_records: number; local_fraction: number };
}

/**
 * The training side end to end: a local pipeline (moto, the in-process chunker, 3 agent processes
 * with their caches) processes a JSON Lines file; an index is built from it; 4 ranks of the
 * Python reader on 2 "hosts" (the caches of agent-1 and agent-2) read it for two epochs.
 */
describe('training read end to end (3 agents, index, Python reader as 4 ranks on 2 hosts)', () => {
  let env: LocalEnvironment;
  let target: Target;

  beforeAll(async () => {
    env = await startLocalEnvironment({
      agents: 3,
      stateDir: mkdtempSync(join(tmpdir(), 'shardline-training-')),
      config: { chunkSizeBytes: 48 * 1024, replicationFactor: 2 },
    });
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'test' };
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  /** Reads one epoch as `rank` of `WORLD_SIZE` with the reader's CLI, from `cacheDir` first. */
  async function readRank(indexUrl: string, rank: number, cacheDir: string, epoch: number): Promise<RankRead> {
    const { stdout, stderr } = await promisify(execFile)(
      'python3',
      ['-m', 'shardline', 'read', indexUrl, '--rank', String(rank), '--world-size', String(WORLD_SIZE), '--cache-dir', cacheDir, '--epoch', String(epoch), '--seed', '17'],
      {
        env: { ...process.env, PYTHONPATH, AWS_ENDPOINT_URL: env.state.endpoint, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: env.state.region },
        maxBuffer: 64 * 1024 * 1024,
        timeout: 60_000,
      },
    );
    const summary = JSON.parse(stderr.trim().split('\n').pop() as string) as { records: number; stats: RankRead['stats'] };
    const ids = stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { id: string }).id);
    expect(summary.records).toBe(ids.length);
    return { rank, ids, stats: summary.stats };
  }

  it('gives every valid record exactly once per epoch across 4 ranks, in equal counts, each reading from its host’s cache what that host holds', async () => {
    const { body, ids, bad } = dataset();
    const key = 'training/corpus ✓.jsonl';
    await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: body }));
    const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === key && o.status === 'COMPLETE'), 90_000);
    expect(object).toMatchObject({ recordsOut: VALID, recordsRejected: bad });
    // The caches are warm and settled: every shard PRESENT on exactly R = 2 nodes (a copy being moved is
    // PRESENT on 3 for a moment: copied to its new holder before the old one drops it).
    const nodeIds = env.agents.map((a) => a.nodeId);
    await waitFor(async () => {
      const present = await presentReplicas(target, nodeIds);
      return present.size === object.chunkCount && [...present.values()].every((holders) => holders.length === 2);
    }, 30_000);

    const deps = { s3: target.clients.s3, doc: target.clients.doc, ...target.resources };
    const { index, key: indexKey } = await createDatasetIndex(deps, { name: 'train', source: { kind: 'objects', objects: [key] } });
    expect(index).toMatchObject<Partial<DatasetIndex>>({ version: 1, records: VALID });
    expect(index.shards.length).toBe(object.chunkCount);
    // The index names every PRESENT copy: at least R, more only while a move is under way.
    const moving = index.shards.filter((s) => s.holders.length !== 2);
    if (moving.length > 0) console.log(`index built while ${moving.length} shard(s) moved: ${moving.map((s) => s.holders.join('+')).join(', ')}`);
    expect(index.shards.every((s) => s.holders.length >= 2)).toBe(true);
    const indexUrl = `s3://${target.resources.processedBucket}/${indexKey}`;
    // Records keep file order across the object's shards: rec-i is in the shard where i falls.
    const ends = index.shards.map((_, k) => index.shards.slice(0, k + 1).reduce((n, x) => n + x.records, 0));
    const shardOf = (id: string) => ends.findIndex((end) => Number(id.slice('rec-'.length)) < end);

    // Two "hosts": ranks 0 and 1 on agent-1's host, ranks 2 and 3 on agent-2's; agent-3's shards are only in S3 for them.
    const hosts = [env.agents[0], env.agents[0], env.agents[1], env.agents[1]];
    const orders: string[][][] = [];
    let cacheRecords = 0;
    let s3Records = 0;
    let beyondIndex = 0; // shards a host's cache still lists that the index gives to other holders
    let exactEpochs = 0; // epochs whose caches did not change under the reads, where the split by source is exact
    for (const epoch of [0, 1]) {
      // What each host's cache lists as the reads start (the index's holders, plus any surplus copy the agents keep meanwhile).
      const cached = hosts.map((host) => cachedShards(host.cacheDir));
      // A copy the leader dropped stays in its holder's cache until that agent's next replica read (up to 10 s when idle).
      for (const host of new Set(hosts)) {
        const extra = [...cachedShards(host.cacheDir)].filter((k) => !index.shards.some((x) => x.key === k && x.holders.includes(host.nodeId)));
        beyondIndex = Math.max(beyondIndex, extra.length);
      }
      const reads = await Promise.all(hosts.map((host, rank) => readRank(indexUrl, rank, host.cacheDir, epoch)));
      const unchanged = hosts.every((host, rank) => [...cachedShards(host.cacheDir)].sort().join() === [...cached[rank]].sort().join());
      const all = reads.flatMap((r) => r.ids);
      expect(reads.map((r) => r.ids.length)).toEqual([VALID / 4, VALID / 4, VALID / 4, VALID / 4]); // equal counts
      expect(new Set(all).size).toBe(all.length); // disjoint: nothing twice
      expect([...all].sort()).toEqual([...ids].sort()); // complete: every valid record, and only those
      for (const r of reads) {
        // A rank reads from its host's cache exactly the records of the shards that host's cache lists (when that did not change under the read).
        const fromHost = r.ids.filter((id) => cached[r.rank].has(index.shards[shardOf(id)].key)).length;
        if (unchanged) expect(r.stats).toMatchObject({ cache_records: fromHost, s3_records: r.ids.length - fromHost });
        expect(r.stats.cache_records + r.stats.s3_records).toBe(r.ids.length);
        cacheRecords += r.stats.cache_records;
        s3Records += r.stats.s3_records;
      }
      orders.push(reads.map((r) => r.ids));
      if (unchanged) exactEpochs++;
    }
    expect(orders[1]).not.toEqual(orders[0]); // set_epoch reshuffles
    const localFraction = cacheRecords / (cacheRecords + s3Records);
    console.log(
      `training read: ${VALID} valid records (${bad} invalid lines rejected) in ${index.shards.length} shards; ${WORLD_SIZE} ranks on 2 hosts, 2 epochs: ` +
        `each rank ${VALID / WORLD_SIZE} records per epoch, every record once; local-hit fraction ${localFraction.toFixed(3)} (${cacheRecords} from cache, ${s3Records} from S3); ` +
        `up to ${beyondIndex} shards per host read from cache beyond the index's holders (copies dropped, not yet removed)`,
    );
    expect(cacheRecords).toBeGreaterThan(0);
    expect(exactEpochs).toBeGreaterThan(0);
  }, 150_000);
});
