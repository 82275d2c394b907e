import type { PipelineConfig } from '../lib/config/pipeline-config';
import { parsePipelineConfig } from '../lib/config/pipeline-config';
import { dataSourceErrors, type DataSourceConfig } from './data-source-config';

/**
 * The agent fleet: GPU training hosts in an Auto Scaling group, the node agent running on each
 * as an ECS daemon that reserves no GPU (see docs/gpu-hosts.md).
 */
export interface FleetConfig {
  /** EC2 instance type of the GPU hosts (the first choice when `instanceTypes` adds more). @default 'g5.xlarge' */
  readonly instanceType: string;
  /**
   * Further instance types the Auto Scaling group may launch besides `instanceType` (a mixed
   * instances policy): more Spot pools, or a fleet of several GPU types. Each needs a GPU the ECS
   * GPU-optimized AMI supports. @default []
   */
  readonly instanceTypes: readonly string[];
  /** Run the hosts on Spot above `onDemandBaseCapacity` (capacity-optimized allocation, capacity rebalancing). @default false */
  readonly spot: boolean;
  /** Hosts that stay On-Demand when `spot` is on. @default 0 */
  readonly onDemandBaseCapacity: number;
  /** Fewest GPU hosts the Auto Scaling group keeps. @default 1 */
  readonly minCapacity: number;
  /** Most GPU hosts the Auto Scaling group may run. @default 4 */
  readonly maxCapacity: number;
  /** CPU units reserved for the agent daemon on each host (1024 = 1 vCPU); the rest stays with training tasks. @default 1024 */
  readonly agentCpu: number;
  /** Memory (MiB) reserved for the agent daemon on each host (a soft reservation). @default 2048 */
  readonly agentMemoryMiB: number;
  /** Host directory of the shard cache: the mount point of the cache disk. @default '/var/cache/shardline' */
  readonly cacheHostPath: string;
  /** Cache capacity in GiB the agent advertises for placement at most. @default 200 */
  readonly cacheCapacityGiB: number;
  /**
   * Size (GiB) of the encrypted EBS data volume that holds the cache on hosts without NVMe
   * instance store (with instance store it stays unused); 0 attaches none, and a host without
   * instance store then runs no agent (the cache never goes on the root volume). @default 200
   */
  readonly cacheVolumeGiB: number;
  /** Seconds a terminating host waits for its agent to drain and hand off (Auto Scaling lifecycle hook heartbeat) before it goes anyway. @default 300 */
  readonly leaveTimeoutSeconds: number;
  /** Define the example training task definition (GPUs, the shard cache mounted read-only). @default true */
  readonly trainingTaskExample: boolean;
  /** GPUs the example training task requests. @default 1 */
  readonly trainingTaskGpus: number;
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
  /**
   * HDFS, NFS, EFS and FSx sources that AWS DataSync copies into the ingest bucket, each under its
   * own prefix, on a schedule or when started (see docs/sources.md). @default [] (no DataSync resources)
   */
  readonly dataSources?: readonly DataSourceConfig[];
  /** Address subscribed to the operator alarm topic (it must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when fewer nodes are healthy; 0 turns the alarm off. @default fleet.minCapacity */
  readonly minHealthyNodes?: number;
  /** Alarm when the oldest work message is older than this. @default 1800 */
  readonly maxWorkMessageAgeSeconds?: number;
  /** Alarm (notify only; one poison object never pauses the pipeline) when more than this % of chunk attempts fail. @default 10 */
  readonly maxChunkErrorPercent?: number;
  /**
   * The circuit breaker: pause the pipeline when more than this % of the objects that finished in
   * the window were quarantined or refused (above 0, below 100). @default 20
   */
  readonly maxObjectFailurePercent?: number;
  /** The circuit breaker judges only windows in which at least this many objects finished (a whole number, at least 1). @default 10 */
  readonly minObjectsForFailureRate?: number;
  /** The window of the object failure rate, in whole minutes (1..10080: one alarm period, at most CloudWatch's 7 days). @default 15 */
  readonly objectFailureWindowMinutes?: number;
  /** Alarm when the fleet processes fewer bytes/s while there is work. @default no alarm */
  readonly targetBytesPerSecond?: number;
}

