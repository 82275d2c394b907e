import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { ingestPath, type IngestProgress } from '../../lib/ingest/ingest-path';
import { createIngestProgress } from '../../cli/progress-bar';

/** Relative path → content of the local source folder; `big.bin` is over 10 MB to force multipart. */
const FILES: Record<string, Buffer> = {
  'top.txt': Buffer.from('top level\n'),
  'a/b/c.jsonl': Buffer.from('{"id":1}\n{"id":2}\n'),
  'a/with space ü.txt': Buffer.from('unicode and a space in the name\n'),
  'a/empty.txt': Buffer.alloc(0),
  'nested/deep/big.bin': randomBytes(12 * 1024 * 1024 + 123),
};
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let moto: ChildProcess;
let s3: S3Client;
let dir: string;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function startMoto(port: number): Promise<ChildProcess> {
  const child = spawn('python3', ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], { stdio: 'ignore' });
  for (const deadline = Date.now() + 20_000; Date.now() < deadline;) {
    if (child.exitCode !== null) throw new Error(`moto exited with code ${child.exitCode}`);
    const up = await fetch(`http://127.0.0.1:${port}/moto-api/`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) return child;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  child.kill();
  throw new Error('moto did not answer within 20 s');
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const parts: Buffer[] = [];
  for await (const part of out.Body as Readable) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

beforeAll(async () => {
  const port = await freePort();
  moto = await startMoto(port);
  s3 = new S3Client({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    requestChecksumCalculation: 'WHEN_REQUIRED',
  });
  for (const bucket of ['ingest', 'copy']) await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  dir = await mkdtemp(join(tmpdir(), 'shardline-ingest-'));
  for (const [name, data] of Object.entries(FILES)) {
    await mkdir(dirname(join(dir, 'src', name)), { recursive: true });
    await writeFile(join(dir, 'src', name), data);
  }
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  if (moto && moto.exitCode === null) {
    const exited = new Promise((resolve) => moto.once('exit', resolve));
    moto.kill('SIGTERM');
    await exited;
  }
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('ingestPath', () => {
  it('uploads a nested folder byte for byte under the prefix, multipart for the big file', async () => {
    const reports: IngestProgress[] = [];
    const result = await ingestPath(join(dir, 'src'), { bucket: 'ingest', prefix: 'in' }, { s3, onProgress: (p) => reports.push(p) });

    const names = Object.keys(FILES).sort();
    expect(result.keys).toEqual(names.map((n) => `in/${n}`).sort());
    expect(result.files).toBe(names.length);
    expect(result.bytes).toBe(Object.values(FILES).reduce((n, b) => n + b.length, 0));
    for (const name of names) expect(sha256(await objectBytes('ingest', `in/${name}`))).toBe(sha256(FILES[name]));
    const big = await s3.send(new HeadObjectCommand({ Bucket: 'ingest', Key: 'in/nested/deep/big.bin' }));
    expect(big.ETag).toMatch(/-2"$/); // two 8 MiB parts

    const done = reports.map((r) => r.bytesDone);
    expect(done).toEqual([...done].sort((a, b) => a - b));
    expect(reports.at(-1)).toMatchObject({ bytesDone: result.bytes, bytesTotal: result.bytes, filesDone: names.length, filesTotal: names.length });
  });

  it('uploads a single local file under its base name', async () => {
    const result = await ingestPath(join(dir, 'src', 'a', 'b', 'c.jsonl'), { bucket: 'ingest', prefix: 'single/' }, { s3 });
    expect(result).toEqual({ files: 1, bytes: FILES['a/b/c.jsonl'].length, keys: ['single/c.jsonl'] });
  });

  it('copies an s3:// prefix by streaming, keeping paths relative to the prefix', async () => {
    await s3.send(new PutObjectCommand({ Bucket: 'ingest', Key: 'in-sibling/not-me.txt', Body: 'no' }));
    const result = await ingestPath('s3://ingest/in', { bucket: 'copy', prefix: 'again/' }, { s3, concurrency: 2 });

    const names = Object.keys(FILES).sort();
    expect(result.keys).toEqual(names.map((n) => `again/${n}`).sort());
    for (const name of names) expect(sha256(await objectBytes('copy', `again/${name}`))).toBe(sha256(FILES[name]));
    const big = await s3.send(new HeadObjectCommand({ Bucket: 'copy', Key: 'again/nested/deep/big.bin' }));
    expect(big.ETag).toMatch(/-2"$/);
  });

  it('copies a single S3 object under its base name', async () => {
    const result = await ingestPath('s3://ingest/in/nested/deep/big.bin', { bucket: 'copy' }, { s3 });
    expect(result.keys).toEqual(['big.bin']);
    expect(sha256(await objectBytes('copy', 'big.bin'))).toBe(sha256(FILES['nested/deep/big.bin']));
  });

  it('throws a clear error when the source does not exist', async () => {
    await expect(ingestPath(join(dir, 'nope'), { bucket: 'ingest' }, { s3 })).rejects.toThrow(/ingest source not found: .*nope/);
    await expect(ingestPath('s3://ingest/nothing-here/', { bucket: 'copy' }, { s3 })).rejects.toThrow(/ingest source not found: no objects under s3:\/\/ingest\/nothing-here/);
    await expect(ingestPath('s3://no-such-bucket/x', { bucket: 'copy' }, { s3 })).rejects.toThrow(/bucket no-such-bucket does not exist/);
  });

  it('throws the upload error when the target bucket does not exist', async () => {
    await expect(ingestPath(join(dir, 'src'), { bucket: 'missing-target' }, { s3 })).rejects.toThrow(/bucket/i);
  });
});

describe('createIngestProgress', () => {
  it('shows MB done, total and rate while an ingest runs', async () => {
    const stream = new PassThrough();
    let output = '';
    stream.on('data', (d) => (output += d));
    const bar = createIngestProgress(stream);
    await ingestPath(join(dir, 'src'), { bucket: 'ingest', prefix: 'bar/' }, { s3, onProgress: bar.onProgress });
    bar.stop();
    expect(output).toMatch(/12\.6\/12\.6 MB \| \d+\.\d MB\/s/);
    expect(output).toContain('5/5 files');
  });
});
