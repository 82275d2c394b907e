import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

/** Every key under the given prefixes of a bucket. */
export async function listKeys(s3: S3Client, bucket: string, prefixes: string[]): Promise<string[]> {
  const keys: string[] = [];
  for (const prefix of prefixes) {
    let token: string | undefined;
    do {
      const out = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      keys.push(...(out.Contents ?? []).map((o) => o.Key as string));
      token = out.NextContinuationToken;
    } while (token);
  }
  return keys;
}
