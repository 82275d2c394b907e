/**
 * What a simulation is asked: a fleet, a dataset, failures, the pipeline config, and the model of
 * the AWS services. Defaults come from the code: the pipeline config's defaults (chunk size,
 * replication, concurrency, lease, heartbeat timeout), the instance catalogue of `plan`, and the
 * latency and quota figures of `service-model.ts`.
 */
import { RECEIVE_WAIT_SECONDS } from '../agent/work-consumer';
import { PipelineConfig } from '../config/pipeline-config';
import { INSTANCE_TYPES, type InstanceType } from '../ops/capacity/aws-limits';
import { RECORD_PATH_BYTES_PER_CORE } from '../records/record-path-figures';
import type { LatencyDistribution } from './prng';
import { CONTROL_PLANE_PRESETS, LATENCY_PROFILES, type ControlPlaneLoad, type LatencyProfile } from './service-model';

/** A failure to inject: kill a share of the nodes (SIGKILL: no leave, no hand-back) at a virtual time. */
export interface KillSpec {
  /** Share of the nodes to kill, 0..1 (at least one node when above 0). */
  fraction: number;
  /** Virtual milliseconds after the start. */
  atMs: number;
  /** Whether the leader is among the killed (else it is as chance has it). */
  leader?: boolean;
}

/**
 * The critical path of one chunk. `current`: the code as issue 15 measured it (receive, lease,
 * visibility change, GET/process/PUT with an empty rejects PUT, commit, delete, finalize read:
 * 7 sequential round trips). `diet`: the design's budget (visibility overlapped with the GET, no
 * empty rejects object, delete off the critical path, finalize folded into the commit: 4).
 */
export type ChunkPath = 'current' | 'diet';

/**
 * The nodes are processes on one machine (the local emulator): they share its cores with the
 * emulator and with whatever else runs there. Only for a latency profile whose servers are few (the
 * emulator's): the AWS model gives each node its own instance.
 */
export interface HostInput {
  /** The machine's cores (`os.cpus().length`). */
  cores: number;
  /**
   * Runnable processes besides the nodes and the emulator while the run lasts (other work: the load
   * average less this test's own), and while the latency profile was measured (the probing client
   * is one of them then). The profile's service times were measured with `probeRunnable` + 1
   * processes (the emulator) wanting the cores; in the run, `otherRunnable` + nodes + 1 want them.
   */
  otherRunnable: number;
  probeRunnable: number;
}

/** The host as the simulation uses it. */
export interface Host extends HostInput {
  /** Processes that want a core while the nodes work: the nodes, the emulator, the others. */
  runnable: number;
  /** How much slower a CPU-bound step runs in the run than when the profile was measured (≥ 1). */
  slowdown: number;
}

/** The run's CPU contention on a shared host, relative to the contention under which the profile was measured. */
export function hostOf(input: HostInput, nodes: number): Host {
  const runnable = nodes + 1 + Math.max(0, input.otherRunnable);
  const share = (processes: number) => Math.max(1, processes / input.cores);
  return { ...input, runnable, slowdown: Math.max(1, share(runnable) / share(1 + Math.max(0, input.probeRunnable))) };
}

/** A latency distribution stretched by `factor` (a server that gets less CPU). */
function stretched(d: LatencyDistribution, factor: number): LatencyDistribution {
  return { p50Ms: d.p50Ms * factor, p99Ms: d.p99Ms * factor };
}

