import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplicaPuller, type CacheEvent } from '../../lib/agent/replica-puller';
import { clientOnSameEndpoint } from '../../lib/aws/clients';
import { bytesBelow } from '../../lib/cache/capacity';
import { readManifest } from '../../lib/cache/cache-manifest';
import { replicasOf } from '../../lib/cluster/replica-repair';
import { keys, type ReplicaItem } from '../../lib/ledger/items';
import type { Log } from '../../lib/log';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const SHARD_BYTES = 1024 * 1024;
const quiet: Log = () => undefined;

/** A processed shard in S3 with its chunk item (records) in the ledger. */
interface Shard {
  objectId: string;
  chunkId: string;
  shardKey: string;
  sha256: string;
  bytes: number;
  records: number;
}

/**
 * The host's shard cache against a local AWS endpoint (real S3 and DynamoDB): capacity enforced
 * while more shards are assigned than fit, the ledger true to the files, a restarted agent taking
 * its cache back without a GET, corrupt and unknown files found and dealt with.
 */
describe('shard cache (replica puller, real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let s3: S3Client;
  let gets = 0;
  let root: string;
  const shards: Shard[] = [];

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    // A client of its own, so counting its GETs sees only the pullers'.
    s3 = clientOnSameEndpoint(env.clients, S3Client, { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' });
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') gets++;
        return next(args);
      },
      { step: 'initialize', name: 'countGets' },
    );
    root = await mkdtemp(join(tmpdir(), 'shardline-cache-'));
    const objectId = 'a'.repeat(32);
    for (let i = 0; i < 8; i++) {
      const body = randomBytes(SHARD_BYTES - 1000 * i);
      const shard: Shard = {
        objectId,
        chunkId: `${objectId}-${String(i).padStart(6, '0')}`,
        shardKey: `shards/${objectId}/${String(i).padStart(6, '0')}-a1.jsonl.gz`,
        sha256: createHash('sha256').update(body).digest('hex'),
        bytes: body.length,
        records: 100 + i,
      };
      await env.clients.s3.send(new PutObjectCommand({ Bucket: env.resources.processedBucket, Key: shard.shardKey, Body: body }));
      await env.clients.doc.send(
        new PutCommand({ TableName: env.resources.ledgerTable, Item: { ...keys.chunk(objectId, i), objectId, chunkId: shard.chunkId, index: i, status: 'PROCESSED', recordsOut: shard.records } }),
      );
      shards.push(shard);
    }
  }, 60_000);
  afterAll(async () => {
    await env?.server.stop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  /** Assigns shards to a node as a chunk commit does (records left out on odd ones: read from the chunk item). */
  async function assign(nodeId: string, which: Shard[], at = Date.now()): Promise<void> {
    for (const [i, s] of which.entries()) {
      const item: ReplicaItem = {
        ...keys.replica(nodeId, s.chunkId),
        nodeId,
        chunkId: s.chunkId,
        objectId: s.objectId,
        shardKey: s.shardKey,
        sha256: s.sha256,
        bytes: s.bytes,
        ...(i % 2 === 0 ? { records: s.records } : {}),
        status: 'ASSIGNED',
        assignedAt: new Date(at + i).toISOString(),
      };
      await env.clients.doc.send(new PutCommand({ TableName: env.resources.ledgerTable, Item: item }));
    }
  }

  function puller(nodeId: string, cacheDir: string, opts: Partial<ConstructorParameters<typeof ReplicaPuller>[0]> = {}) {
    return new ReplicaPuller({
      s3,
      doc: env.clients.doc,
      ledgerTable: env.resources.ledgerTable,
      processedBucket: env.resources.processedBucket,
      nodeId,
      cacheDir,
      log: quiet,
      ...opts,
    });
  }

  const ledgerOf = (nodeId: string) => replicasOf({ doc: env.clients.doc, ledgerTable: env.resources.ledgerTable }, nodeId);

  /** The ledger is true: PRESENT exactly for the shard files on disk with the right bytes. */
  async function expectLedgerMatchesFiles(nodeId: string, p: ReplicaPuller): Promise<void> {
    for (const r of await ledgerOf(nodeId)) {
      const onDisk = await readFile(p.cache.pathOf(r)).catch(() => undefined);
      const holds = onDisk !== undefined && createHash('sha256').update(onDisk).digest('hex') === r.sha256;
      expect({ chunkId: r.chunkId, present: r.status === 'PRESENT' }).toEqual({ chunkId: r.chunkId, present: holds });
    }
  }

  it('never exceeds a capacity of a few MB while more shards are assigned than fit, evicting only what placement moved away', async () => {
    const nodeId = 'host-capacity';
    const cacheDir = join(root, nodeId);
    const capBytes = 4 * SHARD_BYTES;
    const events: CacheEvent[] = [];
    const p = puller(nodeId, cacheDir, { cachePolicy: { capBytes }, onCacheEvent: (e) => events.push(e) });
    await assign(nodeId, shards);
    let maxBytes = 0;
    const sampler = setInterval(() => void bytesBelow(join(cacheDir, 'shards')).then((b) => (maxBytes = Math.max(maxBytes, b))), 5);
    try {
      await p.pullOnce();
      const first = await ledgerOf(nodeId);
      expect(first.filter((r) => r.status === 'PRESENT')).toHaveLength(4);
      const refused = first.filter((r) => r.status === 'REFUSED');
      expect(refused).toHaveLength(4);
      expect(refused[0].refusedReason).toMatch(/^cache full: shard needs \d+ B; \d+ of 4194304 B used by 4 shards, 0 evictable$/);
      expect(events.filter((e) => e.kind === 'refused')).toHaveLength(4);
      await expectLedgerMatchesFiles(nodeId, p);

      // Placement moves two shards away (a rebalance drops their items): they become evictable and two refused ones fit.
      const moved = first.filter((r) => r.status === 'PRESENT').slice(0, 2);
      for (const r of moved) await env.clients.doc.send(new DeleteCommand({ TableName: env.resources.ledgerTable, Key: { pk: r.pk, sk: r.sk } }));
      await p.pullOnce();
      const second = await ledgerOf(nodeId);
      expect(second.filter((r) => r.status === 'PRESENT')).toHaveLength(4);
      expect(second.filter((r) => r.status === 'REFUSED')).toHaveLength(2);
      expect(events.filter((e) => e.kind === 'evicted').map((e) => e.chunkId)).toEqual(moved.map((r) => r.chunkId));
      await expectLedgerMatchesFiles(nodeId, p);
      for (const r of moved) await expect(stat(p.cache.pathOf(r))).rejects.toThrow();
    } finally {
      clearInterval(sampler);
    }
    const manifest = await readManifest(cacheDir);
    expect(manifest?.capacityBytes).toBe(capBytes);
    expect(manifest?.usedBytes).toBeLessThanOrEqual(capBytes);
    expect(maxBytes).toBeGreaterThan(3 * SHARD_BYTES);
    expect(maxBytes).toBeLessThanOrEqual(capBytes);
    console.log(`capacity test: cache bytes peaked at ${maxBytes} of ${capBytes} (manifest usedBytes ${manifest?.usedBytes})`);
  });

  it('writes a manifest with every shard file, its records, capacity and use', async () => {
    const nodeId = 'host-manifest';
    const cacheDir = join(root, nodeId);
    const p = puller(nodeId, cacheDir);
    await assign(nodeId, shards.slice(0, 2));
    await p.pullOnce();
    const manifest = await readManifest(cacheDir);
    expect(manifest).toMatchObject({ version: 1, nodeId, usedBytes: shards[0].bytes + shards[1].bytes });
    expect(manifest?.capacityBytes).toBeGreaterThan(0);
    expect(
      manifest?.shards.map((s) => ({
        chunkId: s.chunkId,
        path: s.path,
        relativePath: s.relativePath,
        sha256: s.sha256,
        bytes: s.bytes,
        shardKey: s.shardKey,
        records: s.records,
        assigned: s.assigned,
      })),
    ).toEqual(
      shards.slice(0, 2).map((s) => ({
        chunkId: s.chunkId,
        path: join(cacheDir, 'shards', s.objectId, s.shardKey.split('/').pop() as string),
        relativePath: `shards/${s.objectId}/${s.shardKey.split('/').pop()}`,
        sha256: s.sha256,
        bytes: s.bytes,
        shardKey: s.shardKey,
        records: s.records,
        assigned: true,
      })),
    );
  });

  it('pulls nothing again when restarted with the same identity, even after its replicas were handed off and back', async () => {
    const nodeId = 'host-restart';
    const cacheDir = join(root, nodeId);
    await assign(nodeId, shards.slice(0, 5));
    gets = 0;
    await puller(nodeId, cacheDir).pullOnce();
    const firstRun = gets;
    expect(firstRun).toBe(5);

    gets = 0;
    const events: CacheEvent[] = [];
    const restarted = puller(nodeId, cacheDir, { onCacheEvent: (e) => events.push(e) });
    expect(await restarted.pullOnce()).toBe(0); // nothing to change: every replica is PRESENT and held
    expect(gets).toBe(0);

    // A clean leave dropped its items; the rejoin's rebalance assigns the same shards again.
    for (const r of await ledgerOf(nodeId)) await env.clients.doc.send(new DeleteCommand({ TableName: env.resources.ledgerTable, Key: { pk: r.pk, sk: r.sk } }));
    const again = puller(nodeId, cacheDir, { onCacheEvent: (e) => events.push(e) });
    await again.pullOnce(); // no items: the files stay as unassigned shards (the last manifest knew them)
    expect(again.report()).toMatchObject({ shards: 5, unassigned: 5 });
    await assign(nodeId, shards.slice(0, 5));
    expect(await again.pullOnce()).toBe(5);
    expect(gets).toBe(0);
    expect(events.filter((e) => e.kind === 'adopted')).toHaveLength(5);
    await expectLedgerMatchesFiles(nodeId, again);
    console.log(`restart test: first run ${firstRun} GETs, restart 0 expected -> ${gets} GETs`);
  });

  it('replaces a cache file corrupted while the agent was down, and one corrupted while it runs', async () => {
    const nodeId = 'host-corrupt';
    const cacheDir = join(root, nodeId);
    await assign(nodeId, shards.slice(0, 3));
    const first = puller(nodeId, cacheDir);
    await first.pullOnce();
    const victim = first.cache.pathOf(shards[1]);
    await writeFile(victim, randomBytes(shards[1].bytes)); // same size, other bytes

    gets = 0;
    const restarted = puller(nodeId, cacheDir, { statEveryMs: 0 });
    await restarted.pullOnce();
    expect(gets).toBe(1);
    expect(
      createHash('sha256')
        .update(await readFile(victim))
        .digest('hex'),
    ).toBe(shards[1].sha256);
    await expectLedgerMatchesFiles(nodeId, restarted);

    // Corrupted in place with its mtime put back (bit rot): only the checksum scrub can find it.
    // (A whole-second mtime first, which the running agent records, so that it can be put back exactly.)
    const second = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    await utimes(victim, second, second);
    await restarted.pullOnce();
    await writeFile(victim, randomBytes(shards[1].bytes));
    await utimes(victim, second, second);
    let now = Date.now();
    gets = 0;
    const scrubbing = puller(nodeId, cacheDir, { verifyEveryMs: 60_000, now: () => now });
    // Opened after a restart: the manifest vouches for the file (size and mtime unchanged), so it
    // is served at once, but vouched files are due for the checksum scrub right away.
    await scrubbing.pullOnce();
    expect(gets).toBe(1);
    expect(
      createHash('sha256')
        .update(await readFile(victim))
        .digest('hex'),
    ).toBe(shards[1].sha256);
    await expectLedgerMatchesFiles(nodeId, scrubbing);

    // While it runs, the scrub checks every file again once verifyEveryMs has passed.
    const mtime = new Date(Math.floor(Date.now() / 1000) * 1000 - 5000);
    await utimes(victim, mtime, mtime);
    await scrubbing.pullOnce();
    await writeFile(victim, randomBytes(shards[1].bytes));
    await utimes(victim, mtime, mtime);
    gets = 0;
    await scrubbing.pullOnce();
    expect(gets).toBe(0); // not due yet
    now += 61_000;
    await scrubbing.pullOnce();
    expect(gets).toBe(1);
    expect(
      createHash('sha256')
        .update(await readFile(victim))
        .digest('hex'),
    ).toBe(shards[1].sha256);
    await expectLedgerMatchesFiles(nodeId, scrubbing);
  });

  it('removes unknown and partial files when the cache is opened, and keeps what it knows', async () => {
    const nodeId = 'host-unknown';
    const cacheDir = join(root, nodeId);
    await assign(nodeId, shards.slice(0, 1));
    await puller(nodeId, cacheDir).pullOnce();
    const stray = join(cacheDir, 'shards', 'f'.repeat(32), '000000-a1.jsonl.gz');
    const partial = `${join(cacheDir, 'shards', shards[0].objectId, 'x')}.partial`;
    await mkdir(join(cacheDir, 'shards', 'f'.repeat(32)), { recursive: true });
    await writeFile(stray, 'not a shard of this node');
    await writeFile(partial, 'half');
    gets = 0;
    const events: CacheEvent[] = [];
    const p = puller(nodeId, cacheDir, { onCacheEvent: (e) => events.push(e) });
    await p.pullOnce();
    await expect(stat(stray)).rejects.toThrow();
    await expect(stat(partial)).rejects.toThrow();
    await expect(stat(join(cacheDir, 'shards', 'f'.repeat(32)))).rejects.toThrow(); // its empty directory too
    expect(events.map((e) => e.kind).sort()).toEqual(['removed', 'removed']);
    expect(gets).toBe(0);
    expect(p.report()).toMatchObject({ shards: 1, unassigned: 0 });
  });
});
