import { AbortMultipartUploadCommand, CompleteMultipartUploadCommand, CreateMultipartUploadCommand, PutObjectCommand, UploadPartCommand, type CompletedPart, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import type { ByteThrottle } from './throttle';

/** The local copy is not what the training process handed off (missing, resized, other bytes): uploading again cannot help. */
export class PartRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartRejected';
  }
}

export interface MultipartOptions {
  bucket: string;
  key: string;
  path: string;
  /** Bytes the hand-off manifest lists. */
  bytes: number;
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
  throttle?: ByteThrottle;
  signal?: AbortSignal;
  /** Told the bytes of each part S3 has acknowledged. */
  onBytes?: (n: number) => void;
}

/** What was uploaded: the whole file's sha256 and each part's (hex), all of the bytes S3 was sent. */
export interface HashedUpload {
  bytes: number;
  sha256: string;
  partSize: number;
  parts: string[];
}

/**
 * Uploads a file in parallel multipart parts, each part's sha256 sent with it for S3 to check
 * (`ChecksumSHA256`: S3 refuses a part whose bytes do not match), so the SDK hashes nothing again.
 *
 * One worker thread reads the file once, in order, and hashes it: the whole file and each part.
 * The uploading thread reads each part itself (a positioned read from the page cache), waits for
 * that part's hash — the worker runs far ahead of the network — and sends it. Files of at most one
 * part go in one PutObject. Hashing is thus off the thread that uploads, each byte is hashed once
 * per digest, and no stream re-buffers the file: on a host whose cores are busy (GPUs' feeders, a
 * local emulator) that is what keeps the upload at the network's pace.
 */
export async function uploadMultipart(s3: S3Client, o: MultipartOptions): Promise<HashedUpload> {
  const file = await open(o.path, 'r').catch((err: NodeJS.ErrnoException) => {
    throw err.code === 'ENOENT' ? new PartRejected(`${o.path} is gone from the spool`) : err;
  });
  try {
    const { size } = await file.stat();
    if (size !== o.bytes) throw new PartRejected(`${o.path} has ${size} bytes, the part manifest says ${o.bytes}: changed after save()`);
    if (size <= o.partSize) return await putWhole(s3, file, o);
    return await putParts(s3, file, o);
  } finally {
    await file.close();
  }
}

async function putWhole(s3: S3Client, file: FileHandle, o: MultipartOptions): Promise<HashedUpload> {
  const body = await readExactly(file, 0, o.bytes, o.path);
  await o.throttle?.take(body.length);
  const digest = createHash('sha256').update(body).digest();
  await s3.send(withPayloadHash(new PutObjectCommand({ Bucket: o.bucket, Key: o.key, Body: body, ContentLength: body.length, ChecksumSHA256: digest.toString('base64') }), digest), {
    abortSignal: o.signal,
  });
  o.onBytes?.(body.length);
  const hex = digest.toString('hex');
  return { bytes: body.length, sha256: hex, partSize: o.partSize, parts: [hex] };
}

async function putParts(s3: S3Client, file: FileHandle, o: MultipartOptions): Promise<HashedUpload> {
  const count = Math.ceil(o.bytes / o.partSize);
  const hashes = new PartHashes(o.path, o.partSize, count);
  const created = await s3.send(new CreateMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, ChecksumAlgorithm: 'SHA256' }), { abortSignal: o.signal });
  const uploadId = created.UploadId as string;
  const done: CompletedPart[] = new Array(count);
  let next = 0;
  let failed: Error | undefined;
  const sendParts = async () => {
    while (!failed && next < count) {
      const index = next++;
      const offset = index * o.partSize;
      const body = await readExactly(file, offset, Math.min(o.partSize, o.bytes - offset), o.path);
      await o.throttle?.take(body.length);
      const digest = Buffer.from(await hashes.part(index), 'hex');
      const sha256 = digest.toString('base64');
      if (failed) return;
      const r = await s3.send(
        withPayloadHash(new UploadPartCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, PartNumber: index + 1, Body: body, ContentLength: body.length, ChecksumSHA256: sha256 }), digest),
        { abortSignal: o.signal },
      );
      done[index] = { PartNumber: index + 1, ETag: r.ETag, ChecksumSHA256: r.ChecksumSHA256 ?? sha256 };
      o.onBytes?.(body.length);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: Math.min(Math.max(1, o.queueSize), count) }, () =>
        sendParts().catch((err: Error) => {
          failed ??= err;
        }),
      ),
    );
    if (failed) throw failed;
    const whole = await hashes.whole;
    if (whole.bytes !== o.bytes) throw new PartRejected(`${o.path} has ${whole.bytes} bytes, the part manifest says ${o.bytes}: changed after save()`);
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId, MultipartUpload: { Parts: done } }), { abortSignal: o.signal });
    return { bytes: whole.bytes, sha256: whole.sha256, partSize: o.partSize, parts: whole.parts };
  } catch (err) {
    hashes.stop();
    // The bucket's lifecycle rule also aborts orphaned uploads after a day; this is the prompt way.
    await s3.send(new AbortMultipartUploadCommand({ Bucket: o.bucket, Key: o.key, UploadId: uploadId })).catch(() => undefined);
    throw err;
  }
}

