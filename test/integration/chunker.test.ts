import { CompleteMultipartUploadCommand, CreateMultipartUploadCommand, GetObjectCommand, PutObjectCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, type Message } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { createChunkerHandler } from '../../functions/chunker-handler';
import { createChunkerDeps } from '../../lib/chunker/chunker-deps';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { createMetrics } from '../../lib/observability/lambda-metrics';
import { createLogger, logTo } from '../../lib/observability/logger';
import { sqsEventOf } from '../support/chunk-work';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

describe('chunker handler on real S3 events from the ingest-events queue', () => {
  let local: ProvisionedEndpoint;
  let handler: Handler;
  let ledger: ObjectLedger;

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    const logger = createLogger('shardline-chunker');
    const config = parsePipelineConfig({ chunkSizeBytes: 1024 * 1024 });
    handler = createChunkerHandler({ chunker: createChunkerDeps(local.clients, local.resources, config, logTo(logger)), logger, metrics: createMetrics('shardline-chunker') });
    ledger = new ObjectLedger(local.clients.doc, local.resources.ledgerTable);
  }, 60_000);

  afterAll(async () => {
    await local?.server.stop();
  });

  beforeEach(async () => {
    await local.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: local.resources.workQueueUrl }));
  });

  /** Receives every event message the upload produced (the first may be s3:TestEvent). */
  async function receiveEvents(min: number): Promise<Message[]> {
    const messages: Message[] = [];
    for (let i = 0; i < 20 && messages.filter((m) => !m.Body?.includes('s3:TestEvent')).length < min; i++) {
      const out = await local.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: local.resources.ingestEventsQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      messages.push(...(out.Messages ?? []));
    }
    return messages;
  }

  const invoke = (messages: Message[]) => handler(sqsEventOf(messages), { functionName: 'chunker', getRemainingTimeInMillis: () => 60000 } as Context);

  async function workQueueDepth(): Promise<number> {
    const out = await local.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: local.resources.workQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages);
  }

  it('plans an object with an odd key once even when the same event arrives twice', async () => {
    const key = 'in/a b+c/naïve ✓ 1.jsonl';
    await local.clients.s3.send(new PutObjectCommand({ Bucket: local.resources.ingestBucket, Key: key, Body: '{"a":1}\n'.repeat(458_752) }));
    const messages = await receiveEvents(1);

    expect((await invoke(messages)).batchItemFailures).toEqual([]);
    expect((await invoke(messages)).batchItemFailures).toEqual([]);

    const object = (await ledger.list()).find((o) => o.key === key);
    expect(object).toMatchObject({ status: 'ENQUEUED', size: 3_670_016, chunkCount: 4 });
    expect(await workQueueDepth()).toBe(4);
  });

  it('plans a multipart upload once although S3 sends two events for it', async () => {
    const key = 'multi/part.jsonl';
    const bucket = local.resources.ingestBucket;
    const { UploadId } = await local.clients.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
    const part = Buffer.alloc(5 * 1024 * 1024, '{"x":1}\n');
    const p1 = await local.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 1, Body: part }));
    const p2 = await local.clients.s3.send(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: 2, Body: Buffer.from('{"x":2}\n') }));
    await local.clients.s3.send(
      new CompleteMultipartUploadCommand({
        Bucket: bucket,
        Key: key,
        UploadId,
        MultipartUpload: {
          Parts: [
            { ETag: p1.ETag, PartNumber: 1 },
            { ETag: p2.ETag, PartNumber: 2 },
          ],
        },
      }),
    );
    const messages = await receiveEvents(2);
    expect(messages.filter((m) => m.Body?.includes('part.jsonl')).length).toBeGreaterThanOrEqual(2);

    for (const m of messages) expect((await invoke([m])).batchItemFailures).toEqual([]);

    const planned = (await ledger.list()).filter((o) => o.key === key);
    expect(planned).toHaveLength(1);
    expect(await workQueueDepth()).toBe(planned[0].chunkCount);
  });

  it('completes a zero-byte object at once with zero records and a manifest', async () => {
    await local.clients.s3.send(new PutObjectCommand({ Bucket: local.resources.ingestBucket, Key: 'empty.jsonl', Body: '' }));
    await invoke(await receiveEvents(1));

    const object = (await ledger.list()).find((o) => o.key === 'empty.jsonl');
    expect(object).toMatchObject({ status: 'COMPLETE', chunkCount: 0, recordsIn: 0 });
    const manifest = await local.clients.s3.send(new GetObjectCommand({ Bucket: local.resources.processedBucket, Key: object?.manifestKey }));
    expect(JSON.parse(await manifest.Body!.transformToString())).toMatchObject({ balanced: true, shards: [], totals: { recordsIn: 0 } });
  });

  it('reports a malformed event as a batch item failure instead of dropping it', async () => {
    const response = await invoke([{ MessageId: 'bad-1', ReceiptHandle: 'r', Body: '{"not":"an event"}' }]);
    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'bad-1' }]);
  });
});
