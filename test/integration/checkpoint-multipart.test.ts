import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, PutBucketVersioningCommand } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { truncateSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { uploadFile } from '../../lib/checkpoint/file-upload';
import { PartRejected, uploadMultipart } from '../../lib/checkpoint/multipart';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';

const MiB = 1024 * 1024;
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const bucket = 'ckpt-multipart';

/** The uploader's own multipart loop against a local endpoint: parts, their hashes, and what it refuses. */
describe('uploadMultipart', () => {
  let server: MotoServer;
  let clients: AwsClients;
  let root: string;

  beforeAll(async () => {
    server = await startMotoServer();
    clients = createAwsClients({ endpoint: server.endpoint, region: 'us-east-1' });
    await clients.s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await clients.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } }));
    root = await mkdtemp(join(tmpdir(), 'shardline-mpu-'));
  });

  afterAll(async () => {
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  const body = async (key: string) =>
    Buffer.from(await ((await clients.s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))).Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  const openUploads = async () => (await clients.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? [];

  it('uploads a file in parts with each part hashed, and S3 holds the same bytes', async () => {
    const bytes = randomBytes(13 * MiB + 5);
    const path = join(root, 'big.bin');
    await writeFile(path, bytes);
    let sent = 0;
    const up = await uploadFile(clients.s3, { bucket, key: 'big.bin', path, bytes: bytes.length, partSize: 5 * MiB, queueSize: 2, onBytes: (n) => (sent += n) });
    expect(up.sha256).toBe(sha(bytes));
    expect(up.parts).toEqual([0, 1, 2].map((i) => sha(bytes.subarray(i * 5 * MiB, (i + 1) * 5 * MiB))));
    expect(sent).toBe(bytes.length);
    expect(sha(await body('big.bin'))).toBe(sha(bytes));
    // The object's composite checksum is the sha256 of the parts' sha256s.
    const head = await clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'big.bin', ChecksumMode: 'ENABLED' }));
    const composite = createHash('sha256')
      .update(Buffer.concat(up.parts.map((p) => Buffer.from(p, 'hex'))))
      .digest('base64');
    expect(head.ChecksumSHA256?.split('-')[0]).toBe(composite);
  });

  it('puts a file of one part or less (also an empty one) in one request', async () => {
    for (const [name, bytes] of [
      ['small.bin', randomBytes(MiB)],
      ['empty.bin', Buffer.alloc(0)],
    ] as const) {
      const path = join(root, name);
      await writeFile(path, bytes);
      const up = await uploadFile(clients.s3, { bucket, key: name, path, bytes: bytes.length, partSize: 5 * MiB, queueSize: 2 });
      expect(up).toEqual({ bytes: bytes.length, sha256: sha(bytes), partSize: 5 * MiB, parts: [sha(bytes)] });
      expect((await body(name)).equals(bytes)).toBe(true);
    }
  });

  it('refuses a file whose size is not what the manifest says, and a missing one', async () => {
    const path = join(root, 'resized.bin');
    await writeFile(path, randomBytes(6 * MiB));
    await expect(uploadMultipart(clients.s3, { bucket, key: 'resized.bin', path, bytes: 7 * MiB, partSize: 5 * MiB, queueSize: 2 })).rejects.toBeInstanceOf(PartRejected);
    await expect(uploadMultipart(clients.s3, { bucket, key: 'gone.bin', path: join(root, 'gone.bin'), bytes: 1, partSize: 5 * MiB, queueSize: 2 })).rejects.toBeInstanceOf(PartRejected);
  });

  it('refuses a file shortened during the upload, and leaves no multipart upload behind', async () => {
    const path = join(root, 'shrinks.bin');
    await writeFile(path, randomBytes(20 * MiB));
    let shortened = false;
    const upload = uploadMultipart(clients.s3, {
      bucket,
      key: 'shrinks.bin',
      path,
      bytes: 20 * MiB,
      partSize: 5 * MiB,
      queueSize: 1,
      // After the first part is acknowledged the file loses its tail, as if rewritten after save().
      onBytes: () => {
        if (!shortened) truncateSync(path, 6 * MiB);
        shortened = true;
      },
    });
    await expect(upload).rejects.toBeInstanceOf(PartRejected);
    expect(await openUploads()).toEqual([]);
  });

  it('aborts the multipart upload when the signal fires', async () => {
    const path = join(root, 'aborted.bin');
    await writeFile(path, randomBytes(15 * MiB));
    const abort = new AbortController();
    const upload = uploadMultipart(clients.s3, { bucket, key: 'aborted.bin', path, bytes: 15 * MiB, partSize: 5 * MiB, queueSize: 1, signal: abort.signal, onBytes: () => abort.abort() });
    await expect(upload).rejects.toThrow();
    expect(await openUploads()).toEqual([]);
    await expect(clients.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'aborted.bin' }))).rejects.toThrow();
  });
});
