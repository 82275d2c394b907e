import { mkdir } from 'node:fs/promises';
import { cpus, hostname, totalmem } from 'node:os';
import { measureCacheCapacity, type CapacityPolicy, type FsStats } from '../cache/capacity';
import type { Log } from '../log';
import { detectGpus, type CommandRunner } from './gpu-info';
import { InstanceMetadata, type MetadataFetch } from './imds';
import { bandwidthClass, instanceTypeInfo } from './instance-catalog';
import type { NodeIdentity } from './registry';

/** What can be said about a node from flags or environment variables. */
export interface NodeIdentityOverrides {
  nodeId?: string;
  failureDomain?: string;
  instanceType?: string;
  gpus?: number;
  cacheDir?: string;
  /** An operator's cap on the cache (`--cache-capacity-gib`); the measured capacity applies below it. */
  cacheCapacityBytes?: number;
}

/** Where identity comes from besides flags and environment (tests inject each). */
export interface IdentitySources {
  fetch?: MetadataFetch;
  /** Runs `nvidia-smi`. */
  runCommand?: CommandRunner;
  /** Measures the cache's filesystem. */
  fsOf?: (dir: string) => Promise<FsStats>;
  log?: Log;
}

export type { MetadataFetch } from './imds';

/** The cache's capacity policy from flags and environment: a cap, a reserve, a headroom fraction. */
export function cachePolicyFrom(overrides: Pick<NodeIdentityOverrides, 'cacheCapacityBytes'>, env: NodeJS.ProcessEnv = process.env): CapacityPolicy {
  const headroom = numberFrom(env.SHARDLINE_CACHE_HEADROOM);
  if (headroom !== undefined && headroom >= 1) throw new Error(`SHARDLINE_CACHE_HEADROOM is a fraction below 1, got '${headroom}'`);
  const policy: CapacityPolicy = {
    capBytes: overrides.cacheCapacityBytes ?? numberFrom(env.SHARDLINE_CACHE_CAPACITY_BYTES),
    reserveBytes: numberFrom(env.SHARDLINE_CACHE_RESERVE_BYTES),
    headroomFraction: headroom,
  };
  return Object.fromEntries(Object.entries(policy).filter(([, v]) => v !== undefined)) as CapacityPolicy;
}

/**
 * Works out who this node is. A node is its host: on AWS the node id is the EC2 instance id (IMDSv2),
 * so it survives agent restarts and deploys, and the agent's ECS task ARN is kept beside it (a
 * task-stopped event then tells a replacement task apart). Region, AZ and instance type come from
 * instance metadata; GPUs from `nvidia-smi`, else the instance type's table entry; network
 * bandwidth from that table; the cache's capacity is measured from its filesystem. Locally, flags
 * and environment variables say (the host name is the default id); overrides always win. The cache
 * directory is created if missing.
 */
export async function resolveNodeIdentity(overrides: NodeIdentityOverrides, env: NodeJS.ProcessEnv = process.env, sources: IdentitySources = {}): Promise<NodeIdentity> {
  const fetchFn = sources.fetch ?? (fetch as unknown as MetadataFetch);
  const ecs = env.ECS_CONTAINER_METADATA_URI_V4 ? await ecsTaskMetadata(env.ECS_CONTAINER_METADATA_URI_V4, fetchFn) : undefined;
  // IMDS only where there is one: on ECS, or when told (plain EC2); a laptop would wait for nothing.
  const imds = ecs || isTrue(env.SHARDLINE_USE_IMDS) ? await instanceFacts(new InstanceMetadata(fetchFn)) : {};
  if (ecs && !imds.instanceId) sources.log?.('warn', 'instance metadata unreachable: the node id is the task id, which changes on every restart (allow IMDSv2 with a hop limit of 2)');
  const instanceType = overrides.instanceType ?? env.SHARDLINE_INSTANCE_TYPE ?? imds.instanceType ?? 'local';
  const availabilityZone = imds.availabilityZone ?? ecs?.availabilityZone;
  const region = imds.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? availabilityZone?.replace(/[a-z]$/, '');
  const catalog = instanceTypeInfo(instanceType);
  const smi = await detectGpus(sources.runCommand);
  const gpus = overrides.gpus ?? numberFrom(env.SHARDLINE_GPUS) ?? smi?.count ?? catalog?.gpus ?? 0;
  const gpuModel = gpus > 0 ? (smi?.model ?? catalog?.gpuModel) : undefined;
  const gpuMemoryMiB = gpus > 0 ? (smi?.memoryMiB ?? catalog?.gpuMemoryMiB) : undefined;
  const cacheDir = overrides.cacheDir ?? env.SHARDLINE_CACHE_DIR ?? '/var/cache/shardline';
  await mkdir(cacheDir, { recursive: true });
  const { capacityBytes } = await measureCacheCapacity(cacheDir, cachePolicyFrom(overrides, env), sources.fsOf);
  const identity: NodeIdentity = {
    nodeId: overrides.nodeId ?? env.SHARDLINE_NODE_ID ?? imds.instanceId ?? ecs?.taskId ?? hostname(),
    failureDomain: overrides.failureDomain ?? env.SHARDLINE_FAILURE_DOMAIN ?? availabilityZone ?? 'local',
    instanceType,
    gpus,
    cpus: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    cacheDir,
    cacheCapacityBytes: capacityBytes,
    region,
    availabilityZone,
    instanceId: imds.instanceId,
    taskArn: ecs?.taskArn,
    gpuModel,
    gpuMemoryMiB,
    networkBandwidth: catalog ? bandwidthClass(catalog) : undefined,
    networkGbps: catalog?.networkGbps,
  };
  return Object.fromEntries(Object.entries(identity).filter(([, v]) => v !== undefined)) as NodeIdentity;
}

function numberFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got '${value}'`);
  return n;
}

const isTrue = (value: string | undefined) => value === '1' || value === 'true';

async function ecsTaskMetadata(uri: string, fetchFn: MetadataFetch): Promise<{ taskArn: string; taskId: string; availabilityZone?: string }> {
  const res = await fetchFn(`${uri}/task`);
  if (!res.ok) throw new Error(`ECS task metadata endpoint ${uri}/task did not answer`);
  const task = JSON.parse(await res.text()) as { TaskARN: string; AvailabilityZone?: string };
  return { taskArn: task.TaskARN, taskId: task.TaskARN.split('/').pop() as string, availabilityZone: task.AvailabilityZone };
}

async function instanceFacts(imds: InstanceMetadata): Promise<{ instanceId?: string; instanceType?: string; availabilityZone?: string; region?: string }> {
  // The token first (one PUT), then the four reads together.
  const instanceId = await imds.get('instance-id');
  if (!instanceId) return {};
  const [instanceType, availabilityZone, region] = await Promise.all([imds.get('instance-type'), imds.get('placement/availability-zone'), imds.get('placement/region')]);
  return { instanceId, instanceType, availabilityZone, region };
}
