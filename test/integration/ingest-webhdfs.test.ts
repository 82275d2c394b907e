import { CreateBucketCommand, GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createHash, randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Readable } from 'node:stream';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { ingestPath, type IngestProgress } from '../../lib/ingest/ingest-path';
import { listHdfsSource, parseHdfsUrl } from '../../lib/ingest/webhdfs';
import { SHARDLINE_FROM_SOURCES } from '../support/cli';
import { startFakeWebHdfs, type FakeWebHdfs } from '../support/fake-webhdfs';

// WebHDFS is served by test/support/fake-webhdfs.ts, which follows the documented protocol
// (NameNode redirect to a DataNode, FileStatuses JSON, RemoteException errors); no real HDFS runs
// here. S3 is a real moto server through the real SDK client.

/** HDFS path → contents; `big.bin` is over 8 MiB so it goes multipart through the redirect. */
const FILES: Record<string, Buffer> = {
  '/data/train/part-00000.jsonl': Buffer.from('{"id":1}\n{"id":2}\n'),
  '/data/train/part-00001.jsonl': Buffer.from('{"id":3}\n'),
  '/data/train/nested/with space ü.jsonl': Buffer.from('{"id":4}\n'),
  '/data/train/nested/big.bin': randomBytes(12 * 1024 * 1024 + 321),
  '/data/train/empty.jsonl': Buffer.alloc(0),
  '/data/train/_SUCCESS': Buffer.alloc(0),
  '/data/train/_temporary/0/part-00002.jsonl': Buffer.from('half-written\n'),
  '/data/train/.staging/x': Buffer.from('hidden\n'),
  '/data/other/x.jsonl': Buffer.from('{"other":true}\n'),
};
const DATA = ['part-00000.jsonl', 'part-00001.jsonl', 'nested/with space ü.jsonl', 'nested/big.bin', 'empty.jsonl'].sort();
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

let moto: MotoServer;
let s3: S3Client;
let hdfs: FakeWebHdfs;
let bucketCount = 0;

