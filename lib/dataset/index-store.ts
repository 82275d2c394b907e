import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { listKeys } from '../storage/list-keys';
import { describeSource, formatIndex, INDEXES_PREFIX, indexKey, indexPrefix, versionOfKey, type DatasetIndex } from './index-format';

/** The processed bucket, where indexes live. */
export interface IndexStore {
  s3: S3Client;
  processedBucket: string;
}

/** One dataset name: its versions and a summary of the newest. */
export interface DatasetSummary {
  name: string;
  versions: number[];
  latest: { version: number; key: string; records: number; shards: number; bytes: number; createdAt: string; source: string };
}

/** How many times a builder that lost a version to a concurrent one moves on to the next. */
const PUBLISH_TRIES = 5;

/** Every stored version of `name`, ascending. */
export async function indexVersions(store: IndexStore, name: string): Promise<number[]> {
  const keys = await listKeys(store.s3, store.processedBucket, [indexPrefix(name)]);
  return keys
    .map((k) => versionOfKey(name, k))
    .filter((v): v is number => v !== undefined)
    .sort((a, b) => a - b);
}

/**
 * Stores the index under the next free version of its name and returns it with its key. Versions
 * are immutable: each is written with `If-None-Match: *`, so of two concurrent builders one gets
 * the version and the other, refused, takes the next (S3 conditional writes; moto 5.2.1 honours
 * them too). `build(version)` makes the document for the version being tried.
 */
export async function publishIndex(store: IndexStore, name: string, build: (version: number) => DatasetIndex): Promise<{ index: DatasetIndex; key: string }> {
  let version = ((await indexVersions(store, name)).pop() ?? 0) + 1;
  for (let attempt = 1; ; attempt++) {
    const index = build(version);
    const key = indexKey(name, version);
    try {
      await store.s3.send(
        new PutObjectCommand({
          Bucket: store.processedBucket,
          Key: key,
          Body: formatIndex(index),
          ContentType: 'application/json',
          IfNoneMatch: '*',
          Metadata: summaryMetadata(index),
        }),
      );
      return { index, key };
    } catch (err) {
      if (!versionTaken(err) || attempt >= PUBLISH_TRIES) throw err;
      version = Math.max(version, (await indexVersions(store, name)).pop() ?? 0) + 1;
    }
  }
}

/** A version of `name` (the newest when `version` is not given). */
export async function readIndex(store: IndexStore, name: string, version?: number): Promise<DatasetIndex> {
  const v = version ?? (await indexVersions(store, name)).pop();
  if (v === undefined) throw new Error(`no dataset index named '${name}' in s3://${store.processedBucket}/${INDEXES_PREFIX}`);
  try {
    const out = await store.s3.send(new GetObjectCommand({ Bucket: store.processedBucket, Key: indexKey(name, v) }));
    return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as DatasetIndex;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') throw new Error(`dataset '${name}' has no version ${v} (versions: ${(await indexVersions(store, name)).join(', ') || 'none'})`, { cause: err });
    throw err;
  }
}

/** The summary of one stored version, from its object metadata (no download). */
export async function indexSummary(store: IndexStore, name: string, version: number): Promise<DatasetSummary['latest']> {
  const key = indexKey(name, version);
  const head = await store.s3.send(new HeadObjectCommand({ Bucket: store.processedBucket, Key: key }));
  const m = head.Metadata ?? {};
  return {
    version,
    key,
    records: Number(m.records ?? NaN),
    shards: Number(m.shards ?? NaN),
    bytes: Number(m.bytes ?? NaN),
    createdAt: m['created-at'] ?? head.LastModified?.toISOString() ?? '',
    source: decodeURIComponent(m.source ?? ''),
  };
}

/** Every dataset name in the processed bucket, sorted, with its versions and newest version's summary. */
export async function listDatasets(store: IndexStore): Promise<DatasetSummary[]> {
  const byName = new Map<string, number[]>();
  for (const key of await listKeys(store.s3, store.processedBucket, [INDEXES_PREFIX])) {
    const name = key.slice(INDEXES_PREFIX.length).split('/')[0];
    const version = versionOfKey(name, key);
    if (version !== undefined) byName.set(name, [...(byName.get(name) ?? []), version]);
  }
  const names = [...byName.keys()].sort();
  return Promise.all(
    names.map(async (name) => {
      const versions = (byName.get(name) as number[]).sort((a, b) => a - b);
      return { name, versions, latest: await indexSummary(store, name, versions[versions.length - 1]) };
    }),
  );
}

/** What `dataset list` shows without downloading the index (S3 user metadata is ASCII: the source is URI-encoded). */
function summaryMetadata(index: DatasetIndex): Record<string, string> {
  return {
    records: String(index.records),
    shards: String(index.shards.length),
    bytes: String(index.bytes),
    'created-at': index.createdAt,
    source: encodeURIComponent(describeSource(index.source)),
  };
}

/** S3 refused the write because the key exists (412), or another conditional write to it is in flight (409). */
function versionTaken(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'PreconditionFailed' || e?.name === 'ConditionalRequestConflict' || e?.$metadata?.httpStatusCode === 412 || e?.$metadata?.httpStatusCode === 409;
}
