import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createChunkerHandler } from '../../functions/chunker-handler';
import { handleChunkMessage } from '../../lib/agent/chunk-worker';
import { chunkObject } from '../../lib/chunker/chunker';
import { createChunkerDeps } from '../../lib/chunker/chunker-deps';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { selectObjects } from '../../lib/dataset/select-objects';
import { keys } from '../../lib/ledger/items';
import type { ObjectManifest } from '../../lib/ledger/manifest';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { memberKey, RunLedger } from '../../lib/ledger/run-ledger';
import { createMetrics } from '../../lib/observability/lambda-metrics';
import { createLogger, logTo } from '../../lib/observability/logger';
import { layout, MAX_S3_KEY_BYTES } from '../../lib/storage/layout';
import { listKeys } from '../../lib/storage/list-keys';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { localWorker, sqsEventOf } from '../support/chunk-work';
import { waitFor } from '../support/wait';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** A source key of exactly `total` UTF-8 bytes, with spaces, `+` and 2- and 3-byte characters (URL-encoded in events). */
function keyOfBytes(prefix: string, total: number): string {
  const suffix = '.jsonl';
  let key = prefix;
  const parts = ['ü', ' ', '✓', '+', 'a'];
  for (let i = 0; bytes(key) + bytes(parts[i % parts.length]) + bytes(suffix) <= total; i++) key += parts[i % parts.length];
  while (bytes(key) + bytes(suffix) < total) key += 'a';
  return key + suffix;
}

/**
 * S3 keys up to S3's 1,024-byte limit go through the whole path: the S3 event, the chunker, the
 * agent, the manifest and its by-key entry, run members and dataset selection. The emulator does
 * not enforce the limits of S3 keys (1,024 bytes) and DynamoDB sort keys (1,024 bytes) or
 * partition keys (2,048 bytes), so every key written is also measured.
 */
