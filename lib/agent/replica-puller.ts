import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { replicasOf } from '../cluster/replica-repair';
import type { ReplicaItem } from '../ledger/items';
import type { Log } from '../log';

/** The cache manifest a training process reads: every shard present on this node. */
export interface CacheManifest {
  nodeId: string;
  updatedAt: string;
  shards: Array<{ chunkId: string; objectId: string; path: string; sha256: string; bytes: number; shardKey: string }>;
}

export interface ReplicaPullerDeps {
  s3: S3Client;
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  processedBucket: string;
  nodeId: string;
  cacheDir: string;
  log: Log;
  /** Told about every shard pulled into the cache (metrics). */
  onReplicaPulled?: (replica: { chunkId: string; objectId: string }) => void;
}

/**
 * Pulls the shards placed on this node into its cache directory, verifies each one's sha256,
 * records the replica as PRESENT, and keeps `manifest.json` in the cache directory current.
 */
export class ReplicaPuller {
  constructor(private readonly deps: ReplicaPullerDeps) {}

  /** One pass: pulls every assigned shard not yet present. Returns how many it pulled. */
  async pullOnce(): Promise<number> {
    const replicas = await this.replicas();
    const pending = replicas.filter((r) => r.status === 'ASSIGNED');
    let pulled = 0;
    for (const replica of pending) {
      try {
        replica.localPath = await this.download(replica);
        await this.markPresent(replica);
        replica.status = 'PRESENT';
        pulled++;
        this.deps.onReplicaPulled?.({ chunkId: replica.chunkId, objectId: replica.objectId });
      } catch (err) {
        this.deps.log('error', 'replica pull failed; will retry', { objectId: replica.objectId, chunkId: replica.chunkId, error: (err as Error).message });
      }
    }
    if (pulled > 0) await this.writeManifest(replicas.filter((r) => r.status === 'PRESENT'));
    return pulled;
  }

  private replicas(): Promise<ReplicaItem[]> {
    return replicasOf(this.deps, this.deps.nodeId);
  }

  private async download(replica: ReplicaItem): Promise<string> {
    const target = join(this.deps.cacheDir, 'shards', replica.objectId, basename(replica.shardKey));
    const partial = `${target}.partial`;
    await mkdir(dirname(target), { recursive: true });
    const get = await this.deps.s3.send(new GetObjectCommand({ Bucket: this.deps.processedBucket, Key: replica.shardKey }));
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    });
    await pipeline(get.Body as Readable, hashing, createWriteStream(partial));
    const sha256 = hash.digest('hex');
    if (sha256 !== replica.sha256) {
      await rm(partial, { force: true });
      throw new Error(`sha256 mismatch for ${replica.shardKey}: expected ${replica.sha256}, got ${sha256}`);
    }
    await rename(partial, target);
    return target;
  }

  private async markPresent(replica: ReplicaItem): Promise<void> {
    await this.deps.doc.send(
      new UpdateCommand({
        TableName: this.deps.ledgerTable,
        Key: { pk: replica.pk, sk: replica.sk },
        UpdateExpression: 'SET #s = :present, presentAt = :t, localPath = :p',
        ConditionExpression: 'attribute_exists(pk) AND shardKey = :key',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':present': 'PRESENT', ':t': new Date().toISOString(), ':p': replica.localPath, ':key': replica.shardKey },
      }),
    );
  }

  private async writeManifest(present: ReplicaItem[]): Promise<void> {
    const manifest: CacheManifest = {
      nodeId: this.deps.nodeId,
      updatedAt: new Date().toISOString(),
      shards: present
        .sort((a, b) => a.chunkId.localeCompare(b.chunkId))
        .map((r) => ({ chunkId: r.chunkId, objectId: r.objectId, path: r.localPath as string, sha256: r.sha256, bytes: r.bytes, shardKey: r.shardKey })),
    };
    const path = join(this.deps.cacheDir, 'manifest.json');
    await mkdir(this.deps.cacheDir, { recursive: true });
    await writeFile(`${path}.tmp`, JSON.stringify(manifest, null, 2));
    await rename(`${path}.tmp`, path); // atomic, so a reader never sees half a manifest
  }
}
