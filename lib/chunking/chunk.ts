import { createHash } from 'node:crypto';
import type { RecordFormat } from '../config/pipeline-config';

/** One version of one object in S3, as the chunker saw it in HeadObject. */
export interface ObjectRef {
  bucket: string;
  key: string;
  /** S3 version id when the bucket is versioned. */
  versionId?: string;
  /** ETag without quotes. */
  etag: string;
  size: number;
  /** Set when the object is processed by a run over a prefix: the run has its own object ids. */
  runId?: string;
}

/**
 * How an object's bytes are stored. Compressed objects cannot be split by byte range: a small one
 * travels as one chunk, a large one is split into decompressed windows by its first chunk's agent
 * (see `windowBytes` and `lib/windows`).
 */
export type Compression = 'none' | 'gzip' | 'zstd';

/** The message an agent receives from the work queue for one chunk. */
export interface ChunkMessage {
  v: 1;
  objectId: string;
  chunkId: string;
  index: number;
  chunkCount: number;
  bucket: string;
  key: string;
  versionId?: string;
  etag: string;
  objectSize: number;
  /** The chunk owns every record whose first byte lies in [start, end). */
  start: number;
  end: number;
  format: RecordFormat;
  compression: Compression;
  /** The run over a prefix this chunk belongs to, if any. */
  runId?: string;
  /**
   * Set on chunk 0 of a large compressed object (see `planChunks`): its agent decompresses the
   * object, cuts it into windows of about this many decompressed bytes on line boundaries,
   * processes window 0 itself and hands every other window to the pipeline as a chunk of its own.
   */
  windowBytes?: number;
  /**
   * Set on a window chunk of a split compressed object: `bucket`, `key` and `etag` name the staged
   * window (in the processed bucket), which holds the decompressed bytes `[base, end)`;
   * `start`, `end` and `objectSize` count decompressed bytes of the whole object, and the window
   * is processed as an uncompressed chunk of it.
   */
  window?: { base: number };
}

/**
 * Deterministic id of one object version: the same (bucket, key, version or ETag) always
 * yields the same id, so duplicate events re-plan nothing.
 */
export function objectIdOf(ref: Pick<ObjectRef, 'bucket' | 'key' | 'versionId' | 'etag' | 'runId'>): string {
  const version = ref.versionId && ref.versionId !== 'null' ? `v:${ref.versionId}` : `e:${ref.etag}`;
  // A run processes the object again (e.g. with a new config): its own id, its own outputs.
  const run = ref.runId ? `\0run:${ref.runId}` : '';
  return createHash('sha256').update(`${ref.bucket}\0${ref.key}\0${version}${run}`).digest('hex').slice(0, 32);
}

/** Deterministic id of chunk `index` of an object. */
export function chunkIdOf(objectId: string, index: number): string {
  return `${objectId}-${String(index).padStart(6, '0')}`;
}

/** What a key's extension says about an object: its format and compression, or why it is refused. */
export interface KeyFormat {
  format: RecordFormat;
  compression: Compression;
  /** Set when the object cannot be processed: it is marked FAILED with this reason at planning. */
  refused?: string;
}

/**
 * Compression suffixes, the last extension of a key (`.jsonl.gz`). A suffix mapped to a string is
 * a compression shardline cannot read: the object is refused with that name.
 */
export const COMPRESSION_EXTENSIONS: Readonly<Record<string, Compression | { unsupported: string }>> = {
  gz: 'gzip',
  gzip: 'gzip',
  zst: 'zstd',
  zstd: 'zstd',
  bz2: { unsupported: 'bzip2' },
  xz: { unsupported: 'xz' },
  lzma: { unsupported: 'lzma' },
  lz4: { unsupported: 'lz4' },
  lz: { unsupported: 'lzip' },
  sz: { unsupported: 'snappy' },
  snappy: { unsupported: 'snappy' },
  br: { unsupported: 'brotli' },
  z: { unsupported: 'compress (.Z)' },
  zlib: { unsupported: 'zlib' },
  deflate: { unsupported: 'deflate' },
};

/**
 * Record-format extensions (after any compression suffix). A format mapped to a string is a
 * container or columnar format shardline cannot split into records: the object is refused.
 * `binary` is inferred only where the table says so; any other extension is refused too, unless
 * the dataset config names the format (`dataset.format`).
 */
export const FORMAT_EXTENSIONS: Readonly<Record<string, RecordFormat | { unsupported: string }>> = {
  jsonl: 'jsonl',
  ndjson: 'jsonl',
  json: 'jsonl',
  csv: 'csv',
  tsv: 'csv',
  txt: 'text',
  text: 'text',
  log: 'text',
  bin: 'binary',
  tfrecord: 'binary',
  tfrecords: 'binary',
  zip: { unsupported: 'a zip archive' },
  '7z': { unsupported: 'a 7-Zip archive' },
  rar: { unsupported: 'a RAR archive' },
  tar: { unsupported: 'a tar archive' },
  tgz: { unsupported: 'a tar archive' },
  tbz2: { unsupported: 'a tar archive' },
  txz: { unsupported: 'a tar archive' },
  parquet: { unsupported: 'Parquet (columnar)' },
  orc: { unsupported: 'ORC (columnar)' },
  avro: { unsupported: 'Avro (container)' },
  arrow: { unsupported: 'Arrow (columnar)' },
  feather: { unsupported: 'Feather (columnar)' },
  h5: { unsupported: 'HDF5' },
  hdf5: { unsupported: 'HDF5' },
  xlsx: { unsupported: 'an Excel workbook' },
};

/**
 * Reads compression and record format from a key's extensions (`.jsonl.gz` → jsonl + gzip), from
 * the tables {@link COMPRESSION_EXTENSIONS} and {@link FORMAT_EXTENSIONS}; `forced` (the dataset's
 * `format`) replaces the format read. Formats are stated, never guessed: a compression or format
 * shardline cannot read, and an extension it does not know, give `refused` with the reason,
 * unless the dataset says `binary`, which passes any bytes through (decompressed when gzip or zstd).
 */
export function formatOfKey(key: string, forced?: RecordFormat): KeyFormat {
  const name = key.slice(key.lastIndexOf('/') + 1).toLowerCase();
  const parts = name.split('.');
  let ext = parts.length > 1 ? parts.pop() : undefined;
  let compression: Compression = 'none';
  const compressed = ext === undefined ? undefined : COMPRESSION_EXTENSIONS[ext];
  if (typeof compressed === 'string') {
    compression = compressed;
    ext = parts.length > 1 ? parts.pop() : undefined;
  } else if (compressed) {
    if (forced === 'binary') return { format: 'binary', compression: 'none' };
    return { format: forced ?? 'binary', compression: 'none', refused: `unsupported compression: ${compressed.unsupported} (.${ext}); shardline reads gzip (.gz) and zstd (.zst)` };
  }
  if (forced) return { format: forced, compression };
  const format = ext === undefined ? undefined : FORMAT_EXTENSIONS[ext];
  if (typeof format === 'string') return { format, compression };
  if (format) return { format: 'binary', compression, refused: `unsupported format: ${format.unsupported} (.${ext}); set dataset.format to "binary" to pass it through unchanged` };
  const what = ext === undefined ? 'no extension' : `unknown extension .${ext}`;
  return { format: 'binary', compression, refused: `unknown format: ${what}; name the format with dataset.format (jsonl, csv, text or binary)` };
}
