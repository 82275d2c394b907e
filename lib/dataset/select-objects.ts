import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../aws/dynamo-pages';
import { UNFINISHED, UNFINISHED_OBJECTS_INDEX, type ObjectItem } from '../ledger/items';
import type { ObjectManifest } from '../ledger/manifest';
import { objectItemsById, RunLedger, type RunMember } from '../ledger/run-ledger';
import { listKeys } from '../storage/list-keys';
import { layout, parseByKeyEntry } from '../storage/layout';
import { byCodeUnits, IndexRefusedError, type IndexInput } from './build-index';
import type { IndexSource } from './index-format';

/** What building an index reads and writes. */
export interface DatasetDeps {
  s3: S3Client;
  doc: DynamoDBDocumentClient;
  ledgerTable: string;
  controlTable: string;
  processedBucket: string;
}

const MANIFESTS = 'manifests/';
/** Manifests read at once. */
const PARALLEL_READS = 8;

/** The objects (with their manifests) that `source` names; refuses a source that names none or a run still running. */
export async function selectObjects(deps: DatasetDeps, source: IndexSource): Promise<IndexInput[]> {
  if (source.kind === 'run') {
    const runs = new RunLedger(deps.doc, deps.ledgerTable, deps.controlTable);
    const run = await runs.get(source.runId);
    if (!run) throw new IndexRefusedError([`no run '${source.runId}' (see shardline runs)`], 'nothing to index');
    if (run.status === 'RUNNING') throw new IndexRefusedError([`run ${run.runId} is still RUNNING: wait until it settles (shardline runs)`], `cannot index run ${run.runId}`);
    const members = await runs.members(run.runId);
    return withManifests(deps, runMembersToObjects(members, await runs.objectsOf(members)));
  }
  if (source.kind === 'prefix') {
    const prefix = source.prefix;
    return withManifests(deps, await newestObjects(deps, [layout.byKeyPrefix(prefix), `${MANIFESTS}${prefix}`], (key) => key.startsWith(prefix)));
  }
  const wanted = new Set(source.objects);
  const found = await newestObjects(
    deps,
    source.objects.flatMap((k) => [`${layout.byKeyPrefix(k)}/`, `${MANIFESTS}${k}/`]),
    (key) => wanted.has(key),
  );
  const missing = source.objects.filter((k) => !found.some((o) => o.key === k));
  if (missing.length) throw new IndexRefusedError(missing.map((k) => `no object with source key '${k}' was ingested`));
  return withManifests(deps, found);
}

/**
 * A run's objects: every member the chunker planned (a member deleted before planning, GONE,
 * has no records to index). A planned member without an object item is reported as such.
 */
export function runMembersToObjects(members: RunMember[], objects: ReadonlyMap<string, ObjectItem>): ObjectItem[] {
  const out: ObjectItem[] = [];
  const problems: string[] = [];
  for (const m of members) {
    if (m.status === 'GONE') continue;
    const o = m.objectId ? objects.get(m.objectId) : undefined;
    if (o) out.push(o);
    else problems.push(`run member '${m.key}' has no object in the ledger (${m.objectId ?? 'no object id'})`);
  }
  if (problems.length) throw new IndexRefusedError(problems);
  return out;
}

/**
 * For each source object (bucket and key) whose key `matches`, its newest object version: the
 * objects with a manifest under `manifestPrefixes` (complete ones) and the unfinished objects of
 * the ledger's sparse index, whichever was planned last. An older version or an earlier run of
 * the same key is superseded; a newest one that is not COMPLETE is returned, so it is refused.
 */
async function newestObjects(deps: DatasetDeps, listingPrefixes: string[], matches: (key: string) => boolean): Promise<ObjectItem[]> {
  // A cut source key cannot be judged from its listing: the ledger's full key decides below.
  const manifestIds = (await listKeys(deps.s3, deps.processedBucket, listingPrefixes))
    .map((k): { sourceKey: string; objectId: string; cut?: boolean } | undefined => parseByKeyEntry(k) ?? parseManifestKey(k))
    .filter((m) => m !== undefined && (m.cut || matches(m.sourceKey)))
    .map((m) => (m as { objectId: string }).objectId);
  const unfinished = await queryAll<Pick<ObjectItem, 'objectId'>>(deps.doc, {
    TableName: deps.ledgerTable,
    IndexName: UNFINISHED_OBJECTS_INDEX,
    KeyConditionExpression: 'unfinished = :open',
    ExpressionAttributeValues: { ':open': UNFINISHED },
  });
  const items = await objectItemsById(deps.doc, deps.ledgerTable, [...manifestIds, ...unfinished.map((o) => o.objectId)]);
  const newest = new Map<string, ObjectItem>();
  for (const o of items.values()) {
    if (!matches(o.key)) continue;
    const id = `${o.bucket}\u0000${o.key}`;
    const seen = newest.get(id);
    if (!seen || byCodeUnits(seen.createdAt, o.createdAt) < 0 || (seen.createdAt === o.createdAt && byCodeUnits(seen.objectId, o.objectId) < 0)) newest.set(id, o);
  }
  return [...newest.values()];
}

/**
 * `manifests/<source key>/<objectId>.json` (manifests written before they were named by object
 * id alone) → its parts (the object id never holds a `/`); undefined for any other key.
 */
export function parseManifestKey(key: string): { sourceKey: string; objectId: string } | undefined {
  const slash = key.lastIndexOf('/');
  if (!key.startsWith(MANIFESTS) || slash <= MANIFESTS.length || !key.endsWith('.json')) return undefined;
  return { sourceKey: key.slice(MANIFESTS.length, slash), objectId: key.slice(slash + 1, -'.json'.length) };
}

/** Reads the manifest of every COMPLETE object (the others are refused without one). */
export async function withManifests(deps: Pick<DatasetDeps, 's3' | 'processedBucket'>, objects: ObjectItem[]): Promise<IndexInput[]> {
  const out: IndexInput[] = objects.map((object) => ({ object }));
  const pending = out.filter((i) => i.object.status === 'COMPLETE' && i.object.manifestKey);
  for (let i = 0; i < pending.length; i += PARALLEL_READS) {
    await Promise.all(
      pending.slice(i, i + PARALLEL_READS).map(async (input) => {
        input.manifest = await readManifest(deps, input.object.manifestKey as string);
      }),
    );
  }
  return out;
}

async function readManifest(deps: Pick<DatasetDeps, 's3' | 'processedBucket'>, key: string): Promise<ObjectManifest | undefined> {
  try {
    const out = await deps.s3.send(new GetObjectCommand({ Bucket: deps.processedBucket, Key: key }));
    return JSON.parse(await (out.Body as { transformToString(): Promise<string> }).transformToString()) as ObjectManifest;
  } catch (err) {
    if ((err as Error).name === 'NoSuchKey') return undefined;
    throw err;
  }
}
