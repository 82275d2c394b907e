import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { processChunkFromS3 } from '../../lib/agent/chunk-processor';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import type { ChunkMessage } from '../../lib/chunking/chunk';
import { DatasetConfig } from '../../lib/config/pipeline-config';
import { decodeShard } from '../../lib/records/block-codec';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';

/**
 * The agent's chunk processor against a local S3 (real SDK clients): the shard codec and the record
 * workers come from the config, the key's extension names the codec, and the shard decodes to the
 * chunk's records whichever codec and thread wrote it.
 */
describe('processChunkFromS3 shard codecs (local S3 endpoint)', () => {
  let server: MotoServer;
  let clients: AwsClients;
  const body = Array.from({ length: 3000 }, (_, i) => (i % 100 === 7 ? 'not json' : JSON.stringify({ id: i, text: `record ${i} é` }))).join('\r\n');
  let message: ChunkMessage;

  beforeAll(async () => {
    server = await startMotoServer();
    clients = createAwsClients({ endpoint: server.endpoint, region: 'us-east-1' });
    for (const Bucket of ['ingest', 'processed']) await clients.s3.send(new CreateBucketCommand({ Bucket }));
    const put = await clients.s3.send(new PutObjectCommand({ Bucket: 'ingest', Key: 'data/a.jsonl', Body: body }));
    const size = Buffer.byteLength(body);
    const etag = (put.ETag ?? '').replace(/"/g, '');
    message = {
      v: 1,
      objectId: 'obj',
      chunkId: 'obj-000001',
      index: 1,
      chunkCount: 2,
      bucket: 'ingest',
      key: 'data/a.jsonl',
      etag,
      objectSize: size,
      start: 1000,
      end: size,
      format: 'jsonl',
      compression: 'none',
    };
  }, 60_000);
  afterAll(async () => server?.stop());

  it.each([
    ['zstd', 2, 'jsonl.zst'],
    ['gzip', 0, 'jsonl.gz'],
    ['none', 1, 'jsonl'],
  ] as const)("writes a %s shard with %i record workers under a key that says so, holding the chunk's records", async (shardCodec, recordWorkers, extension) => {
    const config = { dataset: DatasetConfig.parse({}), shardCodec, recordWorkers };

    const outcome = await processChunkFromS3({ s3: clients.s3, processedBucket: 'processed', config }, message, 3);

    expect(outcome.shard.key).toBe(`shards/obj/part-000001-a3.${extension}`);
    const get = await clients.s3.send(new GetObjectCommand({ Bucket: 'processed', Key: outcome.shard.key }));
    const stored = Buffer.from(await get.Body!.transformToByteArray());
    expect(createHash('sha256').update(stored).digest('hex')).toBe(outcome.shard.sha256);
    const lines = (await decodeShard(stored, shardCodec)).toString('utf8').split('\n').slice(0, -1);
    // The chunk's records: from just past the first newline at or after byte start - 1.
    const bytes = Buffer.from(body);
    const expected = bytes
      .subarray(bytes.indexOf('\n', 999) + 1)
      .toString()
      .split('\r\n')
      .filter((l) => l !== 'not json');
    expect(lines).toEqual(expected);
    expect(outcome.shard.lines).toBe(lines.length);
    expect(outcome.counts.recordsIn).toBe(outcome.counts.recordsOut + outcome.counts.recordsRejected);
  });
});
