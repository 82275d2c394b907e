import { GetObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';
import { replicasOf } from '../lib/cluster/replica-repair';
import type { ObjectManifest } from '../lib/ledger/manifest';
import { ObjectLedger } from '../lib/ledger/object-ledger';
import { createShardDecoder } from '../lib/records/block-codec';
import { codecOfKey } from '../lib/records/shard-codec';
import type { Target } from '../lib/aws/target';

/** What reading back an object's outputs showed. */
export interface ObjectVerification {
  manifest: ObjectManifest;
  /** Lines actually found in the shards listed by the manifest. */
  shardRecords: number;
  /** Shards whose bytes do not hash to the manifest's sha256. */
  checksumMismatches: string[];
  /** Values of `idField` seen more than once across the shards. */
  duplicateIds: number;
  ids: Set<string>;
  problems: string[];
}

/** Reads a JSON manifest from the processed bucket. */
export async function readManifest(target: Target, manifestKey: string): Promise<ObjectManifest> {
  const out = await target.clients.s3.send(new GetObjectCommand({ Bucket: target.resources.processedBucket, Key: manifestKey }));
  return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as ObjectManifest;
}

/**
 * Checks an object end to end from what is stored: the manifest balances, every listed shard
 * hashes to its sha256 and holds the counted records, and no record id appears twice.
 */
export async function verifyObject(target: Target, objectId: string, idField = 'id'): Promise<ObjectVerification> {
  const object = await new ObjectLedger(target.clients.doc, target.resources.ledgerTable).get(objectId);
  if (!object?.manifestKey) throw new Error(`object ${objectId} has no manifest yet (status ${object?.status ?? 'unknown'})`);
  const manifest = await readManifest(target, object.manifestKey);
  const problems: string[] = [];
  const t = manifest.totals;
  if (!manifest.balanced || t.recordsIn !== t.recordsOut + t.recordsRejected + t.recordsFiltered) problems.push('manifest totals do not balance');
  const ids = new Set<string>();
  let duplicateIds = 0;
  let shardRecords = 0;
  const checksumMismatches: string[] = [];
  for (const shard of manifest.shards) {
    const out = await target.clients.s3.send(new GetObjectCommand({ Bucket: target.resources.processedBucket, Key: shard.key }));
    const hash = createHash('sha256');
    const body = (out.Body as Readable).on('data', (b: Buffer) => hash.update(b));
    let lines = 0;
    for await (const line of shardLines(body.pipe(createShardDecoder(shard.codec ?? codecOfKey(shard.key))))) {
      lines++;
      const id = String((JSON.parse(line) as Record<string, unknown>)[idField]);
      if (ids.has(id)) duplicateIds++;
      else ids.add(id);
    }
    if (hash.digest('hex') !== shard.sha256) checksumMismatches.push(shard.key);
    if (lines !== shard.records) problems.push(`shard ${shard.key} holds ${lines} records, manifest says ${shard.records}`);
    shardRecords += lines;
  }
  if (checksumMismatches.length) problems.push(`${checksumMismatches.length} shard(s) fail their sha256`);
  if (duplicateIds) problems.push(`${duplicateIds} duplicate record id(s)`);
  if (shardRecords !== t.recordsOut) problems.push(`shards hold ${shardRecords} records, manifest says ${t.recordsOut} out`);
  return { manifest, shardRecords, checksumMismatches, duplicateIds, ids, problems };
}

/**
 * The non-empty lines of a decoded shard, split at `\n` only: a record that keeps its original
 * bytes may hold a `\r` inside (JSON whitespace), which a readline interface would split at.
 */
async function* shardLines(decoded: AsyncIterable<Buffer>): AsyncGenerator<string> {
  const utf8 = new StringDecoder('utf8'); // a character may span two pieces
  let tail = '';
  for await (const chunk of decoded) {
    const lines = (tail + utf8.write(chunk)).split('\n');
    tail = lines.pop() ?? '';
    for (const line of lines) if (line) yield line;
  }
  tail += utf8.end();
  if (tail) yield tail;
}

/** Counts PRESENT replicas of every chunk across the given nodes. */
export async function presentReplicas(target: Target, nodeIds: string[]): Promise<Map<string, string[]>> {
  const byChunk = new Map<string, string[]>();
  for (const nodeId of nodeIds) {
    for (const r of await replicasOf({ doc: target.clients.doc, ledgerTable: target.resources.ledgerTable }, nodeId)) {
      if (r.status === 'PRESENT') byChunk.set(r.chunkId, [...(byChunk.get(r.chunkId) ?? []), nodeId]);
    }
  }
  return byChunk;
}
