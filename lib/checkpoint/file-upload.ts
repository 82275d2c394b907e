import { HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { PartRejected, uploadMultipart, type HashedUpload } from './multipart';
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

export { PartRejected };

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

export type UploadedFile = HashedUpload;

/**
 * Uploads one file in parallel multipart parts, each with its sha256 for S3 to check
 * (`uploadMultipart`), then checks that S3 holds exactly the bytes hashed (its size, and its
 * composite checksum against ours where the endpoint keeps one) before the file may count as durable.
 */
export async function uploadFile(s3: S3Client, opts: FileUploadOptions): Promise<UploadedFile> {
  const result = await uploadMultipart(s3, opts);
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
