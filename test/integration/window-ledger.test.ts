import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { gzipSync } from 'node:zlib';
import { processChunkFromS3 } from '../../lib/agent/chunk-processor';
import { parseChunkMessage } from '../../lib/agent/chunk-message';
import type { ChunkMessage } from '../../lib/chunking/chunk';
import { planChunks } from '../../lib/chunking/plan';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ChunkLedger, LeaseLostError, type ChunkLease } from '../../lib/ledger/chunk-ledger';
import { finalizeObjectIfComplete } from '../../lib/ledger/manifest';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { listKeys } from '../../lib/storage/list-keys';
import { layout } from '../../lib/storage/layout';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const WINDOW = 64 * 1024;
const LEASE_MS = 60_000;

/** The accounting of a split compressed object in the ledger: its chunk count grows, and every record counts once, also when the split is done twice. */
describe('split compressed object accounting (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let chunks: ChunkLedger;
  let objects: ObjectLedger;
  const config = parsePipelineConfig({ chunkSizeBytes: WINDOW, recordWorkers: 0 });

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    chunks = new ChunkLedger(env.clients.doc, env.resources.ledgerTable);
    objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
  }, 60_000);
  afterAll(async () => env?.server.stop());

  /** A planned `.jsonl.gz` object of `records` lines (one invalid), and its chunk 0 message. */
  async function plannedObject(key: string, records: number): Promise<{ msg: ChunkMessage; records: number; bytes: number }> {
    const lines = Array.from({ length: records }, (_, i) => (i === 17 ? '{"broken": ' : JSON.stringify({ id: `r${i}`, text: `${i} `.repeat(1 + (i % 50)) })));
    const plain = Buffer.from(lines.join('\n') + '\n');
    const Bucket = env.resources.ingestBucket;
    await env.clients.s3.send(new PutObjectCommand({ Bucket, Key: key, Body: gzipSync(plain) }));
    const head = await env.clients.s3.send(new HeadObjectCommand({ Bucket, Key: key }));
    const plan = planChunks({ bucket: Bucket, key, etag: (head.ETag ?? '').replace(/"/g, ''), size: head.ContentLength ?? 0 }, WINDOW, {}, { minBytes: 1, windowBytes: WINDOW });
    expect(await objects.beginPlan(plan, WINDOW)).toBe('plan');
    await objects.markEnqueued(plan.objectId);
    expect(plan.chunks).toHaveLength(1);
    return { msg: plan.chunks[0], records, bytes: plain.length };
  }

  const deps = (nodeId: string) => ({ s3: env.clients.s3, sqs: env.clients.sqs, chunks, processedBucket: env.resources.processedBucket, workQueueUrl: env.resources.workQueueUrl, nodeId, config });

  async function leased(msg: ChunkMessage, owner: string, now = Date.now()): Promise<ChunkLease> {
    const out = await chunks.lease(msg, owner, 'rh', LEASE_MS, now);
    if (out.outcome !== 'leased') throw new Error(`chunk ${msg.index} not leased: ${out.outcome}`);
    return out.lease;
  }

  async function commit(msg: ChunkMessage, lease: ChunkLease): Promise<boolean | undefined> {
    const outcome = await processChunkFromS3(deps(lease.owner), msg, lease.attempt);
    const result = await chunks.commit(lease, {
      counts: outcome.counts,
      shard: outcome.shard,
      rejects: outcome.rejects,
      replicas: [],
      replicationFactor: 1,
      durationMs: 1,
      chunkCount: msg.chunkCount,
    });
    return result.objectDone;
  }

  /** Every window message on the work queue (deleted as read). */
  async function drainQueue(): Promise<ChunkMessage[]> {
    const out: ChunkMessage[] = [];
    for (;;) {
      const got = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      const messages = got.Messages ?? [];
      if (messages.length === 0) return out;
      out.push(...messages.map((m) => parseChunkMessage(m.Body)));
      await env.clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: env.resources.workQueueUrl, Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  }

  it('grows the chunk count only under the splitting lease, and never shrinks it', async () => {
    const { msg } = await plannedObject('in/grow.jsonl.gz', 100);
    const lease = await leased(msg, 'node-a');
    expect(lease.windowed).toBe(true);

    await chunks.growChunkCount(lease, 3);
    await chunks.growChunkCount(lease, 2); // a retry registering an earlier window

    expect((await objects.get(msg.objectId))?.chunkCount).toBe(3);
    await expect(chunks.growChunkCount({ ...lease, owner: 'node-b' }, 4)).rejects.toThrow(LeaseLostError);
    expect((await objects.get(msg.objectId))?.chunkCount).toBe(3);
  });

  it('counts every record once when the split runs twice and the windows are enqueued twice', async () => {
    const { msg, records, bytes } = await plannedObject('in/twice.jsonl.gz', 6000);
    // Attempt 1 splits and stages everything, then its agent dies before committing chunk 0.
    const first = await leased(msg, 'node-a');
    await processChunkFromS3(deps('node-a'), msg, first.attempt);
    const windows = await drainQueue();
    const count = (await objects.get(msg.objectId))?.chunkCount as number;
    expect(count).toBeGreaterThan(4);
    expect(windows.map((w) => w.index)).toEqual([...Array(count).keys()].slice(1));

    // Some windows are committed before the retry; the object cannot complete without chunk 0.
    for (const w of windows.slice(0, 2)) expect(await commit(w, await leased(w, 'node-c'))).toBeUndefined(); // the object item decides, not the message
    expect(await finalizeObjectIfComplete({ objects, s3: env.clients.s3, processedBucket: env.resources.processedBucket }, msg.objectId)).toBeUndefined();

    // Attempt 2 (after attempt 1's lease expired) cuts, stages, registers and enqueues the same windows again.
    const second = await leased(msg, 'node-b', Date.now() + 2 * LEASE_MS);
    expect(await commit(msg, second)).toBeUndefined();
    await expect(
      chunks.commit(first, {
        counts: { recordsIn: 1, recordsOut: 1, recordsRejected: 0, recordsFiltered: 0, bytesIn: 1 },
        shard: { key: 'x', sha256: 'x', bytes: 1, lines: 1 },
        replicas: [],
        replicationFactor: 1,
        durationMs: 1,
      }),
    ).rejects.toThrow(LeaseLostError);
    const again = await drainQueue();
    expect(again.map((w) => [w.index, w.start, w.end, w.etag])).toEqual(windows.map((w) => [w.index, w.start, w.end, w.etag]));
    expect((await objects.get(msg.objectId))?.chunkCount).toBe(count);

    // Every window message, duplicates included: the ledger lets each window count once.
    const outcomes: string[] = [];
    for (const w of [...windows, ...again]) {
      const out = await chunks.lease(w, 'node-d', 'rh', LEASE_MS);
      outcomes.push(out.outcome);
      if (out.outcome === 'leased') await commit(w, out.lease);
    }
    expect(outcomes.filter((o) => o === 'leased')).toHaveLength(count - 3);
    expect(outcomes.filter((o) => o === 'done')).toHaveLength(count + 1);

    const manifest = await finalizeObjectIfComplete({ objects, s3: env.clients.s3, processedBucket: env.resources.processedBucket }, msg.objectId);
    expect(manifest?.chunkCount).toBe(count);
    expect(manifest?.totals).toEqual({ recordsIn: records, recordsOut: records - 1, recordsRejected: 1, recordsFiltered: 0, bytesIn: bytes });
    expect(manifest?.balanced).toBe(true);
    expect((await objects.get(msg.objectId))?.status).toBe('COMPLETE');
    expect(await listKeys(env.clients.s3, env.resources.processedBucket, [layout.stagingPrefix(msg.objectId)])).toEqual([]);
  }, 120_000);
});