describe('1,024-byte source keys end to end (chunker and agent, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let handler: Handler;
  const config = parsePipelineConfig({ chunkSizeBytes: 16 * 1024 });
  const body = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ id: i, text: `record ${i}` })).join('\n') + '\n';
  const key = keyOfBytes('long/dir ✓/', MAX_S3_KEY_BYTES);

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    const logger = createLogger('shardline-chunker');
    handler = createChunkerHandler({ chunker: createChunkerDeps(env.clients, env.resources, config, logTo(logger)), logger, metrics: createMetrics('shardline-chunker') });
  }, 60_000);
  afterAll(async () => env?.server.stop());
  beforeEach(async () => {
    for (const q of [env.resources.workQueueUrl, env.resources.ingestEventsQueueUrl]) await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: q }));
  });

  async function receive(queueUrl: string, min: number, skip = (_m: Message) => false): Promise<Message[]> {
    const got: Message[] = [];
    for (let i = 0; i < 20 && got.filter((m) => !skip(m)).length < min; i++) {
      const out = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      got.push(...(out.Messages ?? []));
    }
    return got;
  }

  it('processes an object whose key is 1,024 bytes from its S3 event to a manifest and a dataset selection', async () => {
    expect(bytes(key)).toBe(MAX_S3_KEY_BYTES);
    await env.clients.s3.send(new PutObjectCommand({ Bucket: env.resources.ingestBucket, Key: key, Body: body }));
    const events = await receive(env.resources.ingestEventsQueueUrl, 1, (m) => Boolean(m.Body?.includes('s3:TestEvent')));
    expect((await handler(sqsEventOf(events), { functionName: 'chunker', getRemainingTimeInMillis: () => 60_000 } as Context)).batchItemFailures).toEqual([]);

    const objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
    const planned = (await objects.list()).find((o) => o.key === key);
    expect(planned).toMatchObject({ status: 'ENQUEUED', key, size: bytes(body) });
    const messages = await receive(env.resources.workQueueUrl, planned!.chunkCount);
    expect(messages.length).toBe(planned!.chunkCount);
    expect(planned!.chunkCount).toBeGreaterThan(1);
    for (const m of messages) expect(await handleChunkMessage(localWorker(env, config), m)).toMatchObject({ result: 'processed' });

    const done = await waitFor(async () => {
      const o = await objects.get(planned!.objectId);
      return o?.status === 'COMPLETE' ? o : undefined;
    }, 15_000);
    expect(done).toMatchObject({ recordsIn: 1000, recordsOut: 1000, manifestKey: layout.manifestKey(done.objectId) });

    // The manifest, named by object id, carries the whole source key.
    const manifest = JSON.parse(await (await env.clients.s3.send(new GetObjectCommand({ Bucket: env.resources.processedBucket, Key: done.manifestKey }))).Body!.transformToString()) as ObjectManifest;
    expect(manifest).toMatchObject({ objectId: done.objectId, balanced: true, source: { key } });

    // Every key written for it fits its service's limit (the emulator would accept longer ones).
    const written = await listKeys(env.clients.s3, env.resources.processedBucket, [`shards/${done.objectId}/`, layout.manifestKey(done.objectId), 'manifests/by-key/long/']);
    expect(written.length).toBe(manifest.shards.length + 2);
    for (const k of written) expect(bytes(k)).toBeLessThanOrEqual(MAX_S3_KEY_BYTES);
    const entry = layout.byKeyEntry(key, done.objectId);
    expect(written).toContain(entry);
    expect(bytes(entry)).toBe(MAX_S3_KEY_BYTES - 1); // cut on a whole character (the next one is 2 bytes)
    expect(bytes(keys.object(done.objectId).pk)).toBeLessThanOrEqual(2048);
    for (const c of await objects.chunks(done.objectId)) expect(bytes(c.sk)).toBeLessThanOrEqual(1024);

    // Dataset selection finds it by its full key and by a prefix longer than the by-key entry keeps.
    const deps = { s3: env.clients.s3, doc: env.clients.doc, ledgerTable: env.resources.ledgerTable, controlTable: env.resources.controlTable, processedBucket: env.resources.processedBucket };
    const byKey = await selectObjects(deps, { kind: 'objects', objects: [key] });
    expect(byKey.map((i) => [i.object.objectId, i.manifest?.source.key])).toEqual([[done.objectId, key]]);
    const byPrefix = await selectObjects(deps, { kind: 'prefix', prefix: key.slice(0, -3) });
    expect(byPrefix.map((i) => i.object.objectId)).toEqual([done.objectId]);
    await expect(selectObjects(deps, { kind: 'objects', objects: [key.slice(0, -1) + 'X'] })).rejects.toThrow(/no object with source key/);
  }, 120_000);

  it('records a 1,024-byte key as a run member under a hashed sort key and keeps the key whole', async () => {
    const runKey = keyOfBytes('runs/ü/', MAX_S3_KEY_BYTES);
    await env.clients.s3.send(new PutObjectCommand({ Bucket: env.resources.ingestBucket, Key: runKey, Body: body }));
    const runs = new RunLedger(env.clients.doc, env.resources.ledgerTable, env.resources.controlTable);
    const { clients, resources } = env;
    const objects = new ObjectLedger(clients.doc, resources.ledgerTable);
    const planned = await chunkObject(
      { s3: clients.s3, sqs: clients.sqs, objects, runs, workQueueUrl: resources.workQueueUrl, processedBucket: resources.processedBucket, config },
      { bucket: resources.ingestBucket, key: runKey, eventName: 'ObjectCreated:Put', runId: 'run-long' },
    );
    expect(planned.outcome).toBe('planned');

    expect(await runs.members('run-long')).toEqual([expect.objectContaining({ key: runKey, objectId: planned.objectId, status: 'PLANNED' })]);
    const sk = memberKey('run-long', runKey).sk;
    expect(sk).toMatch(/^KEY#[0-9a-f]{64}$/);
    expect(bytes(sk)).toBeLessThanOrEqual(1024);
    expect(bytes(`KEY#${runKey}`)).toBeGreaterThan(1024); // what the sort key was before: DynamoDB refuses it
  }, 60_000);
});
