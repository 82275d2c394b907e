import { DeleteObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PurgeQueueCommand, ReceiveMessageCommand, SQSClient, type Message } from '@aws-sdk/client-sqs';
import { afterCommitsSettled } from '../../lib/agent/chunk-lifecycle';
import { handleChunkMessage, returnUnworked, type ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import { chunkObject } from '../../lib/chunker/chunker';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import { finalizeFinishedObjects } from '../../lib/ledger/manifest';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/** Every GET of a chunk's bytes is delayed this long (an injected slow S3). */
const GET_DELAY_MS = 300;

/**
 * A chunk's report splits its latency (download apart from processing) and classifies its
 * failures; every log line about it carries its correlation keys.
 */
describe('chunk reports: phase timings, error kinds, correlation keys (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let slowS3: S3Client;
  let gets = 0;
  const config = parsePipelineConfig({ chunkSizeBytes: 1024 * 1024 });

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    slowS3 = new S3Client({
      endpoint: env.server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    slowS3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') {
          gets++;
          await new Promise((r) => setTimeout(r, GET_DELAY_MS));
        }
        return next(args);
      },
      { step: 'initialize', name: 'slowGets' },
    );
  }, 60_000);
  afterAll(async () => env?.server.stop());
  beforeEach(async () => {
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: env.resources.workQueueUrl }));
    gets = 0;
  });

  /** Uploads an object, plans it as part of run `runId`, and receives its (single) chunk message. */
  async function plannedChunk(key: string, runId: string): Promise<{ message: Message; objectId: string }> {
    const { clients, resources } = env;
    const body = Array.from({ length: 300 }, (_, i) => JSON.stringify({ id: i, text: `record ${i}` })).join('\n') + '\nnot json\n';
    await clients.s3.send(new PutObjectCommand({ Bucket: resources.ingestBucket, Key: key, Body: body }));
    const objects = new ObjectLedger(clients.doc, resources.ledgerTable);
    const planned = await chunkObject(
      { s3: clients.s3, sqs: clients.sqs, objects, workQueueUrl: resources.workQueueUrl, processedBucket: resources.processedBucket, config },
      { bucket: resources.ingestBucket, key, eventName: 'ObjectCreated:Put', runId },
    );
    for (let i = 0; i < 10; i++) {
      const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.workQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      if (out.Messages?.[0]) return { message: out.Messages[0], objectId: planned.objectId as string };
    }
    throw new Error('no chunk message');
  }

  function workerDeps(logs: Array<{ message: string; fields: Record<string, unknown> }>, over: Partial<ChunkWorkerDeps> = {}): ChunkWorkerDeps {
    const { clients, resources } = env;
    return {
      s3: slowS3,
      sqs: clients.sqs,
      chunks: new ChunkLedger(clients.doc, resources.ledgerTable),
      objects: new ObjectLedger(clients.doc, resources.ledgerTable),
      workQueueUrl: resources.workQueueUrl,
      processedBucket: resources.processedBucket,
      nodeId: 'node-r',
      config,
      placementNodes: async () => [{ nodeId: 'node-r', failureDomain: 'a', capacity: 1 }],
      log: (_level, message, fields) => logs.push({ message, fields: fields ?? {} }),
      ...over,
    };
  }

  it('measures the time awaiting S3 as download, apart from processing', async () => {
    const { message, objectId } = await plannedChunk('reports/timed.jsonl', 'run-7');
    const started = Date.now();
    const report = await handleChunkMessage(workerDeps([]), message);
    const elapsed = Date.now() - started;

    expect(report).toMatchObject({ result: 'processed', objectId, chunkId: `${objectId}-000000`, attempt: 1, runId: 'run-7' });
    expect(gets).toBeGreaterThanOrEqual(1);
    const timings = report.outcome!.timings;
    expect(timings.downloadMs).toBeGreaterThanOrEqual(gets * GET_DELAY_MS - 5); // every delayed GET is waited on
    expect(timings.downloadMs + timings.processMs + timings.uploadMs).toBeLessThanOrEqual(elapsed);
    expect(report.stages).toMatchObject({ leaseMs: expect.any(Number), workMs: expect.any(Number), commitMs: expect.any(Number) });
    expect(report.outcome!.counts).toMatchObject({ recordsIn: 301, recordsOut: 300, recordsRejected: 1 });
  }, 60_000);

  it('classifies a failed S3 read as an s3 error, and its log line carries object, chunk, attempt and run', async () => {
    const { message, objectId } = await plannedChunk('reports/vanished.jsonl', 'run-8');
    const { versionId } = JSON.parse(message.Body as string) as { versionId?: string };
    // The bucket is versioned: the planned version itself must go for the read to fail.
    await env.clients.s3.send(new DeleteObjectCommand({ Bucket: env.resources.ingestBucket, Key: 'reports/vanished.jsonl', VersionId: versionId }));
    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];

    const report = await handleChunkMessage(workerDeps(logs), message);

    expect(report).toMatchObject({ result: 'failed', errorKind: 's3', objectId, attempt: 1, runId: 'run-8' });
    const failed = logs.find((l) => l.message === 'chunk failed; will retry');
    expect(failed?.fields).toMatchObject({ objectId, chunkId: `${objectId}-000000`, attempt: 1, runId: 'run-8', errorKind: 's3' });
  }, 60_000);

  it('keeps a committed chunk processed when its message cannot be deleted (stale receipt), and completes the object', async () => {
    const { message, objectId } = await plannedChunk('reports/stale-receipt.jsonl', 'run-10');
    const sqs = new SQSClient({ endpoint: env.server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    sqs.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'DeleteMessageCommand') throw Object.assign(new Error('The input receipt handle is invalid.'), { name: 'ReceiptHandleIsInvalid' });
        return next(args);
      },
      { step: 'initialize', name: 'staleReceipts' },
    );
    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];

    const deps = workerDeps(logs, { sqs });
    const report = await handleChunkMessage(deps, message);
    await afterCommitsSettled(deps); // the delete and the finalize run after the report

    expect(report).toMatchObject({ result: 'processed', objectId });
    expect(logs.map((l) => l.message)).toContain('committed chunk: message not deleted (a later receive deletes it as a duplicate)');
    expect(await new ObjectLedger(env.clients.doc, env.resources.ledgerTable).get(objectId)).toMatchObject({ status: 'COMPLETE', chunksDone: 1 });
  }, 60_000);

  it('leaves an object whose committer could not finalize it to the leader sweep, which completes it once', async () => {
    const { message, objectId } = await plannedChunk('reports/unfinalized.jsonl', 'run-11');
    const objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
    // The committer reads the object to finalize it, and that read fails (as if it died there).
    const failingObjects = Object.assign(Object.create(objects) as ObjectLedger, { get: async () => Promise.reject(new Error('connection reset')) });

    const deps = workerDeps([], { objects: failingObjects });
    const report = await handleChunkMessage(deps, message);
    await afterCommitsSettled(deps);

    expect(report).toMatchObject({ result: 'processed', objectId });
    expect(await objects.get(objectId)).toMatchObject({ status: 'ENQUEUED', chunksDone: 1, chunkCount: 1 });
    const sweep = { objects, s3: env.clients.s3, processedBucket: env.resources.processedBucket };
    expect(await finalizeFinishedObjects(sweep, 60_000)).toEqual([]); // its committer may still be finalizing
    expect(await finalizeFinishedObjects(sweep, 0)).toEqual([objectId]);
    expect(await objects.get(objectId)).toMatchObject({ status: 'COMPLETE', manifestKey: expect.any(String) });
    expect(await objects.get(objectId)).not.toHaveProperty('unfinished');
    expect(await finalizeFinishedObjects(sweep, 0)).toEqual([]);
  }, 60_000);

  it('re-sends a message fresh on its last receive when its earlier receives were not failures (holders died), instead of dead-lettering a healthy chunk', async () => {
    const { message, objectId } = await plannedChunk('reports/many-deaths.jsonl', 'run-12');
    // Received twice before by nodes that died (no failure recorded): this is the last receive.
    const lastReceive = { ...message, Attributes: { ...message.Attributes, ApproximateReceiveCount: '3' } };
    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];

    const report = await handleChunkMessage(workerDeps(logs, { maxReceiveCount: 3 }), lastReceive);

    expect(report).toMatchObject({ result: 'requeued', objectId });
    const out = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
    expect(out.Messages).toHaveLength(1); // the old message is gone, the fresh copy is there
    expect(out.Messages![0].Body).toBe(message.Body);
    expect(out.Messages![0].Attributes?.ApproximateReceiveCount).toBe('1');
    // The lease was given back: the fresh copy is processed at once.
    expect(await handleChunkMessage(workerDeps([], { maxReceiveCount: 3 }), out.Messages![0])).toMatchObject({ result: 'processed', objectId });
  }, 60_000);

  it('gives back a message received during a pause: visible at once, or re-sent fresh on its last receive', async () => {
    const { message } = await plannedChunk('reports/paused.jsonl', 'run-15');
    const receiveAll = async () =>
      (await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: env.resources.workQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }))).Messages ??
      [];

    await returnUnworked(workerDeps([], { maxReceiveCount: 3 }), message);
    const again = await receiveAll();
    expect(again.map((m) => m.Attributes?.ApproximateReceiveCount)).toEqual(['2']); // the same message, visible at once

    await returnUnworked(workerDeps([], { maxReceiveCount: 3 }), { ...again[0], Attributes: { ...again[0].Attributes, ApproximateReceiveCount: '3' } });
    const fresh = await receiveAll();
    expect(fresh.map((m) => [m.Body, m.Attributes?.ApproximateReceiveCount])).toEqual([[message.Body, '1']]);
  }, 60_000);

  it('lets a chunk that failed on every receive reach its last attempt, be marked FAILED (it goes to the DLQ) and quarantine its object', async () => {
    const { message, objectId } = await plannedChunk('reports/poison-last.jsonl', 'run-13');
    const receive = (n: number) => ({ ...message, Attributes: { ...message.Attributes, ApproximateReceiveCount: String(n) } });
    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const deps = workerDeps(logs, { maxReceiveCount: 3, failKeys: /poison-last/ });

    for (const n of [1, 2, 3]) expect(await handleChunkMessage(deps, receive(n))).toMatchObject({ result: 'failed', errorKind: 'injected' });

    expect(logs.map((l) => l.message)).toEqual(['chunk failed; will retry', 'chunk failed; will retry', 'chunk failed for the last time; its object is quarantined', 'object quarantined']);
    expect(await new ObjectLedger(env.clients.doc, env.resources.ledgerTable).get(objectId)).toMatchObject({ status: 'QUARANTINED', failedChunks: 1 });
  }, 60_000);

  it('reports a failure to lease (the ledger unreachable) as a dynamodb error, so it is counted, and holds nothing', async () => {
    const { message, objectId } = await plannedChunk('reports/no-ledger.jsonl', 'run-14');
    const chunks = new ChunkLedger(env.clients.doc, env.resources.ledgerTable);
    const unreachable = Object.assign(Object.create(chunks) as ChunkLedger, { lease: async () => Promise.reject(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' })) });
    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];

    const report = await handleChunkMessage(workerDeps(logs, { chunks: unreachable }), message);

    expect(report).toMatchObject({ result: 'failed', errorKind: 'dynamodb', objectId, error: 'socket hang up' });
    expect(logs[0]).toMatchObject({ message: 'chunk not leased; it is tried again after its receive visibility', fields: { objectId, errorKind: 'dynamodb' } });
    expect(await chunks.leasesOf('node-r')).toEqual([]);
  }, 60_000);

  it('classifies injected faults and malformed messages', async () => {
    const { message } = await plannedChunk('reports/poison.jsonl', 'run-9');
    const injected = await handleChunkMessage(workerDeps([], { failKeys: /poison/ }), message);
    expect(injected).toMatchObject({ result: 'failed', errorKind: 'injected' });
    expect(injected.error).toMatch(/^injected fault/);

    const logs: Array<{ message: string; fields: Record<string, unknown> }> = [];
    const malformed = await handleChunkMessage(workerDeps(logs), { MessageId: 'm-1', ReceiptHandle: 'r', Body: '{"v":1}' });
    expect(malformed).toMatchObject({ result: 'failed', errorKind: 'malformed' });
    expect(logs[0]).toMatchObject({ message: 'malformed work message', fields: { messageId: 'm-1', errorKind: 'malformed' } });
  }, 60_000);
});