/**
 * Hands SigV4 the body's sha256, which it would otherwise compute again on this thread: the signer
 * takes `x-amz-content-sha256` when the request has it, and S3 checks it against the body.
 */
function withPayloadHash<C extends PutObjectCommand | UploadPartCommand>(command: C, digest: Buffer): C {
  const hex = digest.toString('hex');
  type Handler = (args: { request: unknown }) => Promise<unknown>;
  const stack = command.middlewareStack as unknown as { add(mw: (next: Handler) => Handler, opts: { step: 'build'; name: string }): void };
  stack.add(
    (next) => (args) => {
      const request = args.request as { headers?: Record<string, string> };
      if (request.headers) request.headers['x-amz-content-sha256'] = hex;
      return next(args);
    },
    { step: 'build', name: 'checkpointPayloadHash' },
  );
  return command;
}

/** Reads `length` bytes at `offset` (a file that ends early was shortened after save()). */
async function readExactly(file: FileHandle, offset: number, length: number, path: string): Promise<Buffer> {
  const buf = Buffer.allocUnsafeSlow(length);
  for (let got = 0; got < length;) {
    const { bytesRead } = await file.read(buf, got, length - got, offset + got);
    if (bytesRead === 0) throw new PartRejected(`${path} ended at ${offset + got} bytes: changed after save()`);
    got += bytesRead;
  }
  return buf;
}

/** The worker thread's hashes of one file, each part's as soon as it is hashed. */
class PartHashes {
  readonly whole: Promise<{ bytes: number; sha256: string; parts: string[] }>;
  private readonly waiting = new Map<number, { resolve: (hex: string) => void; reject: (err: Error) => void }>();
  private readonly ready: string[] = [];
  private error?: Error;
  private readonly worker: Worker;

  constructor(path: string, partSize: number, count: number) {
    this.worker = new Worker(HASH_WORKER, { eval: true, workerData: { path, partSize } });
    this.whole = new Promise((resolve, reject) => {
      this.worker.on('message', (m: { part?: number; sha256: string; bytes?: number; parts?: string[]; error?: string; code?: string }) => {
        if (m.error !== undefined) return this.failAll(m.code === 'ENOENT' ? new PartRejected(`${path} is gone from the spool`) : new Error(m.error), reject);
        if (m.part !== undefined) {
          this.ready[m.part] = m.sha256;
          this.waiting.get(m.part)?.resolve(m.sha256);
          this.waiting.delete(m.part);
          return;
        }
        void this.worker.terminate();
        if ((m.parts as string[]).length !== count) this.failAll(new PartRejected(`${path}: ${m.bytes} bytes hashed, not the size uploaded: changed after save()`), reject);
        resolve({ bytes: m.bytes as number, sha256: m.sha256, parts: m.parts as string[] });
      });
      this.worker.once('error', (err) => this.failAll(err, reject));
    });
    this.whole.catch(() => undefined); // awaited by the caller, or moot when the upload fails first
  }

  /** Part `index`'s sha256 (hex), once the worker has hashed it. */
  part(index: number): Promise<string> {
    if (this.ready[index] !== undefined) return Promise.resolve(this.ready[index]);
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => this.waiting.set(index, { resolve, reject }));
  }

  stop(): void {
    void this.worker.terminate();
  }

  private failAll(err: Error, reject: (err: Error) => void): void {
    this.error ??= err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
    reject(err);
    void this.worker.terminate();
  }
}

/**
 * Plain JavaScript evaluated from this string (Node built-ins only), so it needs no file of its own
 * in the agent's bundle: hashes the file in order, posting each part's sha256, then the whole's.
 */
const HASH_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const { createReadStream } = require('node:fs');
const { path, partSize } = workerData;
const whole = createHash('sha256');
const parts = [];
let part = createHash('sha256');
let inPart = 0;
let bytes = 0;
const endPart = () => {
  const sha256 = part.digest('hex');
  parentPort.postMessage({ part: parts.length, sha256 });
  parts.push(sha256);
  part = createHash('sha256');
  inPart = 0;
};
createReadStream(path, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => {
    bytes += chunk.length;
    whole.update(chunk);
    for (let offset = 0; offset < chunk.length; ) {
      const n = Math.min(chunk.length - offset, partSize - inPart);
      part.update(chunk.subarray(offset, offset + n));
      inPart += n;
      offset += n;
      if (inPart === partSize) endPart();
    }
  })
  .on('end', () => {
    if (inPart > 0 || parts.length === 0) endPart();
    parentPort.postMessage({ bytes, sha256: whole.digest('hex'), parts });
  })
  .on('error', (err) => parentPort.postMessage({ error: err.message, code: err.code }));
`;
