import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import { createChunkerHandler } from '../../functions/chunker-handler';
import { createChunkerDeps } from '../../lib/chunker/chunker-deps';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { createMetrics } from '../../lib/observability/lambda-metrics';
import { createLogger, logTo } from '../../lib/observability/logger';
import { sqsEventOf } from '../support/chunk-work';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

type Handler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

interface Emf {
  _aws: { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string; Unit: string }> }> };
  [key: string]: unknown;
}

/** The chunker emits its metrics as EMF on stdout (CloudWatch Logs extracts them on Lambda). */
describe('chunker handler metrics (EMF) and log correlation', () => {
  let local: ProvisionedEndpoint;
  let handler: Handler;
  let stdout: string[] = [];
  let restore: () => void;

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
    process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
    delete process.env.POWERTOOLS_METRICS_DISABLED;
    delete process.env.POWERTOOLS_DEV;
    const write = process.stdout.write.bind(process.stdout);
    process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
      stdout.push(String(chunk));
      return typeof rest[rest.length - 1] === 'function' ? ((rest[rest.length - 1] as () => void)(), true) : true;
    }) as typeof process.stdout.write;
    restore = () => (process.stdout.write = write);
    const logger = createLogger('shardline-chunker');
    const chunker = createChunkerDeps(local.clients, local.resources, parsePipelineConfig({ chunkSizeBytes: 1024 * 1024 }), logTo(logger));
    handler = createChunkerHandler({ chunker, logger, metrics: createMetrics('shardline-chunker', { SHARDLINE_STAGE: 'it-emf' }) });
  }, 60_000);

  afterAll(async () => {
    restore?.();
    await local?.server.stop();
  });

  beforeEach(() => {
    stdout = [];
  });

  const lines = () =>
    stdout
      .join('')
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const emf = () => lines().filter((l): l is Emf => '_aws' in l);
  const invoke = (bodies: string[]) =>
    handler(sqsEventOf(bodies.map((Body, i) => ({ MessageId: `m-${i}`, ReceiptHandle: 'r', Body }))), { functionName: 'chunker', getRemainingTimeInMillis: () => 60000 } as Context);
  const s3Event = (key: string) => JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: local.resources.ingestBucket }, object: { key: encodeURIComponent(key) } } }] });

  it('emits ObjectsPlanned, ChunksPlanned and BytesPlanned in namespace Shardline with the Stage dimension alone', async () => {
    const size = 3 * 1024 * 1024 + 10;
    await local.clients.s3.send(new PutObjectCommand({ Bucket: local.resources.ingestBucket, Key: 'emf/a.jsonl', Body: Buffer.alloc(size, '{"a":1}\n') }));

    const response = await invoke([s3Event('emf/a.jsonl')]);

    expect(response.batchItemFailures).toEqual([]);
    const [blob, ...more] = emf();
    expect(more).toEqual([]);
    expect(blob._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Shardline', Dimensions: [['Stage']] });
    expect(blob._aws.CloudWatchMetrics[0].Metrics.map((m) => m.Name).sort()).toEqual(['BytesPlanned', 'ChunksPlanned', 'MalformedIngestEvents', 'ObjectsPlanned', 'ObjectsRefused']);
    expect(blob).toMatchObject({ Stage: 'it-emf', ObjectsPlanned: 1, ChunksPlanned: 4, BytesPlanned: size, MalformedIngestEvents: 0 });
    expect(blob).not.toHaveProperty('service');

    const planned = lines().find((l) => l.message === 'planned object');
    expect(planned).toMatchObject({ key: 'emf/a.jsonl', objectId: expect.stringMatching(/^[0-9a-f]{32}$/), chunks: 4, messageId: 'm-0' });
  });

  it('counts malformed events, and a duplicate event plans nothing new', async () => {
    await local.clients.s3.send(new PutObjectCommand({ Bucket: local.resources.ingestBucket, Key: 'emf/b.jsonl', Body: '{"b":1}\n' }));
    await invoke([s3Event('emf/b.jsonl')]);
    stdout = [];

    const response = await invoke(['{"not":"an event"}', 'not json', s3Event('emf/b.jsonl')]);

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-1' }]);
    expect(emf()).toHaveLength(1);
    expect(emf()[0]).toMatchObject({ Stage: 'it-emf', ObjectsPlanned: 0, ChunksPlanned: 0, BytesPlanned: 0, MalformedIngestEvents: 2 });
    expect(lines().find((l) => l.message === 'object already planned')).toMatchObject({ key: 'emf/b.jsonl', objectId: expect.any(String) });
  });

  it('logs a failed event by message id, event name, bucket and key, never the requester principal or source IP', async () => {
    const who = { userIdentity: { principalId: 'AWS:AIDASECRETPRINCIPAL' }, requestParameters: { sourceIPAddress: '203.0.113.7' } };
    const bad = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', ...who, s3: { bucket: { name: local.resources.ingestBucket }, object: { key: 'emf/%E0%A4%A' } } }] });
    const notJson = `${JSON.stringify(who)} trailing`;

    // Errors go to stderr: both streams are read.
    const stderr: string[] = [];
    const write = process.stderr.write.bind(process.stderr);
    process.stderr.write = ((chunk: string | Uint8Array) => stderr.push(String(chunk)) > 0) as typeof process.stderr.write;
    let response: SQSBatchResponse;
    try {
      response = await invoke([bad, notJson]);
    } finally {
      process.stderr.write = write;
    }

    expect(response.batchItemFailures).toEqual([{ itemIdentifier: 'm-0' }, { itemIdentifier: 'm-1' }]);
    const output = stdout.join('') + stderr.join('');
    expect(output).not.toMatch(/AIDASECRETPRINCIPAL|203\.0\.113\.7/);
    const failed = output
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.message === 'ingest event failed')
      .sort((a, b) => String(a.messageId).localeCompare(String(b.messageId))); // records run in parallel
    expect(failed).toEqual([
      expect.objectContaining({ messageId: 'm-0', event: { records: 1, objects: [{ eventName: 'ObjectCreated:Put', bucket: local.resources.ingestBucket, key: 'emf/%E0%A4%A' }] } }),
      expect.objectContaining({ messageId: 'm-1', event: { bodyBytes: notJson.length, parseError: expect.stringMatching(/JSON at position \d+/) } }),
    ]);
    expect(failed.every((l) => !('body' in l))).toBe(true);
  });
});
