import { chunkIdOf } from '../chunking/chunk';
import type { ObjectItem } from '../ledger/items';
import type { ObjectManifest } from '../ledger/manifest';
import { INDEX_FORMAT, type DatasetIndex, type IndexedObject, type IndexedShard, type IndexSource } from './index-format';

/** One object chosen for an index: its ledger item and, when it has one, its manifest. */
export interface IndexInput {
  object: ObjectItem;
  manifest?: ObjectManifest;
}

/** Thrown when an index cannot be built from what was asked; `problems` says why, one line each. */
export class IndexRefusedError extends Error {
  constructor(
    readonly problems: string[],
    summary = 'cannot build the index',
  ) {
    super(`${summary}:\n  - ${problems.join('\n  - ')}`);
    this.name = 'IndexRefusedError';
  }
}

/** Plain code-unit order: the same in every locale and in the Python reader. */
export const byCodeUnits = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

const where = (o: ObjectItem) => `s3://${o.bucket}/${o.key} (${o.objectId})`;

/**
 * Why an object cannot go into an index, if it cannot: not COMPLETE, no manifest, unbalanced
 * accounting, a manifest of another object, or binary (no records to deal to ranks).
 */
export function objectProblems({ object, manifest }: IndexInput): string[] {
  if (object.status !== 'COMPLETE') {
    const failed = object.failedChunks ? `, ${object.failedChunks} failed` : '';
    return [`${where(object)} is ${object.status} (${object.chunksDone} of ${object.chunkCount} chunks done${failed})`];
  }
  if (!manifest) return [`${where(object)} is COMPLETE but its manifest ${object.manifestKey ?? '(none recorded)'} was not found`];
  if (manifest.objectId !== object.objectId) return [`${where(object)}: manifest ${object.manifestKey} belongs to ${manifest.objectId}`];
  if (object.format === 'binary' || manifest.format === 'binary') return [`${where(object)} is binary: its shards hold bytes, not records to index`];
  const t = manifest.totals;
  if (!manifest.balanced || t.recordsIn !== t.recordsOut + t.recordsRejected + t.recordsFiltered || manifest.shards.length !== manifest.chunkCount) {
    return [
      `${where(object)} is unbalanced: ${t.recordsIn} in ≠ ${t.recordsOut} out + ${t.recordsRejected} rejected + ${t.recordsFiltered} filtered, ${manifest.shards.length} of ${manifest.chunkCount} shards`,
    ];
  }
  const inShards = manifest.shards.reduce((n, s) => n + s.records, 0);
  if (inShards !== t.recordsOut) return [`${where(object)}: its shards hold ${inShards} records, its manifest counts ${t.recordsOut} out`];
  return [];
}

export interface AssembleOptions {
  name: string;
  version: number;
  createdAt: string;
  source: IndexSource;
  configVersion: number;
  processedBucket: string;
  inputs: IndexInput[];
  /** Nodes with a PRESENT replica of each chunk, by chunk id (missing or empty: the manifest's placement). */
  presentHolders: ReadonlyMap<string, string[]>;
}

/**
 * Builds the index document. Deterministic: objects sorted by source key then object id, each
 * object's shards by chunk index, holders sorted. Throws {@link IndexRefusedError} naming every
 * object that cannot be indexed, or when there is nothing to index.
 */
export function assembleIndex(opts: AssembleOptions): DatasetIndex {
  checkIndexable(opts.source, opts.inputs);

  const sorted = [...opts.inputs].sort((a, b) => byCodeUnits(a.object.key, b.object.key) || byCodeUnits(a.object.objectId, b.object.objectId));
  const objects: IndexedObject[] = [];
  const shards: IndexedShard[] = [];
  for (const { object, manifest } of sorted) {
    const m = manifest as ObjectManifest;
    objects.push({
      objectId: object.objectId,
      bucket: m.source.bucket,
      key: m.source.key,
      ...(m.source.versionId ? { versionId: m.source.versionId } : {}),
      etag: m.source.etag,
      manifestKey: object.manifestKey as string,
      records: m.totals.recordsOut,
    });
    for (const s of [...m.shards].sort((a, b) => a.chunk - b.chunk)) {
      const chunkId = chunkIdOf(object.objectId, s.chunk);
      const present = opts.presentHolders.get(chunkId) ?? [];
      shards.push({
        ordinal: shards.length,
        bucket: opts.processedBucket,
        key: s.key,
        codec: codecOf(s.key, (s as { codec?: string }).codec),
        sha256: s.sha256,
        bytes: s.bytes,
        records: s.records,
        objectId: object.objectId,
        chunkId,
        holders: [...new Set(present.length ? present : s.replicas)].sort(byCodeUnits),
      });
    }
  }
  return {
    format: INDEX_FORMAT,
    name: opts.name,
    version: opts.version,
    createdAt: opts.createdAt,
    source: opts.source,
    configVersion: opts.configVersion,
    records: shards.reduce((n, s) => n + s.records, 0),
    bytes: shards.reduce((n, s) => n + s.bytes, 0),
    objects,
    shards,
  };
}

/**
 * How a shard's bytes are compressed: what its manifest entry declares, else what its key's
 * extension says (`.gz` gzip, `.zst` zstd, anything else stored as written). A reader refuses a
 * codec it cannot decode when it loads the index, not halfway through an epoch.
 */
export function codecOf(key: string, declared?: string): string {
  if (declared) return declared;
  if (key.endsWith('.gz')) return 'gzip';
  if (key.endsWith('.zst')) return 'zstd';
  return 'none';
}

/** Throws {@link IndexRefusedError} when nothing matched, or naming every object that cannot be indexed. */
export function checkIndexable(source: IndexSource, inputs: IndexInput[]): void {
  if (inputs.length === 0) throw new IndexRefusedError([`no processed object matches ${describe(source)}`], 'nothing to index');
  const problems = inputs.flatMap(objectProblems);
  if (problems.length) throw new IndexRefusedError(problems, `cannot index ${describe(source)}: ${problems.length} object(s) not ready`);
}

function describe(source: IndexSource): string {
  if (source.kind === 'run') return `run ${source.runId}`;
  if (source.kind === 'prefix') return `prefix '${source.prefix}'`;
  return `object key(s) ${source.objects.map((k) => `'${k}'`).join(', ')}`;
}
