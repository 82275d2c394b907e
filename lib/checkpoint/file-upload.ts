import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { Worker } from 'node:worker_threads';
import type { ByteThrottle } from './throttle';

const MiB = 1024 * 1024;
/** S3 refuses multipart parts under 5 MiB (except the last) and more than 10,000 parts. */
export const MIN_PART_SIZE = 5 * MiB;
const MAX_PARTS = 9000;

/** The multipart part size for a file: `preferred` (at least 5 MiB), raised (in whole MiB) so no file needs more than 9,000 parts. */
export function partSizeFor(bytes: number, preferred = 16 * MiB): number {
  const size = Math.max(MIN_PART_SIZE, preferred, Math.ceil(bytes / MAX_PARTS / MiB) * MiB);
  return size;
}

/** The local copy is not what the training process handed off (missing, resized, other bytes): uploading again cannot help. */
export class PartRejected extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PartRejected';
  }
}

export interface FileUploadOptions {
  bucket: string;
  key: string;
  path: string;
  /** Bytes the hand-off manifest lists. */
  bytes: number;
  /** When the training process hashed the file itself. */
  expectedSha256?: string;
  partSize: number;
  /** Parts in flight at once. */
  queueSize: number;
  throttle?: ByteThrottle;
  signal?: AbortSignal;
  onBytes?: (n: number) => void;
}

export interface UploadedFile {
  bytes: number;
  sha256: string;
  partSize: number;
  parts: string[];
}

/** Files this big or bigger are hashed on a worker thread (a second read, from the page cache), off the thread that uploads. */
export const WORKER_HASH_MIN_BYTES = 32 * MiB;

/**
 * Uploads one file with parallel multipart parts (`@aws-sdk/lib-storage`), S3 checking each part's
 * sha256, while the whole file's sha256 and each part's are computed — on a worker thread for big
 * files, so that hashing runs beside the upload instead of slowing it. Then checks that S3 holds
 * exactly the bytes hashed (its composite checksum against ours, where the endpoint keeps one: a
 * file changed between the two reads fails here) before the file may count as durable.
 */
export async function uploadFile(s3: S3Client, opts: FileUploadOptions): Promise<UploadedFile> {
  const hashing = opts.bytes >= WORKER_HASH_MIN_BYTES ? hashOnWorker(opts.path, opts.partSize) : undefined;
  hashing?.catch(() => undefined); // awaited below, or moot when the upload fails first
  const hasher = new PartHasher(opts.partSize, opts.throttle, opts.onBytes, !hashing);
  const source = createReadStream(opts.path, { highWaterMark: MiB });
  let missing: Error | undefined;
  source.on('error', (err) => {
    missing = err;
    hasher.destroy(err);
  });
  source.pipe(hasher);
  const upload = new Upload({
    client: s3,
    params: { Bucket: opts.bucket, Key: opts.key, Body: hasher, ChecksumAlgorithm: 'SHA256' },
    partSize: opts.partSize,
    queueSize: opts.queueSize,
    leavePartsOnError: false,
  });
  const abort = () => void upload.abort().catch(() => undefined);
  opts.signal?.addEventListener('abort', abort, { once: true });
  try {
    await upload.done();
  } catch (err) {
    source.destroy();
    if (missing && (missing as NodeJS.ErrnoException).code === 'ENOENT') throw new PartRejected(`${opts.path} is gone from the spool`);
    throw missing ?? err;
  } finally {
    opts.signal?.removeEventListener('abort', abort);
  }
  const sent = hasher.result();
  const result = hashing ? await hashing : sent;
  if (sent.bytes !== result.bytes) throw new Error(`${opts.path}: ${sent.bytes} bytes sent, ${result.bytes} hashed: the file changed during the upload`);
  if (result.bytes !== opts.bytes) throw new PartRejected(`${opts.path} has ${result.bytes} bytes, the part manifest says ${opts.bytes}: changed after save()`);
  if (opts.expectedSha256 && opts.expectedSha256 !== result.sha256) throw new PartRejected(`${opts.path}: sha256 ${result.sha256} is not the ${opts.expectedSha256} save() computed`);
  await checkStored(s3, opts.bucket, opts.key, result);
  return result;
}

