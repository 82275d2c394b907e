import { gzipSync } from 'node:zlib';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { handleChunkMessage } from '../../lib/agent/chunk-worker';
import { chunkObject } from '../../lib/chunker/chunker';
import { parsePipelineConfig, type PipelineConfig } from '../../lib/config/pipeline-config';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import type { ObjectOutcome } from '../../lib/ledger/object-outcome';
import { RATIO_FLOOR_BYTES } from '../../lib/records/input-limits';
import { recordRunner } from '../../lib/records/pool/record-pool';
import { localWorker } from '../support/chunk-work';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/**
 * An object whose input is unusable (a gzip bomb, a CSV header naming a column twice) fails alike
 * on every attempt: its first failed attempt quarantines it and removes its message, instead of
 * retrying until the DLQ.
 */
describe('quarantine of unusable input after one attempt (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let objects: ObjectLedger;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
  }, 60_000);
  afterAll(async () => {
    recordRunner(0); // stops the record workers of the CSV case
    await env?.server.stop();
  });
  beforeEach(async () => {
    for (const q of [env.resources.workQueueUrl, env.resources.workDlqUrl]) await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: q }));
  });

  /** Uploads and plans an object through the chunker; returns its id and its one chunk message, received once. */
  async function planned(key: string, body: Buffer | string, config: PipelineConfig): Promise<{ objectId: string; message: Message }> {
    const { clients, resources } = env;
    await clients.s3.send(new PutObjectCommand({ Bucket: resources.ingestBucket, Key: key, Body: body }));
    const plan = await chunkObject(
      { s3: clients.s3, sqs: clients.sqs, objects, workQueueUrl: resources.workQueueUrl, processedBucket: resources.processedBucket, config },
      { bucket: resources.ingestBucket, key, eventName: 'ObjectCreated:Put' },
    );
    expect(plan.chunks).toBe(1);
    const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.workQueueUrl, WaitTimeSeconds: 2, MessageSystemAttributeNames: ['All'] }));
    expect(out.Messages).toHaveLength(1);
    return { objectId: plan.objectId as string, message: out.Messages![0] };
  }

  /** Messages on a queue, waiting or received and not deleted (moto counts exactly). */
  async function messagesOn(queueUrl: string): Promise<number> {
    const out = await env.clients.sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'] }),
    );
    return Object.values(out.Attributes ?? {}).reduce((n, v) => n + Number(v), 0);
  }

  it.each([
    {
      what: 'a gzip bomb (decompressed ratio over maxCompressionRatio), on the agent thread',
      key: 'bombs/bomb.jsonl.gz',
      // About 70 MB of identical records in some 70 KB: past the ratio floor, far over 200:1.
      body: () => gzipSync(Buffer.from(`${JSON.stringify({ pad: '0'.repeat(1000) })}\n`.repeat(Math.ceil((RATIO_FLOOR_BYTES + 4 * 1024 ** 2) / 1013))), { level: 9 }),
      recordWorkers: 0,
      reason: /^chunk 0: unusable input: the gzip object decompresses more than maxCompressionRatio \(200\) times its size: .*decompression bomb/,
    },
    {
      what: 'a CSV header naming a column twice, read in a record worker thread',
      key: 'bombs/twice.csv',
      body: () => `id,id\n${'1,2\n'.repeat(100)}`,
      recordWorkers: 1,
      reason: /^chunk 0: unusable input: invalid CSV header: column "id" appears twice/,
    },
  ])(
    'quarantines $what after ONE attempt and removes its message',
    async ({ key, body, recordWorkers, reason }) => {
      const config = parsePipelineConfig({ chunkSizeBytes: 8 * 1024 * 1024, recordWorkers });
      const { objectId, message } = await planned(key, body(), config);
      const outcomes: ObjectOutcome[] = [];
      // Five receives allowed: the old path would have retried four more times before quarantining.
      const deps = localWorker(env, config, { nodeId: 'node-input', maxReceiveCount: 5, onObjectOutcome: (o) => void outcomes.push(o) });

      const report = await handleChunkMessage(deps, message);

      expect(message.Attributes?.ApproximateReceiveCount).toBe('1');
      expect(report).toMatchObject({ result: 'failed', errorKind: 'input', attempt: 1 });
      const object = await objects.get(objectId);
      expect(object).toMatchObject({ status: 'QUARANTINED', failedChunks: 1, quarantineReason: expect.stringMatching(reason) });
      const chunks = await objects.chunks(objectId);
      expect(chunks.map((c) => [c.status, c.attempt, JSON.parse(c.message as string).chunkId])).toEqual([['FAILED', 1, `${objectId}-000000`]]);
      expect(outcomes).toEqual([expect.objectContaining({ outcome: 'quarantined', objectId, key })]);
      // Nothing left to retry or dead-letter: redrive resends it from the ledger after a fix.
      expect(await messagesOn(env.resources.workQueueUrl)).toBe(0);
      expect(await messagesOn(env.resources.workDlqUrl)).toBe(0);
    },
    120_000,
  );
});