async function freshBucket(): Promise<string> {
  const bucket = `ingest-${++bucketCount}`;
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

async function objectBytes(bucket: string, key: string): Promise<Buffer> {
  const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const parts: Buffer[] = [];
  for await (const part of out.Body as Readable) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** A port nothing listens on any more. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

beforeAll(async () => {
  moto = await startMotoServer();
  s3 = new S3Client({ endpoint: moto.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, requestChecksumCalculation: 'WHEN_REQUIRED' });
  hdfs = await startFakeWebHdfs(FILES);
}, 60_000);

afterAll(async () => {
  s3?.destroy();
  await hdfs?.close();
  await moto?.stop();
});

beforeEach(() => {
  hdfs.requests.length = 0;
  hdfs.truncate.clear();
  hdfs.redirectTo = undefined;
});

describe('parseHdfsUrl', () => {
  it('uses the port of a webhdfs:// url, the HTTP port instead of the RPC port of an hdfs:// url, and HTTPS for swebhdfs://', () => {
    expect(parseHdfsUrl('webhdfs://nn.corp:50070/data/x/')).toEqual({ baseUrl: 'http://nn.corp:50070', path: '/data/x' });
    expect(parseHdfsUrl('hdfs://nn.corp:8020/data/x')).toEqual({ baseUrl: 'http://nn.corp:9870', path: '/data/x' });
    expect(parseHdfsUrl('hdfs://nn.corp/data/x', 14000)).toEqual({ baseUrl: 'http://nn.corp:14000', path: '/data/x' });
    expect(parseHdfsUrl('swebhdfs://nn.corp:9871/a%20b')).toEqual({ baseUrl: 'https://nn.corp:9871', path: '/a b' });
    expect(() => parseHdfsUrl('hdfs:///data')).toThrow(/invalid HDFS url/);
  });
});

describe('ingestPath from WebHDFS', () => {
  it('streams a directory tree byte for byte through the DataNode redirect, leaving out _ and . names', async () => {
    const bucket = await freshBucket();
    const reports: IngestProgress[] = [];
    const result = await ingestPath(`${hdfs.url}/data/train`, { bucket, prefix: 'hdfs' }, { s3, onProgress: (p) => reports.push(p), webhdfs: { user: 'etl' } });

    expect(result.keys).toEqual(DATA.map((n) => `hdfs/${n}`).sort());
    for (const name of DATA) expect(sha256(await objectBytes(bucket, `hdfs/${name}`))).toBe(sha256(FILES[`/data/train/${name}`]));
    const big = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: 'hdfs/nested/big.bin' }));
    expect(big.ETag).toMatch(/-2"$/); // two 8 MiB parts: streamed, multipart
    const total = DATA.reduce((n, name) => n + FILES[`/data/train/${name}`].length, 0);
    expect(result.bytes).toBe(total);
    expect(reports.map((r) => r.bytesDone)).toEqual([...reports.map((r) => r.bytesDone)].sort((a, b) => a - b));
    expect(reports.at(-1)).toMatchObject({ bytesDone: total, bytesTotal: total, filesDone: DATA.length, filesTotal: DATA.length });
  });

  it('reads every file from the DataNode the NameNode redirected to, as the given user', async () => {
    await ingestPath(`${hdfs.url}/data/train`, { bucket: await freshBucket() }, { s3, webhdfs: { user: 'etl' } });
    const opens = hdfs.requests.filter((r) => r.query.op === 'OPEN');
    expect(
      opens
        .filter((r) => r.server === 'namenode')
        .map((r) => r.path)
        .sort(),
    ).toEqual(DATA.map((n) => `/data/train/${n}`).sort());
    expect(
      opens
        .filter((r) => r.server === 'datanode')
        .map((r) => r.path)
        .sort(),
    ).toEqual(DATA.map((n) => `/data/train/${n}`).sort());
    // The DataNode got the NameNode's redirect URL (with its namenoderpcaddress), not a URL the client made up.
    for (const r of opens.filter((o) => o.server === 'datanode')) expect(r.query).toMatchObject({ 'user.name': 'etl', namenoderpcaddress: 'namenode:8020' });
    for (const r of hdfs.requests.filter((o) => o.server === 'namenode')) expect(r.query['user.name']).toBe('etl');
  });

  it('passes a delegation token instead of the user when it has one', async () => {
    await ingestPath(`${hdfs.url}/data/other/x.jsonl`, { bucket: await freshBucket() }, { s3, webhdfs: { user: 'etl', delegationToken: 'JQAIaG9y' } });
    expect(hdfs.requests.every((r) => r.query.delegation === 'JQAIaG9y' && r.query['user.name'] === undefined)).toBe(true);
  });

  it('ingests a single file under its base name, from an hdfs:// url whose port is the RPC port', async () => {
    const bucket = await freshBucket();
    const result = await ingestPath(`hdfs://127.0.0.1:8020/data/other/x.jsonl`, { bucket, prefix: 'one/' }, { s3, webhdfs: { httpPort: hdfs.nameNodePort } });
    expect(result).toEqual({ files: 1, bytes: FILES['/data/other/x.jsonl'].length, keys: ['one/x.jsonl'] });
    expect((await objectBytes(bucket, 'one/x.jsonl')).toString()).toBe('{"other":true}\n');
  });

  it('throws ingest source not found for a missing path (RemoteException FileNotFoundException)', async () => {
    await expect(ingestPath(`${hdfs.url}/no/such/dir`, { bucket: 'unused' }, { s3 })).rejects.toThrow(/ingest source not found: .*no such HDFS path \/no\/such\/dir/);
  });

  it('fails the ingest, leaving no object and no upload, when a DataNode sends fewer bytes than the file has', async () => {
    const bucket = await freshBucket();
    hdfs.truncate.set('/data/train/nested/big.bin', 9 * 1024 * 1024);
    await expect(ingestPath(`${hdfs.url}/data/train/nested`, { bucket }, { s3 })).rejects.toThrow(/9437184 bytes arrived, its status gives 12583233/);
    expect((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents?.map((o) => o.Key) ?? []).not.toContain('big.bin');
    expect((await s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }))).Uploads ?? []).toEqual([]);
  });

  it('names the DataNode it cannot reach', async () => {
    const closed = await closedPort();
    hdfs.redirectTo = `http://127.0.0.1:${closed}`;
    await expect(ingestPath(`${hdfs.url}/data/other`, { bucket: await freshBucket() }, { s3 })).rejects.toThrow(`cannot reach the DataNode 127.0.0.1:${closed} for /data/other/x.jsonl (ECONNREFUSED)`);
  });
});

describe('listHdfsSource', () => {
  it('lists sizes from LISTSTATUS without opening any file', async () => {
    const files = await listHdfsSource(`${hdfs.url}/data/train`);
    expect(files.map((f) => [f.name, f.size])).toEqual(DATA.map((n) => [n, FILES[`/data/train/${n}`].length]));
    expect(hdfs.requests.map((r) => r.query.op)).not.toContain('OPEN');
  });
});

describe('shardline ingest webhdfs://', () => {
  it('copies into the ingest bucket of the local environment with the token from the environment, which wins over $HADOOP_USER_NAME', async () => {
    const bucket = await freshBucket();
    const stateDir = await mkdtemp(join(tmpdir(), 'shardline-webhdfs-'));
    try {
      // Only what `ingest` reads of the state `shardline local up` writes.
      await writeFile(join(stateDir, 'local.json'), JSON.stringify({ endpoint: moto.endpoint, region: 'us-east-1', resources: { ingestBucket: bucket } }));
      const env = { ...process.env, HADOOP_USER_NAME: 'etl-env', SHARDLINE_HDFS_DELEGATION_TOKEN: 'tok123', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
      const { stdout } = await promisify(execFile)(process.execPath, [...SHARDLINE_FROM_SOURCES, 'ingest', `${hdfs.url}/data/train`, '--prefix', 'cli/', '--state-dir', stateDir], {
        env,
        timeout: 60_000,
      });

      expect(stdout).toContain(`ingested ${DATA.length} file(s)`);
      for (const name of DATA) expect(sha256(await objectBytes(bucket, `cli/${name}`))).toBe(sha256(FILES[`/data/train/${name}`]));
      expect(hdfs.requests.length).toBeGreaterThan(0);
      for (const r of hdfs.requests.filter((q) => q.server === 'namenode')) expect([r.query.delegation, r.query['user.name']]).toEqual(['tok123', undefined]);
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});
