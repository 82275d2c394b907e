import type { DatasetConfig } from '../config/pipeline-config';

/** The limits that keep one hostile object from exhausting an agent (see `docs/datasets.md`). */
export interface InputLimits {
  /** Longest line read as a record (bytes, terminator excluded). */
  maxRecordBytes: number;
  /** Deepest nesting of arrays and objects in a JSON record. */
  maxRecordDepth: number;
  /** Most bytes one compressed object may decompress to. */
  maxDecompressedBytes: number;
  /** Highest decompressed/compressed ratio once past {@link RATIO_FLOOR_BYTES} decompressed. */
  maxCompressionRatio: number;
}

/** Defaults of the dataset config's limit fields. */
export const DEFAULT_INPUT_LIMITS: Readonly<InputLimits> = {
  maxRecordBytes: 64 * 1024 ** 2,
  maxRecordDepth: 512,
  maxDecompressedBytes: 32 * 1024 ** 3,
  maxCompressionRatio: 200,
};

/** The compression ratio is checked only past this many decompressed bytes (small files compress well). */
export const RATIO_FLOOR_BYTES = 64 * 1024 ** 2;

/** Reason code of a record too large to read or process (a line longer than `maxRecordBytes`). */
export const RECORD_TOO_LARGE = 'record-too-large';

/** Reason code of a record nested too deeply (deeper than `maxRecordDepth`, or past the stack). */
export const TOO_DEEP = 'too-deep';

/** Bytes of an oversized line kept in its reject (the `record` field). */
export const REJECT_PREFIX_BYTES = 256;

/** The dataset's limits, defaults for what it does not set. */
export function inputLimitsOf(dataset: Partial<Pick<DatasetConfig, keyof InputLimits>>): InputLimits {
  return {
    maxRecordBytes: dataset.maxRecordBytes ?? DEFAULT_INPUT_LIMITS.maxRecordBytes,
    maxRecordDepth: dataset.maxRecordDepth ?? DEFAULT_INPUT_LIMITS.maxRecordDepth,
    maxDecompressedBytes: dataset.maxDecompressedBytes ?? DEFAULT_INPUT_LIMITS.maxDecompressedBytes,
    maxCompressionRatio: dataset.maxCompressionRatio ?? DEFAULT_INPUT_LIMITS.maxCompressionRatio,
  };
}

/**
 * Starts the message of every {@link ObjectInputError}. An error thrown in a record worker thread
 * reaches the agent as a structured clone, a plain `Error` with its message only (no class, name
 * or properties), so the message carries the marker across.
 */
export const OBJECT_INPUT_ERROR_PREFIX = 'unusable input: ';

/**
 * The object itself is unusable, for a reason that is not about one record (a decompression
 * bomb, a CSV header longer than `maxRecordBytes` or naming a column twice): the chunk fails with
 * this reason, and would on every attempt alike. Record-level problems never throw: they reject.
 */
export class ObjectInputError extends Error {
  /** The same input fails the same way on every attempt: retrying cannot help. */
  readonly permanent = true;
  constructor(reason: string) {
    super(reason.startsWith(OBJECT_INPUT_ERROR_PREFIX) ? reason : OBJECT_INPUT_ERROR_PREFIX + reason);
    this.name = 'ObjectInputError';
  }
}

/**
 * True for an {@link ObjectInputError}, thrown on this thread or cloned back from a record worker
 * (a plain `Error` whose message starts with {@link OBJECT_INPUT_ERROR_PREFIX}).
 */
export function isObjectInputError(err: unknown): boolean {
  if (err instanceof ObjectInputError) return true;
  const message = err && typeof err === 'object' ? (err as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message.startsWith(OBJECT_INPUT_ERROR_PREFIX);
}
