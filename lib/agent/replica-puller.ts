import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { DeleteCommand, GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { conditionally } from '../aws/conditional-write';
import type { CacheEntry } from '../cache/cache-manifest';
import type { CapacityPolicy, FsStats } from '../cache/capacity';
import { ShardCache, unsafePathReason, type BadFile } from '../cache/shard-cache';
import type { NodeCacheLoad } from '../cluster/registry';
import { replicasOf } from '../cluster/replica-repair';
import { keys, type ReplicaItem } from '../ledger/items';
import type { Log } from '../log';

export type { CacheManifest } from '../cache/cache-manifest';

/** Something the cache did that metrics and tests count. */
export interface CacheEvent {
  kind: 'adopted' | 'evicted' | 'refused' | 'corrupt' | 'removed';
  chunkId?: string;
  bytes?: number;
  reason?: string;
}

export interface ReplicaPullerDeps {
  s3: S3Client;
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  processedBucket: string;
  nodeId: string;
  cacheDir: string;
  log: Log;
  /** How much of its filesystem the cache may use (headroom, an operator's cap). */
  cachePolicy?: CapacityPolicy;
  /** Measures the cache's filesystem. @default statfs(2) */
  fsOf?: (dir: string) => Promise<FsStats>;
  /** Time for pull and check dates. @default Date.now */
  now?: () => number;
  /** How often every cached file is stat'ed (gone or changed files are checked at once). @default 30 s */
  statEveryMs?: number;
  /** How often each cached shard's sha256 is checked again; 0: never. @default 24 h */
  verifyEveryMs?: number;
  /** Bytes that check reads per pass at most. @default 64 MiB */
  verifyBytesPerPass?: number;
  /** Told about every shard pulled into the cache (metrics). */
  onReplicaPulled?: (replica: { chunkId: string; objectId: string }) => void;
  /** Told about adoptions, evictions, refusals and bad files (metrics). */
  onCacheEvent?: (event: CacheEvent) => void;
  /** Told the cache's use and capacity after every pass (gauges). */
  onCacheReport?: (report: NodeCacheLoad) => void;
}

/** Replica items that hold a place in this node's cache. */
const HOLDING: ReadonlySet<string> = new Set(['ASSIGNED', 'PRESENT', 'REFUSED']);

/**
 * Keeps this node's shard cache equal to what the ledger assigns it, within the cache's capacity.
 * Each pass reads the node's replica items (one query) and: takes back shards already on disk
 * (marked PRESENT without a GET: after a restart nothing is pulled twice), pulls the others with
 * their sha256 checked, making room first by evicting least-recently-used shards that placement
 * no longer assigns here, and refuses (status REFUSED, with the reason) what still does not fit;
 * so the ledger says PRESENT exactly for the files held. Files that go missing or fail their
 * sha256 are dropped and pulled again.
 */
export class ReplicaPuller {
  readonly cache: ShardCache;
  private opened = false;
  private lastStatCheck = 0;
  private refused = 0;
  private readonly recordsByChunk = new Map<string, number>();

  constructor(private readonly deps: ReplicaPullerDeps) {
    this.cache = new ShardCache({ dir: deps.cacheDir, nodeId: deps.nodeId, policy: deps.cachePolicy, now: this.now, log: deps.log, fsOf: deps.fsOf });
  }

  /** The cache as heartbeats report it (zeros until the first pass has opened it). */
  report(): NodeCacheLoad {
    return { ...this.cache.report(), refused: this.refused };
  }

  /** One pass. Returns how many shards became PRESENT (pulled or taken back). */
  async pullOnce(): Promise<number> {
    const all = await replicasOf(this.deps, this.deps.nodeId);
    // A replica whose ids would put its file outside the cache directory is never pulled or touched on disk.
    const items = all.filter((r) => this.cache.safePathOf(r) !== undefined);
    if (items.length < all.length) for (const r of all.filter((x) => HOLDING.has(x.status) && this.cache.safePathOf(x) === undefined)) await this.refuseUnsafe(r);
    const replicas = items.filter((r) => HOLDING.has(r.status));
    if (!this.opened) await this.open(replicas);
    await this.checkFiles(replicas);
    const held = (r: ReplicaItem) => this.cache.find(r) !== undefined;
    const assigned = new Map(replicas.map((r) => [this.cache.pathOf(r), r]));
    this.cache.syncAssigned((e) => assigned.get(e.path)?.sha256 === e.sha256);
    const byPath = new Map(items.map((r) => [this.cache.pathOf(r), r]));

    let changed = 0;
    for (const r of replicas.filter((x) => x.status === 'PRESENT' && !held(x))) await this.unmarkPresent(r);
    for (const r of replicas.filter((x) => x.status !== 'PRESENT' && held(x))) {
      const entry = this.cache.find(r) as CacheEntry;
      entry.records ??= await this.recordsOf(r);
      if (await this.markPresent(r, entry.path)) {
        changed++;
        this.deps.onCacheEvent?.({ kind: 'adopted', chunkId: r.chunkId, bytes: r.bytes });
      }
    }
    await this.cache.refreshCapacity();
    const pending = replicas.filter((x) => !held(x)).sort((a, b) => a.assignedAt.localeCompare(b.assignedAt) || a.chunkId.localeCompare(b.chunkId));
    for (const replica of pending) {
      try {
        if (await this.pull(replica, byPath)) changed++;
      } catch (err) {
        this.deps.log('error', 'replica pull failed; will retry', { objectId: replica.objectId, chunkId: replica.chunkId, error: (err as Error).message });
      }
    }
    this.refused = all.filter((r) => r.status === 'REFUSED').length;
    await this.cache.flush();
    this.deps.onCacheReport?.(this.report());
    return changed;
  }

  private now = (): number => (this.deps.now ?? Date.now)();

  private async open(replicas: ReplicaItem[]): Promise<void> {
    const expected = replicas.map((r) => ({ chunkId: r.chunkId, objectId: r.objectId, shardKey: r.shardKey, sha256: r.sha256, bytes: r.bytes, records: r.records, path: this.cache.pathOf(r) }));
    const report = await this.cache.open(expected);
    this.opened = true;
    this.lastStatCheck = this.now();
    for (const r of report.removed) this.deps.onCacheEvent?.({ kind: r.reason === 'corrupt' ? 'corrupt' : 'removed', reason: r.reason });
    this.deps.log('info', 'shard cache opened', { ...this.cache.report(), kept: report.kept, vouched: report.vouched, hashed: report.kept - report.vouched, removed: report.removed.length });
    for (const r of report.removed) this.deps.log(r.reason === 'corrupt' ? 'warn' : 'info', 'cache file removed', { path: r.path, reason: r.reason });
  }

  /** Drops files that went missing or stopped matching their sha256; their shards are pulled again in this pass. */
  private async checkFiles(replicas: ReplicaItem[]): Promise<void> {
    const bad: BadFile[] = [];
    if (this.now() - this.lastStatCheck >= (this.deps.statEveryMs ?? 30_000)) {
      this.lastStatCheck = this.now();
      bad.push(...(await this.cache.statCheck()));
    }
    const verifyEvery = this.deps.verifyEveryMs ?? 24 * 3600_000;
    if (verifyEvery > 0) bad.push(...(await this.cache.verifyDue(verifyEvery, this.deps.verifyBytesPerPass ?? 64 * 1024 ** 2)));
    for (const { entry, reason } of bad) {
      this.deps.log('warn', 'cached shard failed its check; replacing it', { chunkId: entry.chunkId, path: entry.path, reason });
      this.deps.onCacheEvent?.({ kind: reason === 'corrupt' ? 'corrupt' : 'removed', chunkId: entry.chunkId, bytes: entry.bytes, reason });
      await this.cache.remove(entry);
      const replica = replicas.find((r) => r.chunkId === entry.chunkId && r.shardKey === entry.shardKey);
      if (replica?.status === 'PRESENT') await this.unmarkPresent(replica);
    }
  }

  /** Pulls one shard if it fits (evicting first if needed); refuses it otherwise. Returns whether it was pulled. */
  private async pull(replica: ReplicaItem, byPath: Map<string, ReplicaItem>): Promise<boolean> {
    const plan = this.cache.planRoom(replica.bytes);
    if (!plan.fits) {
      await this.refuse(replica);
      return false;
    }
    for (const entry of plan.evict) await this.evict(entry, byPath.get(entry.path));
    const records = await this.recordsOf(replica);
    const partial = await this.download(replica);
    const entry = await this.cache.admit(partial, {
      chunkId: replica.chunkId,
      objectId: replica.objectId,
      shardKey: replica.shardKey,
      sha256: replica.sha256,
      bytes: replica.bytes,
      ...(records !== undefined ? { records } : {}),
    });
    // Listed before the ledger says PRESENT: whoever reads the ledger finds the file in the manifest.
    await this.cache.flush();
    this.deps.onReplicaPulled?.({ chunkId: replica.chunkId, objectId: replica.objectId });
    if (!(await this.markPresent(replica, entry.path))) entry.assigned = false; // unassigned meanwhile: evictable
    return true;
  }

  /**
   * Evicts a shard placement no longer assigns here. Its replica item, if one is left in a state
   * other than ASSIGNED/PRESENT/REFUSED (a hand-off's mark), is deleted, so the ledger never
   * names this node as a holder of a shard it no longer has.
   */
  private async evict(entry: CacheEntry, item: ReplicaItem | undefined): Promise<void> {
    await this.cache.remove(entry);
    if (item && item.shardKey === entry.shardKey) {
      await conditionally(
        this.deps.doc.send(
          new DeleteCommand({
            TableName: this.deps.ledgerTable,
            Key: { pk: item.pk, sk: item.sk },
            ConditionExpression: 'shardKey = :key AND #s = :status',
            ExpressionAttributeNames: { '#s': 'status' },
            ExpressionAttributeValues: { ':key': item.shardKey, ':status': item.status },
          }),
        ),
      );
    }
    this.deps.log('info', 'cached shard evicted', { chunkId: entry.chunkId, bytes: entry.bytes, lastUsedAt: new Date(entry.lastUsedAt).toISOString() });
    this.deps.onCacheEvent?.({ kind: 'evicted', chunkId: entry.chunkId, bytes: entry.bytes });
  }

  /** Marks a shard REFUSED because it does not fit (once: a refusal already recorded is not written again). */
  private async refuse(replica: ReplicaItem): Promise<void> {
    if (replica.status === 'REFUSED') return;
    const r = this.cache.report();
    const reason = `cache full: shard needs ${replica.bytes} B; ${r.usedBytes} of ${r.capacityBytes} B used by ${r.shards} shards, ${r.unassigned} evictable`;
    if (!(await this.markRefused(replica, reason))) return;
    this.deps.log('warn', 'shard refused: cache full', { chunkId: replica.chunkId, objectId: replica.objectId, bytes: replica.bytes, reason });
    this.deps.onCacheEvent?.({ kind: 'refused', chunkId: replica.chunkId, bytes: replica.bytes, reason });
  }

  /** Marks a shard REFUSED because its ids would put its file outside the cache directory (once per reason). */
  private async refuseUnsafe(replica: ReplicaItem): Promise<void> {
    const reason = unsafePathReason(replica);
    if (replica.status === 'REFUSED' && replica.refusedReason === reason) return;
    if (!(await this.markRefused(replica, reason))) return;
    this.deps.log('error', 'shard refused: cache path outside the cache directory', { chunkId: replica.chunkId, objectId: replica.objectId, shardKey: replica.shardKey, reason });
    this.deps.onCacheEvent?.({ kind: 'refused', chunkId: replica.chunkId, bytes: replica.bytes, reason });
  }

  /** Sets the replica item REFUSED with the reason, unless it is PRESENT or was reassigned another shard key. */
  private async markRefused(replica: ReplicaItem, reason: string): Promise<boolean> {
    const refused = await conditionally(
      this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.ledgerTable,
          Key: { pk: replica.pk, sk: replica.sk },
          UpdateExpression: 'SET #s = :refused, refusedReason = :reason, refusedAt = :t',
          ConditionExpression: 'attribute_exists(pk) AND shardKey = :key AND #s <> :present',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':refused': 'REFUSED', ':present': 'PRESENT', ':reason': reason, ':t': new Date(this.now()).toISOString(), ':key': replica.shardKey },
        }),
      ),
    );
    if (refused) Object.assign(replica, { status: 'REFUSED', refusedReason: reason });
    return refused;
  }

  /** Streams the shard to its partial file, checking its size and sha256; returns the partial file. */
  private async download(replica: ReplicaItem): Promise<string> {
    const partial = await this.cache.prepare(replica);
    const get = await this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.processedBucket, Key: replica.shardKey }));
    const hash = createHash('sha256');
    let bytes = 0;
    const checking = new Transform({
      transform(chunk: Buffer, _enc, done) {
        bytes += chunk.length;
        // Never write more than was room made for: the disk must not fill whatever S3 returns.
        if (bytes > replica.bytes) return done(new Error(`${replica.shardKey} is longer than the ledger's ${replica.bytes} bytes`));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(get.Body as Readable, checking, createWriteStream(partial));
      const sha256 = hash.digest('hex');
      if (sha256 !== replica.sha256) throw new Error(`sha256 mismatch for ${replica.shardKey}: expected ${replica.sha256}, got ${sha256}`);
      return partial;
    } catch (err) {
      await rm(partial, { force: true });
      throw err;
    }
  }

  /** Records in a shard: from its replica item, else from its chunk item (read once). */
  private async recordsOf(replica: ReplicaItem): Promise<number | undefined> {
    if (typeof replica.records === 'number') return replica.records;
    const known = this.recordsByChunk.get(replica.chunkId);
    if (known !== undefined) return known;
    const index = Number(replica.chunkId.split('-').pop());
    const out = await this.deps.doc.send(new GetCommand({ TableName: this.deps.ledgerTable, Key: keys.chunk(replica.objectId, index), ProjectionExpression: 'recordsOut' }));
    const records = out.Item?.recordsOut;
    if (typeof records !== 'number') return undefined;
    this.recordsByChunk.set(replica.chunkId, records);
    return records;
  }

  private async markPresent(replica: ReplicaItem, localPath: string): Promise<boolean> {
    const ok = await conditionally(
      this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.ledgerTable,
          Key: { pk: replica.pk, sk: replica.sk },
          UpdateExpression: 'SET #s = :present, presentAt = :t, localPath = :p REMOVE refusedReason, refusedAt',
          ConditionExpression: 'attribute_exists(pk) AND shardKey = :key',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':present': 'PRESENT', ':t': new Date(this.now()).toISOString(), ':p': localPath, ':key': replica.shardKey },
        }),
      ),
    );
    if (ok) replica.status = 'PRESENT';
    return ok;
  }

  /** The ledger says PRESENT for a file this node does not hold (lost, corrupt): back to ASSIGNED until pulled. */
  private async unmarkPresent(replica: ReplicaItem): Promise<void> {
    const ok = await conditionally(
      this.deps.doc.send(
        new UpdateCommand({
          TableName: this.deps.ledgerTable,
          Key: { pk: replica.pk, sk: replica.sk },
          UpdateExpression: 'SET #s = :assigned REMOVE presentAt, localPath',
          ConditionExpression: '#s = :present AND shardKey = :key',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: { ':assigned': 'ASSIGNED', ':present': 'PRESENT', ':key': replica.shardKey },
        }),
      ),
    );
    if (ok) replica.status = 'ASSIGNED';
  }
}