/** The default config of a stage. */
export function defaultStageConfig(stageName: string): StageConfig {
  return {
    stageName,
    fleet: {
      instanceType: 'g5.xlarge',
      instanceTypes: [],
      spot: false,
      onDemandBaseCapacity: 0,
      minCapacity: 1,
      maxCapacity: 4,
      agentCpu: 1024,
      agentMemoryMiB: 2048,
      cacheHostPath: '/var/cache/shardline',
      cacheCapacityGiB: 200,
      cacheVolumeGiB: 200,
      leaveTimeoutSeconds: 300,
      trainingTaskExample: true,
      trainingTaskGpus: 1,
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
  errors.push(...fleetConfigErrors(fleet));
  if (workQueue.maxReceiveCount < 1 || workQueue.maxReceiveCount > 1000) errors.push('workQueue.maxReceiveCount must be 1..1000');
  if (workQueue.visibilityTimeoutSeconds < 30 || workQueue.visibilityTimeoutSeconds > 43200) errors.push('workQueue.visibilityTimeoutSeconds must be 30..43200');
  if (chunker.batchSize < 1 || chunker.batchSize > 10) errors.push('chunker.batchSize must be 1..10');
  if (chunker.maxConcurrency < 2) errors.push('chunker.maxConcurrency must be at least 2');
  errors.push(...alarmConfigErrors(config));
  for (const b of config.sourceBuckets ?? []) if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b)) errors.push(`sourceBuckets: '${b}' is not a bucket name`);
  errors.push(...dataSourceErrors(config.dataSources ?? []));
  try {
    parsePipelineConfig(config.pipeline);
  } catch (err) {
    errors.push((err as Error).message);
  }
  if (errors.length > 0) throw new Error(`invalid stage config '${config.stageName}': ${errors.join('; ')}`);
  return config;
}

/** What is wrong with the fleet settings of a stage config. */
function fleetConfigErrors(fleet: FleetConfig): string[] {
  const errors: string[] = [];
  const whole = (n: number, min: number, max: number) => Number.isInteger(n) && n >= min && n <= max;
  for (const type of [fleet.instanceType, ...fleet.instanceTypes]) if (!/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/.test(type)) errors.push(`fleet: '${type}' is not an EC2 instance type`);
  if (fleet.minCapacity < 0 || fleet.minCapacity > fleet.maxCapacity) errors.push('fleet.minCapacity must be between 0 and maxCapacity');
  if (!whole(fleet.onDemandBaseCapacity, 0, fleet.maxCapacity)) errors.push('fleet.onDemandBaseCapacity must be a whole number between 0 and maxCapacity');
  if (!whole(fleet.agentCpu, 128, 16384)) errors.push('fleet.agentCpu must be 128..16384 CPU units');
  if (!whole(fleet.agentMemoryMiB, 256, 65536)) errors.push('fleet.agentMemoryMiB must be 256..65536');
  if (!whole(fleet.cacheVolumeGiB, 0, 16384)) errors.push('fleet.cacheVolumeGiB must be 0..16384');
  // Auto Scaling accepts 30..7200 s; a Spot notice gives two minutes, and a drain needs them.
  if (!whole(fleet.leaveTimeoutSeconds, 120, 7200)) errors.push('fleet.leaveTimeoutSeconds must be 120..7200');
  if (!whole(fleet.trainingTaskGpus, 1, 16)) errors.push('fleet.trainingTaskGpus must be 1..16');
  if (!fleet.cacheHostPath.startsWith('/') || fleet.cacheHostPath === '/' || /[^A-Za-z0-9/_.-]/.test(fleet.cacheHostPath))
    errors.push(`fleet.cacheHostPath '${fleet.cacheHostPath}' must be an absolute path below /`);
  return errors;
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
  errors.push(...circuitBreakerConfigErrors(config));
  return errors;
}

/** What is wrong with the circuit breaker's thresholds (the object failure rate alarm). */
function circuitBreakerConfigErrors(config: Pick<StageConfig, 'maxObjectFailurePercent' | 'minObjectsForFailureRate' | 'objectFailureWindowMinutes'>): string[] {
  const errors: string[] = [];
  const { maxObjectFailurePercent: percent, minObjectsForFailureRate: minObjects, objectFailureWindowMinutes: minutes } = config;
  // 0 would pause on the first quarantined object; 100 could never be exceeded.
  if (percent !== undefined && !(percent > 0 && percent < 100)) errors.push(`maxObjectFailurePercent must be above 0 and below 100 (got ${percent})`);
  if (minObjects !== undefined && !(Number.isInteger(minObjects) && minObjects >= 1)) errors.push(`minObjectsForFailureRate must be a whole number of objects, at least 1 (got ${minObjects})`);
  // CloudWatch periods of a minute or more are whole minutes; one period may last 7 days at most.
  if (minutes !== undefined && !(Number.isInteger(minutes) && minutes >= 1 && minutes <= 10080)) {
    errors.push(`objectFailureWindowMinutes must be a whole number of minutes, 1..10080 (got ${minutes})`);
  }
  return errors;
}
