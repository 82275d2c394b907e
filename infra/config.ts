import type { PipelineConfig } from '../lib/config/pipeline-config';
import { parsePipelineConfig } from '../lib/config/pipeline-config';

/** The agent fleet: GPU training hosts running the node agent as an ECS service. */
export interface FleetConfig {
  /** EC2 instance type of the GPU hosts. @default 'g5.xlarge' */
  readonly instanceType: string;
  /** Fewest GPU hosts the Auto Scaling group keeps. @default 1 */
  readonly minCapacity: number;
  /** Most GPU hosts the Auto Scaling group may run. @default 4 */
  readonly maxCapacity: number;
  /** Agent tasks (one per host). @default 1 */
  readonly desiredCount: number;
  /** GPUs each agent task reserves. @default 1 */
  readonly gpusPerTask: number;
  /** CPU units per task (1024 = 1 vCPU). @default 2048 */
  readonly taskCpu: number;
  /** Memory per task in MiB. @default 8192 */
  readonly taskMemoryMiB: number;
  /** Host directory of the shard cache (instance store or EBS). @default '/var/cache/shardline' */
  readonly cacheHostPath: string;
  /** Cache capacity in GiB the agent advertises for placement. @default 200 */
  readonly cacheCapacityGiB: number;
}

/** The chunk work queue the agents long-poll. */
export interface WorkQueueConfig {
  /** Seconds a received chunk stays invisible (agents extend it while they work). @default 300 */
  readonly visibilityTimeoutSeconds: number;
  /** Receives before a chunk message dead-letters. @default 5 (3 on the `local` stage) */
  readonly maxReceiveCount: number;
}

/** The chunker Lambda, which plans each ingested object into chunks. */
export interface ChunkerConfig {
  /** Memory of the function in MiB. @default 512 */
  readonly memorySize: number;
  /** Ingest events per invocation. @default 10 */
  readonly batchSize: number;
  /** Concurrent chunker invocations. @default 10 */
  readonly maxConcurrency: number;
}

/** One deployment stage of shardline. */
export interface StageConfig {
  /** Lowercase letters, digits and dashes: in resource names and the `Stage` metric dimension. */
  readonly stageName: string;
  /** The GPU hosts and the agent task. */
  readonly fleet: FleetConfig;
  /** The chunk work queue. */
  readonly workQueue: WorkQueueConfig;
  /** The chunker Lambda. */
  readonly chunker: ChunkerConfig;
  /** Pipeline config for every component (defaults fill the rest). @default {} */
  readonly pipeline: Partial<PipelineConfig>;
  /** Keep buckets and tables when the stack is deleted. @default true (false on the `local` and `test` stages) */
  readonly retainData: boolean;
  /** Days of log retention. @default 30 */
  readonly logRetentionDays: number;
  /**
   * Existing buckets (names) whose data `shardline run s3://bucket/prefix` may process besides
   * the ingest bucket: the run state machine may list them, the chunker and agents read them.
   * @default []
   */
  readonly sourceBuckets?: string[];
  /** Address subscribed to the operator alarm topic (it must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when fewer nodes are healthy; 0 turns the alarm off. @default fleet.minCapacity */
  readonly minHealthyNodes?: number;
  /** Alarm when the oldest work message is older than this. @default 1800 */
  readonly maxWorkMessageAgeSeconds?: number;
  /** Alarm, and pause the pipeline, when more than this % of chunk attempts fail. @default 10 */
  readonly maxChunkErrorPercent?: number;
  /** Alarm when the fleet processes fewer bytes/s while there is work. @default no alarm */
  readonly targetBytesPerSecond?: number;
}

