import { z } from 'zod';

/**
 * Record formats shardline can split. `binary` is passed through in fixed-size chunks; it is
 * never inferred from an unknown extension (see `docs/datasets.md`).
 */
export const RecordFormat = z.enum(['jsonl', 'csv', 'text', 'binary']);
export type RecordFormat = z.infer<typeof RecordFormat>;

/**
 * How the records of a dataset are validated and transformed by the agents.
 * Every step is optional; with none, JSON Lines records are validated as JSON objects and
 * written out unchanged in value.
 */
export const DatasetConfig = z
  .object({
    /** Force a format instead of inferring it from the key's extension. */
    format: RecordFormat.optional(),
    /** A JSON Schema (draft 2020-12 / 07) every record must satisfy, else it is rejected. */
    schema: z.record(z.string(), z.unknown()).optional(),
    /** Keep only these fields (applied before renaming). */
    selectFields: z.array(z.string().min(1)).min(1).optional(),
    /** Rename fields: `{ old: new }` (applied after selection). */
    renameFields: z.record(z.string(), z.string().min(1)).optional(),
    /** Text normalization of string fields (all string fields, or `fields`). */
    normalize: z
      .object({
        nfc: z.boolean().default(true),
        collapseWhitespace: z.boolean().default(true),
        fields: z.array(z.string().min(1)).optional(),
      })
      .strict()
      .optional(),
    /** Filter records by the length in characters of one string field (after transforms). */
    lengthFilter: z
      .object({
        field: z.string().min(1),
        min: z.number().int().nonnegative().optional(),
        max: z.number().int().positive().optional(),
      })
      .strict()
      .refine((f) => f.min === undefined || f.max === undefined || f.min <= f.max, 'min must not exceed max')
      .optional(),
    /** Drop exact duplicate records (after transforms) within a chunk; they count as filtered. */
    dedupe: z.boolean().default(false),
    /**
     * Longest line (bytes, terminator excluded) read as a record; a longer one is skipped without
     * being held in memory and rejected as `record-too-large`. Also caps the CSV header read and
     * how far a chunk reads past its end. Absent: 64 MiB (see `lib/records/input-limits.ts`).
     */
    maxRecordBytes: z
      .number()
      .int()
      .min(1)
      .max(256 * 1024 ** 2)
      .optional(),
    /** Deepest nesting of arrays and objects in a JSON record; deeper ones are rejected as `too-deep`. Absent: 512. */
    maxRecordDepth: z.number().int().min(1).max(1_000_000).optional(),
    /** Compressed input (gzip, zstd): the most bytes one object may decompress to, else it fails. Absent: 32 GiB. */
    maxDecompressedBytes: z.number().int().min(1).optional(),
    /** Compressed input: the highest decompressed/compressed ratio once past 64 MiB decompressed (zip bombs), else it fails. Absent: 200. */
    maxCompressionRatio: z.number().min(1).optional(),
  })
  .strict();
export type DatasetConfig = z.infer<typeof DatasetConfig>;

/** The pipeline configuration every component reads. */
export const PipelineConfig = z
  .object({
    /** Target chunk size in bytes (the last chunk of an object may be smaller). */
    chunkSizeBytes: z
      .number()
      .int()
      .min(1024)
      .max(5 * 1024 ** 3)
      .default(64 * 1024 * 1024),
    /**
     * Compressed objects (gzip, zstd) of at least this many bytes are split into decompressed
     * windows processed by several agents (JSON Lines and text; CSV and binary stay one chunk).
     * Absent: 1 MiB. An object that decompresses to less than one window is still one chunk.
     */
    compressedSplitMinBytes: z.number().int().min(0).optional(),
    /** Decompressed bytes per window of a split compressed object (cut after a newline). Absent: `chunkSizeBytes`. */
    compressedWindowBytes: z
      .number()
      .int()
      .min(1024)
      .max(1024 ** 3)
      .optional(),
    /** How many training nodes hold a copy of every shard. */
    replicationFactor: z.number().int().min(1).max(10).default(2),
    /** Chunks processed at once per node (per GPU host), before capacity scaling. */
    concurrencyPerNode: z.number().int().min(1).max(64).default(4),
    /** Seconds a leased chunk stays invisible; the agent extends it while it works. */
    visibilityTimeoutSeconds: z.number().int().min(10).max(43200).default(120),
    /**
     * Seconds after the last heartbeat (sent every second) before the leader declares a node
     * DEAD; with the detector's 0.5 s sweep, failures are detected within 5 s.
     */
    heartbeatTimeoutSeconds: z.number().min(2).max(600).default(3.5),
    /**
     * When a node joins, the leader moves the shards whose placement changed to it at most this
     * many new copies per second per node, so that the pulls never starve training reads.
     */
    rebalanceAssignmentsPerSecond: z.number().int().min(1).max(1000).default(4),
    dataset: DatasetConfig.default({ dedupe: false }),
    /**
     * Codec of the shards the agents write: `gzip` (`.jsonl.gz`), `zstd` (`.jsonl.zst`, through a
     * native binding) or `none` (`.jsonl`). Manifests and dataset indexes name it; the CLI's
     * verify and the Python reader read all three.
     */
    shardCodec: z.enum(['gzip', 'zstd', 'none']).default('gzip'),
    /** gzip level of shards: 1 is fastest; 6 costs about 3× the CPU for shards a few percent smaller. */
    gzipLevel: z.number().int().min(1).max(9).default(1),
    /** zstd level of shards: 1 is fastest (and still smaller than gzip's 1). */
    zstdLevel: z.number().int().min(1).max(19).default(1),
    /**
     * Worker threads that run the record path on each agent (0: on the agent's own thread).
     * Absent: a quarter of the host's CPUs, at least one, so that most cores stay with training.
     * The agent's `--record-workers` flag overrides it on one host.
     */
    recordWorkers: z.number().int().min(0).max(256).optional(),
  })
  .strict();
export type PipelineConfig = z.infer<typeof PipelineConfig>;

/** Environment variable holding a JSON pipeline config (partial: defaults fill the rest). */
export const CONFIG_ENV_VAR = 'SHARDLINE_CONFIG';

/**
 * Parses and validates a pipeline config. Throws an Error whose message names every bad field
 * and why, so a bad config is refused at start with the reason.
 */
export function parsePipelineConfig(input: unknown): PipelineConfig {
  const result = PipelineConfig.safeParse(input ?? {});
  if (!result.success) {
    const reasons = result.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new Error(`invalid shardline config: ${reasons.join('; ')}`);
  }
  return result.data;
}

/** Reads the config from `SHARDLINE_CONFIG` (JSON), defaults for whatever is not given. */
export function configFromEnv(env: NodeJS.ProcessEnv = process.env): PipelineConfig {
  const raw = env[CONFIG_ENV_VAR];
  if (!raw) return parsePipelineConfig({});
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (err) {
    throw new Error(`invalid shardline config: ${CONFIG_ENV_VAR} is not JSON (${(err as Error).message})`, { cause: err });
  }
  return parsePipelineConfig(parsed);
}
