import { RECORD_PATH_BYTES_PER_CORE } from '../../records/record-path-figures';
import { INSTANCE_TYPES } from './aws-limits';

/** Per-node throughput and where the figure comes from. */
export interface NodeThroughput {
  bytesPerSecond: number;
  source: 'given' | 'measured' | 'assumed';
  note: string;
  /** Measured against a local emulator: bounded by the emulator, not by a host. */
  emulator?: boolean;
}

export interface PlanInput {
  datasetBytes: number;
  targetBytesPerSecond: number;
  nodeThroughput: NodeThroughput;
  /** @default 'g5.xlarge' (the fleet's default, infra/config.ts) */
  instanceType?: string;
  /** @default chosen: see `chooseChunkSize` */
  chunkSizeBytes?: number;
  /** Mean size of the dataset's objects (chunks never span objects). @default 1 GB, an assumption */
  objectSizeBytes?: number;
  /** @default 2 */
  replicationFactor?: number;
  /** Shard bytes per input byte. @default 0.3, an assumption (gzip JSON Lines) */
  outputRatio?: number;
  /** @default 120 (pipeline config) */
  visibilityTimeoutSeconds?: number;
  /** The chunker Lambda. @default { maxConcurrency: 10, batchSize: 10, memoryMiB: 512 } (infra/config.ts) */
  chunker?: { maxConcurrency?: number; batchSize?: number; memoryMiB?: number };
}

/** The plan's input with every default filled in. */
export type NormalizedPlanInput = Required<Omit<PlanInput, 'chunkSizeBytes' | 'chunker'>> & { chunker: Required<NonNullable<PlanInput['chunker']>> };

/** Input refused, with the reason. */
export class PlanInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PlanInputError';
  }
}

export const PLAN_DEFAULTS = {
  instanceType: 'g5.xlarge',
  objectSizeBytes: 1e9,
  replicationFactor: 2,
  outputRatio: 0.3,
  visibilityTimeoutSeconds: 120,
  chunker: { maxConcurrency: 10, batchSize: 10, memoryMiB: 512 },
} as const;

/**
 * Used when neither `--node-throughput` nor a measurement is available: one record worker's
 * throughput, the default on the default instance (a quarter of a g5.xlarge's 4 vCPUs).
 */
export const ASSUMED_NODE_THROUGHPUT: NodeThroughput = {
  bytesPerSecond: RECORD_PATH_BYTES_PER_CORE,
  source: 'assumed',
  note: `assumption, not a measurement of your hosts: the record path ran at ${RECORD_PATH_BYTES_PER_CORE / 1e6} MB/s per core with gzip-1 in bench:processing on a 2-core development machine (2026-11), and an agent gives it a quarter of its host's vCPUs (recordWorkers; one on a g5.xlarge); binary pass-through is much faster. Pass --node-throughput, or run a pipeline and let plan read BytesProcessed`,
};

/** The pipeline config's bounds on chunkSizeBytes (lib/config/pipeline-config.ts). */
const CHUNK_BOUNDS = [1024, 5 * 1024 ** 3] as const;

/** Fills the defaults in; throws PlanInputError naming what is wrong. */
export function validatePlanInput(raw: PlanInput): NormalizedPlanInput {
  const positive = (v: number, what: string) => {
    if (!Number.isFinite(v) || v <= 0) throw new PlanInputError(`${what} must be a number above 0 (got ${v})`);
  };
  positive(raw.datasetBytes, 'the dataset size');
  positive(raw.targetBytesPerSecond, 'the target rate');
  positive(raw.nodeThroughput?.bytesPerSecond, 'the per-node throughput');
  const instanceType = raw.instanceType ?? PLAN_DEFAULTS.instanceType;
  if (!INSTANCE_TYPES[instanceType]) throw new PlanInputError(`unknown instance type '${instanceType}': plan knows ${Object.keys(INSTANCE_TYPES).join(', ')}`);
  if (raw.chunkSizeBytes !== undefined && !(Number.isInteger(raw.chunkSizeBytes) && raw.chunkSizeBytes >= CHUNK_BOUNDS[0] && raw.chunkSizeBytes <= CHUNK_BOUNDS[1])) {
    throw new PlanInputError(`chunk size ${raw.chunkSizeBytes} is outside what the pipeline accepts (1 KiB to 5 GiB, chunkSizeBytes)`);
  }
  const replicationFactor = raw.replicationFactor ?? PLAN_DEFAULTS.replicationFactor;
  if (!Number.isInteger(replicationFactor) || replicationFactor < 1 || replicationFactor > 10)
    throw new PlanInputError(`replication factor must be a whole number from 1 to 10 (got ${replicationFactor})`);
  const outputRatio = raw.outputRatio ?? PLAN_DEFAULTS.outputRatio;
  if (!(outputRatio > 0 && outputRatio <= 2)) throw new PlanInputError(`output ratio must be above 0 and at most 2 (got ${outputRatio})`);
  const objectSizeBytes = raw.objectSizeBytes ?? PLAN_DEFAULTS.objectSizeBytes;
  positive(objectSizeBytes, 'the object size');
  const chunker = { ...PLAN_DEFAULTS.chunker, ...raw.chunker };
  if (!(Number.isInteger(chunker.batchSize) && chunker.batchSize >= 1 && chunker.batchSize <= 10)) throw new PlanInputError('chunker batch size must be 1..10');
  positive(chunker.maxConcurrency, 'the chunker concurrency');
  return {
    datasetBytes: raw.datasetBytes,
    targetBytesPerSecond: raw.targetBytesPerSecond,
    nodeThroughput: raw.nodeThroughput,
    instanceType,
    objectSizeBytes,
    replicationFactor,
    outputRatio,
    visibilityTimeoutSeconds: raw.visibilityTimeoutSeconds ?? PLAN_DEFAULTS.visibilityTimeoutSeconds,
    chunker,
  };
}
