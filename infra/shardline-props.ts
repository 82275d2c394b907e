import type { PipelineConfig } from '../lib/config/pipeline-config';
import type { DataSourceConfig } from './data-source-config';
import { defaultStageConfig, validateStageConfig, type ChunkerConfig, type FleetConfig, type StageConfig, type WorkQueueConfig } from './config';

/** How to deploy shardline: every prop but the stage name has a default. */
export interface ShardlineProps {
  /** Stage name (lowercase letters, digits, dashes): in the dashboard and alarm names, and the `Stage` dimension of shardline's metrics. */
  readonly stageName: string;
  /** GPU hosts and the agent task, field by field over the defaults. @default 1 to 4 On-Demand g5.xlarge hosts, the agent a daemon on each reserving no GPU (see {@link FleetConfig}) */
  readonly fleet?: Partial<FleetConfig>;
  /** The chunk work queue, field by field over the defaults. @default visibility timeout 300 s, dead-letter after 5 receives (3 on the `local` stage) */
  readonly workQueue?: Partial<WorkQueueConfig>;
  /** The chunker Lambda, field by field over the defaults. @default 512 MiB, batches of 10, at most 10 concurrent invocations */
  readonly chunker?: Partial<ChunkerConfig>;
  /** Pipeline config every component reads (chunk size, replication, transforms...). @default {} (the defaults of lib/config/pipeline-config.ts) */
  readonly pipeline?: Partial<PipelineConfig>;
  /** Keep the buckets and tables when the construct is removed. @default true (false on the `local` and `test` stages) */
  readonly retainData?: boolean;
  /** Days of log retention (a value CloudWatch Logs accepts). @default 30 */
  readonly logRetentionDays?: number;
  /** Existing buckets (names) whose data runs may process besides the ingest bucket: the run state machine lists them, the chunker and agents read them. @default none */
  readonly sourceBuckets?: readonly string[];
  /** HDFS, NFS, EFS and FSx sources AWS DataSync copies into the ingest bucket (see docs/sources.md). @default none */
  readonly dataSources?: readonly DataSourceConfig[];
  /** Address subscribed to the operator alarm topic (it must confirm). @default no subscription */
  readonly alarmEmail?: string;
  /** Alarm when fewer nodes are healthy; 0 turns the alarm off. @default fleet.minCapacity */
  readonly minHealthyNodes?: number;
  /** Alarm when the oldest work message is older than this many seconds. @default 1800 */
  readonly maxWorkMessageAgeSeconds?: number;
  /** Alarm (notify only; one poison object never pauses the pipeline) when more than this % of chunk attempts fail. @default 10 */
  readonly maxChunkErrorPercent?: number;
  /** The circuit breaker: pause the pipeline when more than this % of the objects finished in the window were quarantined or refused (above 0, below 100). @default 20 */
  readonly maxObjectFailurePercent?: number;
  /** The circuit breaker judges only windows in which at least this many objects finished (a whole number, at least 1). @default 10 */
  readonly minObjectsForFailureRate?: number;
  /** The window of the object failure rate, in whole minutes (1..10080). @default 15 */
  readonly objectFailureWindowMinutes?: number;
  /** Alarm when the fleet processes fewer bytes/s while there is work. @default no throughput alarm */
  readonly targetBytesPerSecond?: number;
  /** What the control and run state machines log: `level` ALL, ERROR, FATAL or OFF; `includeExecutionData` adds inputs and outputs (requesters, reasons). @default { level: 'ERROR', includeExecutionData: false } */
  readonly stateMachineLogs?: { readonly level?: 'ALL' | 'ERROR' | 'FATAL' | 'OFF'; readonly includeExecutionData?: boolean };
}

/** The props over the stage's defaults, validated (an undefined field keeps its default). */
export function resolveStageConfig(props: ShardlineProps): StageConfig {
  const defaults = defaultStageConfig(props.stageName);
  const { fleet, workQueue, chunker, sourceBuckets, ...rest } = definedOnly(props);
  return validateStageConfig({
    ...defaults,
    ...rest,
    fleet: { ...defaults.fleet, ...definedOnly(fleet ?? {}) },
    workQueue: { ...defaults.workQueue, ...definedOnly(workQueue ?? {}) },
    chunker: { ...defaults.chunker, ...definedOnly(chunker ?? {}) },
    ...(sourceBuckets ? { sourceBuckets: [...sourceBuckets] } : {}),
  });
}

function definedOnly<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}