/** The default config of a stage. */
export function defaultStageConfig(stageName: string): StageConfig {
  return {
    stageName,
    fleet: {
      instanceType: 'g5.xlarge',
      minCapacity: 1,
      maxCapacity: 4,
      desiredCount: 1,
      gpusPerTask: 1,
      taskCpu: 2048,
      taskMemoryMiB: 8192,
      cacheHostPath: '/var/cache/shardline',
      cacheCapacityGiB: 200,
    },
    // Locally a poison chunk should dead-letter in seconds, not minutes.
    workQueue: { visibilityTimeoutSeconds: 300, maxReceiveCount: stageName === 'local' ? 3 : 5 },
    chunker: { memorySize: 512, batchSize: 10, maxConcurrency: 10 },
    pipeline: {},
    retainData: stageName !== 'local' && stageName !== 'test',
    logRetentionDays: 30,
  };
}

/** Refuses a stage config that cannot deploy, with the reason. */
export function validateStageConfig(config: StageConfig): StageConfig {
  const errors: string[] = [];
  const { fleet, workQueue, chunker } = config;
  if (!/^[a-z][a-z0-9-]{0,20}$/.test(config.stageName)) errors.push(`stageName '${config.stageName}' must be lowercase letters, digits, dashes`);
  if (fleet.minCapacity < 0 || fleet.minCapacity > fleet.maxCapacity) errors.push('fleet.minCapacity must be between 0 and maxCapacity');
  if (fleet.desiredCount > fleet.maxCapacity) errors.push('fleet.desiredCount must not exceed maxCapacity');
  if (fleet.gpusPerTask < 1) errors.push('fleet.gpusPerTask must be at least 1');
  if (workQueue.maxReceiveCount < 1 || workQueue.maxReceiveCount > 1000) errors.push('workQueue.maxReceiveCount must be 1..1000');
  if (workQueue.visibilityTimeoutSeconds < 30 || workQueue.visibilityTimeoutSeconds > 43200) errors.push('workQueue.visibilityTimeoutSeconds must be 30..43200');
  if (chunker.batchSize < 1 || chunker.batchSize > 10) errors.push('chunker.batchSize must be 1..10');
  if (chunker.maxConcurrency < 2) errors.push('chunker.maxConcurrency must be at least 2');
  errors.push(...alarmConfigErrors(config));
  for (const b of config.sourceBuckets ?? []) if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b)) errors.push(`sourceBuckets: '${b}' is not a bucket name`);
  try {
    parsePipelineConfig(config.pipeline);
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (errors.length > 0) throw new Error(`invalid stage config '${config.stageName}': ${errors.join('; ')}`);
  return config;
}

/** What is wrong with the alarm settings of a stage config. */
function alarmConfigErrors(config: StageConfig): string[] {
  const errors: string[] = [];
  const { alarmEmail, minHealthyNodes, maxWorkMessageAgeSeconds, maxChunkErrorPercent, targetBytesPerSecond } = config;
  if (alarmEmail !== undefined && !/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(alarmEmail)) errors.push(`alarmEmail '${alarmEmail}' is not an email address`);
  if (minHealthyNodes !== undefined && (!Number.isInteger(minHealthyNodes) || minHealthyNodes < 0 || minHealthyNodes > config.fleet.maxCapacity)) {
    errors.push('minHealthyNodes must be a whole number between 0 and fleet.maxCapacity');
  }
  // SQS keeps a message 14 days at most; an older one cannot exist.
  if (maxWorkMessageAgeSeconds !== undefined && (!Number.isInteger(maxWorkMessageAgeSeconds) || maxWorkMessageAgeSeconds < 60 || maxWorkMessageAgeSeconds > 1209600)) {
    errors.push('maxWorkMessageAgeSeconds must be 60..1209600');
  }
  if (maxChunkErrorPercent !== undefined && !(maxChunkErrorPercent > 0 && maxChunkErrorPercent < 100)) errors.push('maxChunkErrorPercent must be above 0 and below 100');
  if (targetBytesPerSecond !== undefined && !(Number.isFinite(targetBytesPerSecond) && targetBytesPerSecond > 0)) errors.push('targetBytesPerSecond must be a positive number');
  return errors;
}