export interface ScenarioInput {
  nodes: number;
  datasetBytes: number;
  /** Mean object size (every object this size, the last one the remainder). @default 1 GB */
  objectBytes?: number;
  /** @default the pipeline config's chunkSizeBytes */
  chunkBytes?: number;
  /** @default g5.xlarge */
  instanceType?: string;
  /** Bytes per second one record worker (one core) takes through the record path. @default RECORD_PATH_BYTES_PER_CORE */
  recordBytesPerCore?: number;
  /** Record workers per node. @default a quarter of the vCPUs, at least one (the agent's default) */
  recordWorkers?: number;
  /** Shard bytes per input byte. @default 0.3 */
  outputRatio?: number;
  /** Milliseconds a node's record workers take to start, paid by its first chunk (with `host`: on the host alone, stretched by the contention). @default 100 */
  recordWorkerStartMs?: number;
  /**
   * The nodes share one machine (the local emulator): record workers get the nodes' share of its
   * cores, start slower, and the emulator's service times stretch by the run's CPU contention.
   * Emulator latency profiles only.
   */
  host?: HostInput;
  /** Pipeline config overrides (replicationFactor, concurrencyPerNode, visibilityTimeoutSeconds, heartbeatTimeoutSeconds). */
  config?: Partial<Pick<PipelineConfig, 'replicationFactor' | 'concurrencyPerNode' | 'visibilityTimeoutSeconds' | 'heartbeatTimeoutSeconds'>>;
  /** The chunker Lambda's maxConcurrency. @default 10 */
  chunkerConcurrency?: number;
  kill?: KillSpec;
  /** Share of messages SQS delivers twice (standard queues are at-least-once). @default 0.001 */
  duplicateRate?: number;
  /** @default 'aws' */
  latency?: LatencyProfile | keyof typeof LATENCY_PROFILES;
  /** @default 'budget' (the design's budget, which the request-budget test holds the agents to) */
  controlPlane?: ControlPlaneLoad | keyof typeof CONTROL_PLANE_PRESETS;
  /** @default 'diet' (the code since the control-plane diet) */
  chunkPath?: ChunkPath;
  /** Long-poll wait of one receive, seconds. @default RECEIVE_WAIT_SECONDS (20, the work consumer's) */
  receiveWaitSeconds?: number;
  /** S3 partitions the source objects sit in, and the processed bucket's (keys spread by object id). @default 1 and 16 */
  sourcePrefixes?: number;
  processedPartitions?: number;
  /**
   * Shards are placed in this many groups (each group placed by one call of the real
   * `placeShard`, its chunks following it): placement over 1,000 nodes costs about 3 ms a call, so
   * placing 200,000 shards one by one would take minutes. @default min(chunks, nodes, 4096)
   */
  placementGroups?: number;
  /** @default 1 */
  seed?: number;
}

/** The scenario with every default filled in. */
export interface Scenario {
  nodes: number;
  datasetBytes: number;
  objectBytes: number;
  chunkBytes: number;
  instanceType: string;
  instance: InstanceType;
  recordBytesPerCore: number;
  recordWorkers: number;
  outputRatio: number;
  recordWorkerStartMs: number;
  host?: Host;
  config: PipelineConfig;
  chunkerConcurrency: number;
  kill?: KillSpec;
  duplicateRate: number;
  latency: LatencyProfile;
  controlPlane: ControlPlaneLoad;
  chunkPath: ChunkPath;
  receiveWaitSeconds: number;
  sourcePrefixes: number;
  processedPartitions: number;
  placementGroups: number;
  seed: number;
  objects: number;
  chunks: number;
}

/** Input refused, with the reason. */
export class ScenarioError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScenarioError';
  }
}

const MAX_CHUNKS = 2_000_000;

