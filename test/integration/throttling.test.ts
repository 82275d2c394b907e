import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterCommitsSettled } from '../../lib/agent/chunk-lifecycle';
import { handleChunkMessage, type ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import { chunkObject } from '../../lib/chunker/chunker';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ChunkLedger } from '../../lib/ledger/chunk-ledger';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/**
 * S3 answering SlowDown is back pressure: the chunk keeps its lease, backs off with jitter and is
 * processed, instead of failing (and walking towards the DLQ).
 */
describe('throttled S3 reads (real SDK clients against the local endpoint)', () => {
  let env: ProvisionedEndpoint;
  beforeAll(async () => {
    env = await startProvisionedEndpoint();
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('retries a chunk whose GETs are throttled twice, and commits it once', async () => {
    const { clients, resources } = env;
    const body = Array.from({ length: 200 }, (_, i) => JSON.stringify({ id: i })).join('\n');
    await clients.s3.send(new PutObjectCommand({ Bucket: resources.ingestBucket, Key: 'throttled/a.jsonl', Body: body }));
    const config = parsePipelineConfig({ chunkSizeBytes: 1024 * 1024 });
    const objects = new ObjectLedger(clients.doc, resources.ledgerTable);
    const planned = await chunkObject(
      { s3: clients.s3, sqs: clients.sqs, objects, workQueueUrl: resources.workQueueUrl, processedBucket: resources.processedBucket, config },
      { bucket: resources.ingestBucket, key: 'throttled/a.jsonl', eventName: 'ObjectCreated:Put' },
    );

    // An S3 client whose first two GetObject calls are refused with SlowDown (before the SDK's own retries).
    const s3 = new S3Client({
      endpoint: env.server.endpoint,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
    });
    let refused = 0;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand' && refused < 2) {
          refused++;
          throw Object.assign(new Error('Please reduce your request rate.'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
        }
        return next(args);
      },
      { step: 'initialize', name: 'injectSlowDown' },
    );

    const throttles: unknown[] = [];
    const deps: ChunkWorkerDeps = {
      s3,
      sqs: clients.sqs,
      chunks: new ChunkLedger(clients.doc, resources.ledgerTable),
      objects,
      workQueueUrl: resources.workQueueUrl,
      processedBucket: resources.processedBucket,
      nodeId: 'node-t',
      config,
      placementNodes: async () => [{ nodeId: 'node-t', failureDomain: 'a', capacity: 1 }],
      log: () => undefined,
      onThrottle: (err) => throttles.push(err),
    };
    const received = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.workQueueUrl, MaxNumberOfMessages: 1, WaitTimeSeconds: 2, MessageSystemAttributeNames: ['All'] }));
    const report = await handleChunkMessage(deps, received.Messages![0]);

    expect(report.error).toBeUndefined();
    expect(refused).toBe(2);
    expect(throttles).toHaveLength(2);
    expect(report.result).toBe('processed');
    await afterCommitsSettled(deps); // the object's finalize runs after the chunk's report
    const object = await objects.get(planned.objectId!);
    expect(object).toMatchObject({ status: 'COMPLETE', recordsIn: 200, recordsOut: 200 });
    expect(object?.lastError).toBeUndefined();
  }, 60_000);
});
