import { CreateBucketCommand, GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { compress as zstdCompress } from 'zstd-napi';
import { processChunkFromS3 } from '../../lib/agent/chunk-processor';
import { parseChunkMessage } from '../../lib/agent/chunk-message';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { planChunks } from '../../lib/chunking/plan';
import { DatasetConfig } from '../../lib/config/pipeline-config';
import { decodeShard } from '../../lib/records/block-codec';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';

/** The chunk processor's limits and input formats against a local S3, through the real SDK client. */
describe('processChunkFromS3 limits and formats (local S3 endpoint)', () => {
  let server: MotoServer;
  let clients: AwsClients;
  /** The Range of every GetObject the processor sent. */
  const ranges: string[] = [];
  let s3: S3Client;

  beforeAll(async () => {
    server = await startMotoServer();
    clients = createAwsClients({ endpoint: server.endpoint, region: 'us-east-1' });
    s3 = clients.s3;
    s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'GetObjectCommand') ranges.push(String((args.input as { Range?: string }).Range));
        return next(args);
      },
      { step: 'initialize', name: 'recordRanges' },
    );
    for (const Bucket of ['ingest', 'processed']) await s3.send(new CreateBucketCommand({ Bucket }));
  }, 60_000);
  afterAll(async () => server?.stop());
  beforeEach(() => {
    ranges.length = 0;
  });

  async function put(key: string, body: Buffer | string, chunkSizeBytes: number) {
    const out = await s3.send(new PutObjectCommand({ Bucket: 'ingest', Key: key, Body: body }));
    const plan = planChunks({ bucket: 'ingest', key, etag: (out.ETag ?? '').replace(/"/g, ''), size: Buffer.byteLength(body) }, chunkSizeBytes);
    // Through the agent's own parsing, as a work message arrives.
    return plan.chunks.map((c) => parseChunkMessage(JSON.stringify(c)));
  }
  const config = (dataset: Record<string, unknown> = {}) => ({ dataset: DatasetConfig.parse(dataset), shardCodec: 'none' as const, recordWorkers: 0 });

  it('reads a .jsonl.zst object as its records', async () => {
    const records = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i, text: `record ${i}` }));
    const [chunk, ...more] = await put('z/a.jsonl.zst', zstdCompress(Buffer.from(`${records.join('\n')}\n`)), 1024 * 1024);

    const outcome = await processChunkFromS3({ s3, processedBucket: 'processed', config: config() }, chunk, 1);

    expect(more).toEqual([]);
    expect(chunk).toMatchObject({ format: 'jsonl', compression: 'zstd' });
    expect(outcome.counts).toMatchObject({ recordsIn: 1000, recordsOut: 1000, recordsRejected: 0 });
    const shard = await s3.send(new GetObjectCommand({ Bucket: 'processed', Key: outcome.shard.key }));
    expect((await decodeShard(Buffer.from(await shard.Body!.transformToByteArray()), 'none')).toString().split('\n').slice(0, -1)).toEqual(records);
  });

  it('reads only its own range in a newline-free object, and the first chunk gives its line up within maxRecordBytes past its end', async () => {
    const size = 8 * 1024 * 1024;
    const chunks = await put('z/flat.jsonl', Buffer.alloc(size, 'x'), 1024 * 1024);

    const outcomes = [];
    for (const chunk of chunks) outcomes.push(await processChunkFromS3({ s3, processedBucket: 'processed', config: config({ maxRecordBytes: 256 * 1024 }) }, chunk, 1));

    expect(outcomes[0].counts).toMatchObject({ recordsIn: 1, recordsRejected: 1, bytesIn: 1024 * 1024 });
    for (const o of outcomes.slice(1)) expect(o.counts).toMatchObject({ recordsIn: 0, bytesIn: 0 });
    // One GET per chunk: none reads on to the end of the object in further windows.
    expect(ranges).toHaveLength(chunks.length);
    const rejects = await s3.send(new GetObjectCommand({ Bucket: 'processed', Key: outcomes[0].rejects!.key }));
    const { gunzipSync } = await import('node:zlib');
    const reject = JSON.parse(gunzipSync(Buffer.from(await rejects.Body!.transformToByteArray())).toString());
    expect(reject).toMatchObject({ offset: 0, index: 0, length: 1024 * 1024, lengthAtLeast: true, record: 'x'.repeat(256) });
  });

  it('reads the CSV header of a later chunk with a bounded range, and fails the chunk when the header is longer than maxRecordBytes', async () => {
    const body = `${'h'.repeat(5000)}\n${'1\n'.repeat(4000)}`;
    const [, second] = await put('z/wide.csv', body, 4096);

    await expect(processChunkFromS3({ s3, processedBucket: 'processed', config: config({ maxRecordBytes: 1024 }) }, second, 1)).rejects.toThrow(
      /CSV header is longer than maxRecordBytes \(1024 bytes\)/,
    );
    expect(ranges[0]).toBe('bytes=0-1028');
  });
});
