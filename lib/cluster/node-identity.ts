import { hostname, cpus, totalmem } from 'node:os';
import type { NodeIdentity } from './registry';

/** What can be said about a node from flags or environment variables (local mode). */
export interface NodeIdentityOverrides {
  nodeId?: string;
  failureDomain?: string;
  instanceType?: string;
  gpus?: number;
  cacheDir?: string;
  cacheCapacityBytes?: number;
}

type Fetch = (url: string, init?: { method?: string; headers?: Record<string, string> }) => Promise<{ ok: boolean; text(): Promise<string> }>;

/**
 * Works out who this node is. On ECS it reads the task metadata endpoint (task ARN, AZ) and EC2
 * instance metadata with IMDSv2 (instance type); locally, flags and environment variables say.
 * Overrides always win.
 */
export async function resolveNodeIdentity(overrides: NodeIdentityOverrides, env: NodeJS.ProcessEnv = process.env, fetchFn: Fetch = fetch as unknown as Fetch): Promise<NodeIdentity> {
  const ecs = env.ECS_CONTAINER_METADATA_URI_V4 ? await ecsTaskMetadata(env.ECS_CONTAINER_METADATA_URI_V4, fetchFn) : undefined;
  const instanceType = overrides.instanceType ?? env.SHARDLINE_INSTANCE_TYPE ?? (ecs ? await imdsInstanceType(fetchFn) : undefined) ?? 'local';
  const nodeId = overrides.nodeId ?? env.SHARDLINE_NODE_ID ?? ecs?.taskId ?? `${hostname()}-${process.pid}`;
  return {
    nodeId,
    failureDomain: overrides.failureDomain ?? env.SHARDLINE_FAILURE_DOMAIN ?? ecs?.availabilityZone ?? 'local',
    instanceType,
    gpus: overrides.gpus ?? numberFrom(env.SHARDLINE_GPUS) ?? gpusFromEnv(env),
    cpus: cpus().length,
    memoryMiB: Math.round(totalmem() / 1024 / 1024),
    cacheDir: overrides.cacheDir ?? env.SHARDLINE_CACHE_DIR ?? '/var/cache/shardline',
    cacheCapacityBytes: overrides.cacheCapacityBytes ?? numberFrom(env.SHARDLINE_CACHE_CAPACITY_BYTES) ?? 100 * 1024 ** 3,
  };
}

function numberFrom(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new Error(`expected a non-negative number, got '${value}'`);
  return n;
}

/** ECS's GPU support exposes the assigned devices as NVIDIA_VISIBLE_DEVICES. */
function gpusFromEnv(env: NodeJS.ProcessEnv): number {
  const devices = env.NVIDIA_VISIBLE_DEVICES;
  if (!devices || devices === 'void' || devices === 'none') return 0;
  return devices === 'all' ? 1 : devices.split(',').filter(Boolean).length;
}

async function ecsTaskMetadata(uri: string, fetchFn: Fetch): Promise<{ taskId: string; availabilityZone?: string }> {
  const res = await fetchFn(`${uri}/task`);
  if (!res.ok) throw new Error(`ECS task metadata endpoint ${uri}/task did not answer`);
  const task = JSON.parse(await res.text()) as { TaskARN: string; AvailabilityZone?: string };
  return { taskId: task.TaskARN.split('/').pop() as string, availabilityZone: task.AvailabilityZone };
}

async function imdsInstanceType(fetchFn: Fetch): Promise<string | undefined> {
  try {
    const token = await fetchFn('http://169.254.169.254/latest/api/token', {
      method: 'PUT',
      headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' },
    });
    if (!token.ok) return undefined;
    const res = await fetchFn('http://169.254.169.254/latest/meta-data/instance-type', {
      headers: { 'X-aws-ec2-metadata-token': await token.text() },
    });
    return res.ok ? await res.text() : undefined;
  } catch {
    return undefined; // awsvpc tasks may have IMDS blocked; the type is then unknown, not fatal
  }
}
