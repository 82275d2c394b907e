/**
 * The dataset index (`shardline.index/v1`): the immutable list of shards a training job reads,
 * with their record counts, checksums and current holders, and the lineage they came from.
 * Read by the Python client (`clients/python/shardline/index.py`); keep the two in step.
 *
 * This module has no AWS imports, so the CLI's declarations may use its name check.
 */

export const INDEX_FORMAT = 'shardline.index/v1';

/** Where the objects of an index were chosen from. */
export type IndexSource = { kind: 'run'; runId: string } | { kind: 'prefix'; prefix: string } | { kind: 'objects'; objects: string[] };

/** One source object version (lineage) and the manifest its shards were taken from. */
export interface IndexedObject {
  objectId: string;
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
  manifestKey: string;
  records: number;
}

/** One shard: where it is, what it holds, and the nodes that hold a copy. */
export interface IndexedShard {
  /** 0..n-1, in the index's deterministic order. */
  ordinal: number;
  bucket: string;
  key: string;
  /** `gzip`, `zstd` or `none` (see `codecOf`). */
  codec: string;
  sha256: string;
  bytes: number;
  records: number;
  objectId: string;
  chunkId: string;
  /** Nodes with a PRESENT replica when the index was built (else the nodes it was placed on). */
  holders: string[];
}

export interface DatasetIndex {
  format: typeof INDEX_FORMAT;
  name: string;
  /** 1, 2, 3… per name; never reused. */
  version: number;
  createdAt: string;
  source: IndexSource;
  /** The central config version in force when the index was built. */
  configVersion: number;
  records: number;
  bytes: number;
  objects: IndexedObject[];
  shards: IndexedShard[];
}

/** Letters, digits, `.`, `_` and `-`, starting with a letter or digit: safe in an S3 key and a path. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Throws unless `name` can name a dataset (it becomes part of an S3 key). */
export function checkDatasetName(name: string): string {
  if (!NAME.test(name)) throw new Error(`invalid dataset name '${name}': use 1-128 letters, digits, '.', '_' or '-', starting with a letter or digit`);
  return name;
}

/** Where version `version` of dataset `name` is stored in the processed bucket. */
export const indexKey = (name: string, version: number) => `${indexPrefix(name)}${version}.json`;
export const indexPrefix = (name: string) => `indexes/${name}/`;
export const INDEXES_PREFIX = 'indexes/';

/** The version a key under `indexes/<name>/` stores, or undefined for anything else there. */
export function versionOfKey(name: string, key: string): number | undefined {
  const m = /^(\d+)\.json$/.exec(key.slice(indexPrefix(name).length));
  return key.startsWith(indexPrefix(name)) && m ? Number(m[1]) : undefined;
}

/** `run:<id>`, `prefix:<p>` or `objects:<n>`: the source in one short string (S3 metadata, listings). */
export function describeSource(source: IndexSource): string {
  if (source.kind === 'run') return `run:${source.runId}`;
  if (source.kind === 'prefix') return `prefix:${source.prefix}`;
  return `objects:${source.objects.length}`;
}

/**
 * The index as JSON: the header indented, one object or shard per line, so a large index stays
 * compact and still reads (and diffs) line by line.
 */
export function formatIndex(index: DatasetIndex): string {
  const { objects, shards, ...header } = index;
  const head = JSON.stringify(header, null, 2).slice(0, -2); // without the closing "\n}"
  const list = (rows: unknown[]) => (rows.length ? `[\n${rows.map((r) => `    ${JSON.stringify(r)}`).join(',\n')}\n  ]` : '[]');
  return `${head},\n  "objects": ${list(objects)},\n  "shards": ${list(shards)}\n}\n`;
}