/** Fills the defaults in and checks the input; throws ScenarioError naming what is wrong. */
export function scenarioOf(input: ScenarioInput): Scenario {
  const config = PipelineConfig.parse({ ...input.config, ...(input.chunkBytes !== undefined ? { chunkSizeBytes: input.chunkBytes } : {}) });
  const positive = (v: number, what: string) => {
    if (!Number.isFinite(v) || v <= 0) throw new ScenarioError(`${what} must be a number above 0 (got ${v})`);
  };
  if (!Number.isInteger(input.nodes) || input.nodes < 1) throw new ScenarioError(`nodes must be a whole number of at least 1 (got ${input.nodes})`);
  positive(input.datasetBytes, 'the dataset size');
  const instanceType = input.instanceType ?? 'g5.xlarge';
  const instance = INSTANCE_TYPES[instanceType];
  if (!instance) throw new ScenarioError(`unknown instance type '${instanceType}': the simulator knows ${Object.keys(INSTANCE_TYPES).join(', ')}`);
  const objectBytes = Math.min(input.objectBytes ?? 1e9, input.datasetBytes);
  positive(objectBytes, 'the object size');
  const chunkBytes = config.chunkSizeBytes;
  const objects = Math.ceil(input.datasetBytes / objectBytes);
  const chunks = Math.floor(input.datasetBytes / objectBytes) * Math.ceil(objectBytes / chunkBytes) + Math.ceil((input.datasetBytes % objectBytes) / chunkBytes);
  if (chunks > MAX_CHUNKS) throw new ScenarioError(`${chunks} chunks is more than the simulator models (${MAX_CHUNKS}): use a larger chunk size`);
  const kill = input.kill;
  if (kill && !(kill.fraction >= 0 && kill.fraction < 1 && kill.atMs >= 0)) throw new ScenarioError('kill: a fraction from 0 to below 1, at a time of 0 ms or later');
  const profile = typeof input.latency === 'object' ? input.latency : LATENCY_PROFILES[input.latency ?? 'aws'];
  if (!profile) throw new ScenarioError(`unknown latency profile '${String(input.latency)}': ${Object.keys(LATENCY_PROFILES).join(', ')}`);
  const host = input.host && hostOf(input.host, input.nodes);
  if (host) {
    positive(host.cores, 'the host cores');
    const fewServers = profile.sharedServers !== undefined || Object.values(profile.servers).some((n) => Number.isFinite(n));
    if (!fewServers) throw new ScenarioError(`a shared host models the local emulator: the latency profile '${profile.name}' has no servers to share it with`);
  }
  const latency = host ? stretchedProfile(profile, host.slowdown) : profile;
  const controlPlane = typeof input.controlPlane === 'object' ? input.controlPlane : CONTROL_PLANE_PRESETS[input.controlPlane ?? 'budget'];
  if (!controlPlane) throw new ScenarioError(`unknown control-plane load '${String(input.controlPlane)}': ${Object.keys(CONTROL_PLANE_PRESETS).join(', ')}`);
  return {
    nodes: input.nodes,
    datasetBytes: input.datasetBytes,
    objectBytes,
    chunkBytes,
    instanceType,
    instance,
    recordBytesPerCore: input.recordBytesPerCore ?? RECORD_PATH_BYTES_PER_CORE,
    recordWorkers: input.recordWorkers ?? Math.max(1, Math.floor(instance.vcpus / 4)),
    outputRatio: input.outputRatio ?? 0.3,
    recordWorkerStartMs: (input.recordWorkerStartMs ?? 100) * (host ? Math.max(1, host.runnable / host.cores) : 1),
    ...(host ? { host } : {}),
    config,
    chunkerConcurrency: input.chunkerConcurrency ?? 10,
    ...(kill && kill.fraction > 0 ? { kill } : {}),
    duplicateRate: input.duplicateRate ?? 0.001,
    latency,
    controlPlane,
    chunkPath: input.chunkPath ?? 'diet',
    receiveWaitSeconds: input.receiveWaitSeconds ?? RECEIVE_WAIT_SECONDS,
    sourcePrefixes: Math.max(1, Math.floor(input.sourcePrefixes ?? 1)),
    processedPartitions: Math.max(1, Math.floor(input.processedPartitions ?? 16)),
    placementGroups: Math.max(1, Math.floor(input.placementGroups ?? Math.min(chunks, input.nodes, 4096))),
    seed: input.seed ?? 1,
    objects,
    chunks,
  };
}

/** The emulator under the run's contention: every request's service time stretched (it gets that much less of a core). */
function stretchedProfile(p: LatencyProfile, factor: number): LatencyProfile {
  if (factor === 1) return p;
  return {
    ...p,
    s3Get: stretched(p.s3Get, factor),
    s3Put: stretched(p.s3Put, factor),
    dynamodb: stretched(p.dynamodb, factor),
    dynamodbTransaction: stretched(p.dynamodbTransaction, factor),
    sqs: stretched(p.sqs, factor),
    cloudwatch: stretched(p.cloudwatch, factor),
  };
}