/** Fails unless the object's size (and checksum, where the endpoint keeps one) are those of the bytes hashed. */
async function checkStored(s3: S3Client, bucket: string, key: string, file: UploadedFile): Promise<void> {
  const head = await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key, ChecksumMode: 'ENABLED' }));
  if (head.ContentLength !== file.bytes) throw new Error(`s3://${bucket}/${key} holds ${head.ContentLength} bytes, not ${file.bytes}`);
  const stored = head.ChecksumSHA256?.split('-')[0];
  if (stored === undefined) return;
  const whole = Buffer.from(file.sha256, 'hex').toString('base64');
  const composite = createHash('sha256')
    .update(Buffer.concat(file.parts.map((p) => Buffer.from(p, 'hex'))))
    .digest('base64');
  if (stored !== whole && stored !== composite) throw new Error(`s3://${bucket}/${key}: stored checksum ${stored} matches neither the file's nor its parts' sha256`);
}

/** Puts a small JSON document with its sha256 checked by S3; returns that sha256 (hex). */
export async function putJson(s3: S3Client, bucket: string, key: string, doc: unknown): Promise<string> {
  const body = Buffer.from(`${JSON.stringify(doc, null, 2)}\n`);
  const digest = createHash('sha256').update(body).digest();
  await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'application/json', ChecksumSHA256: digest.toString('base64') }));
  return digest.toString('hex');
}

/**
 * Hashes a file on a worker thread: the whole file's sha256 and each `partSize` slice's. The
 * worker is plain JavaScript evaluated from this string (Node built-ins only), so it needs no file
 * of its own in the agent's bundle.
 */
function hashOnWorker(path: string, partSize: number): Promise<UploadedFile> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(HASH_WORKER, { eval: true, workerData: { path, partSize } });
    worker.once('message', (m: UploadedFile & { error?: string; code?: string }) => {
      void worker.terminate();
      if (m.error) reject(m.code === 'ENOENT' ? new PartRejected(`${path} is gone from the spool`) : new Error(m.error));
      else resolve({ bytes: m.bytes, sha256: m.sha256, partSize, parts: m.parts });
    });
    worker.once('error', reject);
  });
}

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
createReadStream(path, { highWaterMark: 1 << 20 })
  .on('data', (chunk) => {
    bytes += chunk.length;
    whole.update(chunk);
    for (let offset = 0; offset < chunk.length; ) {
      const n = Math.min(chunk.length - offset, partSize - inPart);
      part.update(chunk.subarray(offset, offset + n));
      inPart += n;
      offset += n;
      if (inPart === partSize) { parts.push(part.digest('hex')); part = createHash('sha256'); inPart = 0; }
    }
  })
  .on('end', () => {
    if (inPart > 0 || parts.length === 0) parts.push(part.digest('hex'));
    parentPort.postMessage({ bytes, sha256: whole.digest('hex'), parts });
  })
  .on('error', (err) => parentPort.postMessage({ error: err.message, code: err.code }));
`;

/** Passes bytes through, hashing the whole stream and each `partSize` slice, at the throttle's pace. */
class PartHasher extends Transform {
  private readonly whole = createHash('sha256');
  private part: Hash = createHash('sha256');
  private inPart = 0;
  private total = 0;
  private readonly parts: string[] = [];
  private done?: UploadedFile;

  constructor(
    private readonly partSize: number,
    private readonly throttle?: ByteThrottle,
    private readonly onBytes?: (n: number) => void,
    /** False: count and pace only (the bytes are hashed elsewhere). */
    private readonly hash = true,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    for (let offset = 0; this.hash && offset < chunk.length;) {
      const n = Math.min(chunk.length - offset, this.partSize - this.inPart);
      const slice = chunk.subarray(offset, offset + n);
      this.whole.update(slice);
      this.part.update(slice);
      this.inPart += n;
      offset += n;
      if (this.inPart === this.partSize) this.endPart();
    }
    this.total += chunk.length;
    this.onBytes?.(chunk.length);
    if (!this.throttle) return callback(null, chunk);
    this.throttle.take(chunk.length).then(
      () => callback(null, chunk),
      (err: Error) => callback(err),
    );
  }

  override _flush(callback: TransformCallback): void {
    if (this.inPart > 0 || this.parts.length === 0) this.endPart();
    this.done = { bytes: this.total, sha256: this.whole.digest('hex'), partSize: this.partSize, parts: this.parts };
    callback();
  }

  result(): UploadedFile {
    if (!this.done) throw new Error('upload finished before its bytes were all hashed');
    return this.done;
  }

  private endPart(): void {
    this.parts.push(this.part.digest('hex'));
    this.part = createHash('sha256');
    this.inPart = 0;
  }
}
