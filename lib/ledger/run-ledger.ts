import { createHash } from 'node:crypto';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { BatchGetCommand, type BatchGetCommandInput, type BatchGetCommandOutput, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { queryAll } from '../aws/dynamo-pages';
import { keys, ZERO_COUNTS, type ObjectItem, type RecordCounts } from './items';
import type { Log } from '../log';
import { conditionally } from '../aws/conditional-write';

/**
 * A run processes every object under a prefix that is already in S3. The run state machine
 * creates the run item (control table, pk `RUN`), lists the prefix page by page into the
 * ingest-events queue and counts what it listed; the chunker records each listed key as a member
 * (ledger, pk `RUN#<runId>`); the leader settles a run once every member is done, writing the run
 * manifest, and the state machine, which waits on the run item, reports the result. A run whose
 * input asked for a dataset index (`index: { name }`) gets it built by the leader as it settles.
 */
export type RunStatus = 'RUNNING' | 'COMPLETE' | 'FAILED';

export interface RunItem {
  pk: 'RUN';
  sk: string;
  runId: string;
  bucket: string;
  prefix: string;
  status: RunStatus;
  objectsListed: number;
  listingComplete: boolean;
  startedAt?: string;
  executionId?: string;
  completedAt?: string;
  manifestKey?: string;
  failedChunks?: number;
  /** The dataset index the run's input asked for, built when the run completes. */
  index?: { name: string };
  /** Set on settling when the index was built: its version and key in the processed bucket. */
  indexVersion?: number;
  indexKey?: string;
  /** Set on settling when the index could not be built (the run's data is processed all the same). */
  indexError?: string;
}

/** What became of the index a run asked for. */
export type RunIndexOutcome = { name: string; version: number; key: string } | { name: string; error: string };

/**
 * Builds the index a run asked for (`lib/dataset`'s `buildRunIndex`, injected: the dataset layer
 * sits above the ledger). Resolves with `{ error }` when the index can never be built from this
 * run (a refusal); rejects on a passing failure, so the run is settled on a later sweep.
 */
export type RunIndexBuilder = (run: RunItem, members: RunMember[], objects: ReadonlyMap<string, ObjectItem>) => Promise<RunIndexOutcome>;

export interface RunMember {
  key: string;
  objectId?: string;
  /** GONE: listed, but deleted before it could be planned. */
  status: 'PLANNED' | 'GONE';
}

export interface RunManifest {
  runId: string;
  bucket: string;
  prefix: string;
  status: Exclude<RunStatus, 'RUNNING'>;
  startedAt?: string;
  completedAt: string;
  totals: RecordCounts & { objects: number; objectsComplete: number; objectsFailed: number; objectsGone: number; chunks: number };
  objects: Array<{ key: string; objectId?: string; status: string; chunks?: number; manifestKey?: string } & Partial<RecordCounts>>;
  failedChunks: Array<{ key: string; objectId: string; error?: string; count: number }>;
  /** The dataset index the run asked for, or why it could not be built. */
  index?: RunIndexOutcome;
}

const RUN_PK = 'RUN';
/**
 * A member's item key. The source key is hashed into the sort key (DynamoDB refuses a sort key
 * over 1,024 bytes, and an S3 key may be 1,024 bytes on its own) and kept whole in `key`.
 */
export const memberKey = (runId: string, key: string) => ({ pk: `RUN#${runId}`, sk: `KEY#${createHash('sha256').update(key).digest('hex')}` });
export const runManifestKey = (runId: string) => `runs/${runId}/manifest.json`;

export class RunLedger {
  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly ledgerTable: string,
    private readonly controlTable: string,
  ) {}

  /** Records one listed key of a run (idempotent: a repeated event writes the same item). */
  async recordMember(runId: string, member: RunMember): Promise<void> {
    await this.doc.send(new PutCommand({ TableName: this.ledgerTable, Item: { ...memberKey(runId, member.key), runId, ...member } }));
  }

  async members(runId: string): Promise<RunMember[]> {
    return queryAll<RunMember>(this.doc, { TableName: this.ledgerTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': `RUN#${runId}` } });
  }

  async get(runId: string): Promise<RunItem | undefined> {
    const out = await this.doc.send(new QueryCommand({ TableName: this.controlTable, KeyConditionExpression: 'pk = :pk AND sk = :sk', ExpressionAttributeValues: { ':pk': RUN_PK, ':sk': runId } }));
    return out.Items?.[0] as RunItem | undefined;
  }

  /** Runs still RUNNING (runs are few; they share one partition of the control table). */
  async active(): Promise<RunItem[]> {
    const items = await queryAll<RunItem>(this.doc, {
      TableName: this.controlTable,
      KeyConditionExpression: 'pk = :pk',
      FilterExpression: '#s = :running',
      ExpressionAttributeNames: { '#s': 'status' },
      ExpressionAttributeValues: { ':pk': RUN_PK, ':running': 'RUNNING' },
    });
    return items;
  }

  /** Every run, newest first by start time. */
  async list(): Promise<RunItem[]> {
    const items = await queryAll<RunItem>(this.doc, { TableName: this.controlTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': RUN_PK } });
    return items.sort((a, b) => String(b.startedAt ?? '').localeCompare(String(a.startedAt ?? '')));
  }

  /** The object items of the members, 100 per BatchGet. */
  async objectsOf(members: RunMember[]): Promise<Map<string, ObjectItem>> {
    return objectItemsById(
      this.doc,
      this.ledgerTable,
      members.map((m) => m.objectId).filter((id): id is string => Boolean(id)),
    );
  }

  /** Marks a run finished with its manifest, once (returns false if it was already settled). */
  async settle(run: RunItem, manifest: RunManifest, manifestKey: string): Promise<boolean> {
    const index = manifest.index;
    const indexSet = !index ? '' : 'error' in index ? ', indexError = :indexError' : ', indexVersion = :indexVersion, indexKey = :indexKey';
    const indexValues = !index ? {} : 'error' in index ? { ':indexError': index.error } : { ':indexVersion': index.version, ':indexKey': index.key };
    return conditionally(
      this.doc.send(
        new UpdateCommand({
          TableName: this.controlTable,
          Key: { pk: RUN_PK, sk: run.runId },
          UpdateExpression: `SET #s = :status, completedAt = :at, manifestKey = :key, failedChunks = :failed, objectsFailed = :objFailed, recordsIn = :in, recordsOut = :out, recordsRejected = :rej${indexSet}`,
          ConditionExpression: '#s = :running',
          ExpressionAttributeNames: { '#s': 'status' },
          ExpressionAttributeValues: {
            ':status': manifest.status,
            ':at': manifest.completedAt,
            ':key': manifestKey,
            ':failed': manifest.failedChunks.reduce((n, f) => n + f.count, 0),
            ':objFailed': manifest.totals.objectsFailed,
            ':in': manifest.totals.recordsIn,
            ':out': manifest.totals.recordsOut,
            ':rej': manifest.totals.recordsRejected,
            ':running': 'RUNNING',
            ...indexValues,
          },
        }),
      ),
    );
  }
}

/** The object items of the given ids (those that exist), 100 per strongly consistent BatchGet. */
export async function objectItemsById(doc: DynamoDBDocumentClient, ledgerTable: string, objectIds: string[]): Promise<Map<string, ObjectItem>> {
  const ids = [...new Set(objectIds)];
  const found = new Map<string, ObjectItem>();
  for (let i = 0; i < ids.length; i += 100) {
    let request: BatchGetCommandInput['RequestItems'] | undefined = { [ledgerTable]: { Keys: ids.slice(i, i + 100).map((id) => keys.object(id)), ConsistentRead: true } };
    while (request && Object.keys(request).length) {
      const out: BatchGetCommandOutput = await doc.send(new BatchGetCommand({ RequestItems: request }));
      for (const item of (out.Responses?.[ledgerTable] ?? []) as ObjectItem[]) found.set(item.objectId, item);
      request = out.UnprocessedKeys;
    }
  }
  return found;
}

/**
 * An object is done when complete, refused (FAILED), or quarantined with every chunk either
 * processed or failed (a run then settles FAILED, naming it; a redrive can still complete it).
 */
export function objectSettled(o: ObjectItem): boolean {
  if (o.status === 'COMPLETE') return true;
  if (o.status !== 'FAILED' && o.status !== 'QUARANTINED') return false;
  return o.status === 'FAILED' ? !o.failedChunks || o.chunksDone + o.failedChunks >= o.chunkCount : o.chunksDone + (o.failedChunks ?? 0) >= o.chunkCount;
}

/**
 * The run manifest if the run is finished, else undefined: the listing is complete, every listed
 * key has been seen by the chunker, and every planned object is settled.
 */
export function buildRunManifest(run: RunItem, members: RunMember[], objects: Map<string, ObjectItem>, now = new Date()): RunManifest | undefined {
  if (!run.listingComplete || members.length < run.objectsListed) return undefined;
  const rows: RunManifest['objects'] = [];
  const failedChunks: RunManifest['failedChunks'] = [];
  const totals = { ...ZERO_COUNTS, objects: members.length, objectsComplete: 0, objectsFailed: 0, objectsGone: 0, chunks: 0 };
  for (const m of [...members].sort((a, b) => a.key.localeCompare(b.key))) {
    if (m.status === 'GONE') {
      totals.objectsGone++;
      rows.push({ key: m.key, status: 'GONE' });
      continue;
    }
    const o = objects.get(m.objectId as string);
    if (!o || !objectSettled(o)) return undefined;
    if (o.status === 'COMPLETE') totals.objectsComplete++;
    else {
      totals.objectsFailed++;
      failedChunks.push({ key: o.key, objectId: o.objectId, error: o.lastError, count: o.failedChunks ?? 0 });
    }
    totals.chunks += o.chunkCount;
    for (const k of Object.keys(ZERO_COUNTS) as Array<keyof RecordCounts>) totals[k] += o[k] ?? 0;
    rows.push({
      key: o.key,
      objectId: o.objectId,
      status: o.status,
      chunks: o.chunkCount,
      manifestKey: o.manifestKey,
      recordsIn: o.recordsIn,
      recordsOut: o.recordsOut,
      recordsRejected: o.recordsRejected,
      recordsFiltered: o.recordsFiltered,
      bytesIn: o.bytesIn,
    });
  }
  return {
    runId: run.runId,
    bucket: run.bucket,
    prefix: run.prefix,
    status: failedChunks.length ? 'FAILED' : 'COMPLETE',
    startedAt: run.startedAt,
    completedAt: now.toISOString(),
    totals,
    objects: rows,
    failedChunks,
  };
}

/**
 * The leader's sweep: settles every finished run (its index if it asked for one, then the run
 * manifest, then the run item). A run that completed but whose index could not be built still
 * settles COMPLETE, with the reason in `indexError`.
 */
export async function settleRuns(deps: { runs: RunLedger; s3: S3Client; processedBucket: string; log?: Log; buildIndex?: RunIndexBuilder }): Promise<number> {
  let settled = 0;
  for (const run of await deps.runs.active()) {
    if (!run.listingComplete) continue;
    const members = await deps.runs.members(run.runId);
    if (members.length < run.objectsListed) continue;
    const objects = await deps.runs.objectsOf(members);
    const manifest = buildRunManifest(run, members, objects);
    if (!manifest) continue;
    if (run.index && manifest.status === 'COMPLETE') {
      try {
        manifest.index = deps.buildIndex ? await deps.buildIndex(run, members, objects) : { name: String(run.index.name), error: 'this leader has no index builder' };
      } catch (err) {
        deps.log?.('warn', 'run index failed; retrying on the next sweep', { runId: run.runId, error: (err as Error).message });
        continue;
      }
    }
    const key = runManifestKey(run.runId);
    await deps.s3.send(new PutObjectCommand({ Bucket: deps.processedBucket, Key: key, Body: JSON.stringify(manifest, null, 2), ContentType: 'application/json' }));
    if (await deps.runs.settle(run, manifest, key)) {
      settled++;
      deps.log?.(manifest.status === 'COMPLETE' ? 'info' : 'warn', `run ${manifest.status.toLowerCase()}`, { runId: run.runId, manifestKey: key, ...manifest.totals });
      if (manifest.index) deps.log?.('error' in manifest.index ? 'error' : 'info', 'error' in manifest.index ? 'run index not built' : 'run index built', { runId: run.runId, ...manifest.index });
    }
  }
  return settled;
}
