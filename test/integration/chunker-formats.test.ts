import { GetQueueAttributesCommand, PurgeQueueCommand } from '@aws-sdk/client-sqs';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createChunkerDeps } from '../../lib/chunker/chunker-deps';
import { chunkObject, type ChunkerDeps } from '../../lib/chunker/chunker';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/** The chunker decides from the key's extensions, against the local AWS endpoint: stated formats are planned, the rest FAILED with the reason. */
describe('chunker formats (local AWS endpoint)', () => {
  let local: ProvisionedEndpoint;
  let ledger: ObjectLedger;
  const logged: Array<[string, string, Record<string, unknown> | undefined]> = [];

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
    ledger = new ObjectLedger(local.clients.doc, local.resources.ledgerTable);
  }, 60_000);
  afterAll(async () => local?.server.stop());
  beforeEach(async () => {
    logged.length = 0;
    await local.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: local.resources.workQueueUrl }));
  });

  const depsWith = (dataset: Record<string, unknown> = {}): ChunkerDeps =>
    createChunkerDeps(local.clients, local.resources, parsePipelineConfig({ chunkSizeBytes: 1024 * 1024, dataset }), (level, message, fields) => logged.push([level, message, fields]));
  async function drop(key: string, body: Buffer | string = '{"a":1}\n', deps = depsWith()) {
    await local.clients.s3.send(new PutObjectCommand({ Bucket: local.resources.ingestBucket, Key: key, Body: body }));
    const outcome = await chunkObject(deps, { bucket: local.resources.ingestBucket, key, eventName: 'ObjectCreated:Put' });
    return { outcome, object: outcome.objectId ? await ledger.get(outcome.objectId) : undefined };
  }
  async function workQueueDepth(): Promise<number> {
    const out = await local.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: local.resources.workQueueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(out.Attributes?.ApproximateNumberOfMessages);
  }

  it.each([
    ['in/a.jsonl.bz2', /unsupported compression: bzip2 \(\.bz2\)/],
    ['in/a.csv.xz', /unsupported compression: xz/],
    ['in/a.zip', /unsupported format: a zip archive/],
    ['in/a.tar.gz', /unsupported format: a tar archive/],
    ['in/a.parquet', /unsupported format: Parquet/],
    ['in/a.lz4', /unsupported compression: lz4/],
    ['in/a.weird', /unknown format: unknown extension \.weird/],
    ['in/README', /unknown format: no extension/],
  ])('marks %s FAILED with the reason at planning, enqueues nothing, and stays so on a duplicate event', async (key, reason) => {
    const { outcome, object } = await drop(key);

    expect(outcome).toMatchObject({ outcome: 'refused', chunks: 0 });
    expect(object).toMatchObject({ status: 'FAILED', chunkCount: 0, lastError: expect.stringMatching(reason) });
    expect(await workQueueDepth()).toBe(0);
    expect(logged).toContainEqual(['warn', 'object refused', expect.objectContaining({ key, reason: expect.stringMatching(reason) })]);
    const again = await chunkObject(depsWith(), { bucket: local.resources.ingestBucket, key, eventName: 'ObjectCreated:Put' });
    expect(again.outcome).toBe('already-planned');
    expect((await ledger.get(object!.objectId))?.status).toBe('FAILED');
  });

  it('plans a .jsonl.zst object as one zstd chunk', async () => {
    const { outcome, object } = await drop('in/b.jsonl.zst', Buffer.alloc(3 * 1024 * 1024, 1));

    expect(outcome).toMatchObject({ outcome: 'planned', chunks: 1 });
    expect(object).toMatchObject({ status: 'ENQUEUED', format: 'jsonl', compression: 'zstd', chunkCount: 1 });
  });

  it('passes any object through as binary when the dataset config says binary', async () => {
    const { outcome, object } = await drop('in/c.parquet', Buffer.alloc(2 * 1024 * 1024 + 1, 7), depsWith({ format: 'binary' }));

    expect(outcome).toMatchObject({ outcome: 'planned', chunks: 3 });
    expect(object).toMatchObject({ status: 'ENQUEUED', format: 'binary', compression: 'none' });
    expect(await workQueueDepth()).toBe(3);
  });
});
