import { DeleteObjectsCommand, GetObjectCommand, ListObjectVersionsCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { listKeys } from '../storage/list-keys';

/** The whole of a small object, or undefined when there is none. */
export async function getBytes(s3: S3Client, bucket: string, key: string, range?: { start: number; end: number }): Promise<Buffer | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key, ...(range ? { Range: `bytes=${range.start}-${range.end - 1}` } : {}) }));
    return Buffer.from(await (out.Body as { transformToByteArray(): Promise<Uint8Array> }).transformToByteArray());
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey' || (err as Error).name === 'NotFound') return undefined;
    throw err;
  }
}

/** A JSON object whose sha256 must be `sha256` (when given); undefined when there is none. */
export async function getJson<T>(s3: S3Client, bucket: string, key: string, sha256?: string): Promise<T | undefined> {
  const body = await getBytes(s3, bucket, key);
  if (!body) return undefined;
  if (sha256 && createHash('sha256').update(body).digest('hex') !== sha256) throw new Error(`s3://${bucket}/${key}: sha256 differs from the registry's`);
  return JSON.parse(body.toString('utf8')) as T;
}

/**
 * Deletes every version (and delete marker) of every object under `prefix`, `first` before the
 * others. For benchmarks and operators cleaning up: agents may not delete versions (see below).
 */
export async function deleteAllVersions(s3: S3Client, bucket: string, prefix: string, first?: string): Promise<number> {
  let deleted = 0;
  for (const p of first ? [first, prefix] : [prefix]) {
    let keyMarker: string | undefined;
    let versionMarker: string | undefined;
    do {
      const page = await s3.send(new ListObjectVersionsCommand({ Bucket: bucket, Prefix: p, KeyMarker: keyMarker, VersionIdMarker: versionMarker }));
      const objects = [...(page.Versions ?? []), ...(page.DeleteMarkers ?? [])]
        .filter((v) => v.Key !== undefined && (p === first || v.Key.startsWith(prefix)))
        .map((v) => ({ Key: v.Key as string, ...(v.VersionId && v.VersionId !== 'null' ? { VersionId: v.VersionId } : {}) }));
      for (let i = 0; i < objects.length; i += 1000) {
        const batch = objects.slice(i, i + 1000);
        const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
        if (out.Errors?.length) throw new Error(`deleting under s3://${bucket}/${p}: ${out.Errors[0].Code} ${out.Errors[0].Message}`);
        deleted += batch.length;
      }
      keyMarker = page.IsTruncated ? page.NextKeyMarker : undefined;
      versionMarker = page.IsTruncated ? page.NextVersionIdMarker : undefined;
    } while (keyMarker);
  }
  return deleted;
}

/**
 * Deletes the current version of every object under `prefix`, `first` before the others. The
 * bucket is versioned and agents may never delete an object version: the deleted objects stay as
 * noncurrent versions until the bucket's lifecycle rule expires them (7 days for checkpoints).
 */
export async function deleteCurrentObjects(s3: S3Client, bucket: string, prefix: string, first?: string): Promise<number> {
  const keys = await listKeys(s3, bucket, [prefix]);
  const ordered = first ? [first, ...keys.filter((k) => k !== first)] : keys;
  for (let i = 0; i < ordered.length; i += 1000) {
    const batch = ordered.slice(i, i + 1000).map((Key) => ({ Key }));
    const out = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch, Quiet: true } }));
    if (out.Errors?.length) throw new Error(`deleting under s3://${bucket}/${prefix}: ${out.Errors[0].Code} ${out.Errors[0].Message}`);
  }
  return ordered.length;
}
