import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { detectGpus, parseNvidiaSmi } from '../../../lib/cluster/gpu-info';
import { lifecycleHookOf } from '../../../lib/cluster/lifecycle-hook';
import { bandwidthClass, instanceTypeInfo } from '../../../lib/cluster/instance-catalog';
import { cachePolicyFrom, resolveNodeIdentity, type MetadataFetch } from '../../../lib/cluster/node-identity';

const TASK_ARN = 'arn:aws:ecs:us-west-2:111122223333:task/shardline/8f03e41243824aea923aca126495f665';

/** A fake IMDSv2 and ECS task metadata endpoint; records the requests it got. */
function metadataServer(opts: { imds?: Record<string, string>; taskArn?: string } = {}) {
  const requests: Array<{ url: string; method: string; token?: string }> = [];
  const fetchFn: MetadataFetch = async (url, init) => {
    requests.push({ url, method: init?.method ?? 'GET', token: init?.headers?.['X-aws-ec2-metadata-token'] });
    const answer = (status: number, body = '') => ({ ok: status === 200, status, text: async () => body });
    if (url === 'http://ecs-meta/v4/task') return answer(200, JSON.stringify({ TaskARN: opts.taskArn ?? TASK_ARN, AvailabilityZone: 'us-west-2b' }));
    if (!opts.imds) throw new Error('connect ETIMEDOUT 169.254.169.254:80');
    if (url.endsWith('/api/token')) return answer(init?.method === 'PUT' ? 200 : 405, 'token-1');
    const path = url.split('/latest/meta-data/')[1];
    if (init?.headers?.['X-aws-ec2-metadata-token'] !== 'token-1') return answer(401);
    return path in opts.imds ? answer(200, opts.imds[path]) : answer(404);
  };
  return { fetchFn, requests };
}

const IMDS = { 'instance-id': 'i-0123456789abcdef0', 'instance-type': 'g5.12xlarge', 'placement/availability-zone': 'us-west-2a', 'placement/region': 'us-west-2' };
const smallFs = async () => ({ totalBytes: 1000e9, availableBytes: 1000e9 });
const noGpu = async () => Promise.reject(new Error('spawn nvidia-smi ENOENT'));

describe('resolveNodeIdentity', () => {
  let cacheDir: string;
  beforeEach(async () => (cacheDir = await mkdtemp(join(tmpdir(), 'identity-'))));
  afterEach(async () => rm(cacheDir, { recursive: true, force: true }));

  it('is the EC2 instance on ECS: instance id as node id, the task ARN kept beside it, region and AZ from IMDSv2', async () => {
    const { fetchFn, requests } = metadataServer({ imds: IMDS });
    const id = await resolveNodeIdentity({ cacheDir }, { ECS_CONTAINER_METADATA_URI_V4: 'http://ecs-meta/v4' }, { fetch: fetchFn, runCommand: noGpu, fsOf: smallFs });
    expect(id).toMatchObject({
      nodeId: 'i-0123456789abcdef0',
      instanceId: 'i-0123456789abcdef0',
      taskArn: TASK_ARN,
      instanceType: 'g5.12xlarge',
      region: 'us-west-2',
      availabilityZone: 'us-west-2a',
      failureDomain: 'us-west-2a',
      gpus: 4,
      gpuModel: 'NVIDIA A10G',
      gpuMemoryMiB: 24576,
      networkBandwidth: '40 Gbps',
      networkGbps: 40,
      cacheCapacityBytes: 900e9,
    });
    expect(requests.filter((r) => r.method === 'PUT')).toHaveLength(1); // one session token for every read
  });

  it('keeps the same node id when the agent restarts in a new task on the same host', async () => {
    const first = await resolveNodeIdentity({ cacheDir }, { ECS_CONTAINER_METADATA_URI_V4: 'http://ecs-meta/v4' }, { fetch: metadataServer({ imds: IMDS }).fetchFn, runCommand: noGpu, fsOf: smallFs });
    const second = await resolveNodeIdentity(
      { cacheDir },
      { ECS_CONTAINER_METADATA_URI_V4: 'http://ecs-meta/v4' },
      { fetch: metadataServer({ imds: IMDS, taskArn: `${TASK_ARN}0` }).fetchFn, runCommand: noGpu, fsOf: smallFs },
    );
    expect(second.nodeId).toBe(first.nodeId);
    expect(second.taskArn).not.toBe(first.taskArn);
  });

  it('falls back to the task id, and says so, when IMDS is unreachable', async () => {
    const warnings: string[] = [];
    const id = await resolveNodeIdentity(
      { cacheDir },
      { ECS_CONTAINER_METADATA_URI_V4: 'http://ecs-meta/v4' },
      { fetch: metadataServer().fetchFn, runCommand: noGpu, fsOf: smallFs, log: (_l, m) => warnings.push(m) },
    );
    expect(id).toMatchObject({ nodeId: '8f03e41243824aea923aca126495f665', failureDomain: 'us-west-2b', instanceType: 'local' });
    expect(warnings[0]).toMatch(/node id is the task id/);
  });

  it('counts GPUs with nvidia-smi over the instance table, and reads no metadata locally', async () => {
    const { fetchFn, requests } = metadataServer({ imds: IMDS });
    const id = await resolveNodeIdentity(
      { nodeId: 'agent-1', cacheDir },
      { SHARDLINE_INSTANCE_TYPE: 'g5.xlarge' },
      { fetch: fetchFn, runCommand: async () => 'NVIDIA A10G, 23028 MiB\nNVIDIA A10G, 23028 MiB\n', fsOf: smallFs },
    );
    expect(id).toMatchObject({ nodeId: 'agent-1', gpus: 2, gpuModel: 'NVIDIA A10G', gpuMemoryMiB: 23028, networkBandwidth: 'up to 10 Gbps', failureDomain: 'local' });
    expect(requests).toEqual([]);
  });

  it('caps the measured cache capacity with --cache-capacity-gib or SHARDLINE_CACHE_CAPACITY_BYTES', async () => {
    const byFlag = await resolveNodeIdentity({ nodeId: 'n', cacheDir, cacheCapacityBytes: 5e9 }, {}, { runCommand: noGpu, fsOf: smallFs });
    const byEnv = await resolveNodeIdentity({ nodeId: 'n', cacheDir }, { SHARDLINE_CACHE_CAPACITY_BYTES: '7000000' }, { runCommand: noGpu, fsOf: smallFs });
    expect([byFlag.cacheCapacityBytes, byEnv.cacheCapacityBytes]).toEqual([5e9, 7e6]);
    expect(cachePolicyFrom({}, { SHARDLINE_CACHE_RESERVE_BYTES: '100', SHARDLINE_CACHE_HEADROOM: '0.2' })).toEqual({ reserveBytes: 100, headroomFraction: 0.2 });
    expect(() => cachePolicyFrom({}, { SHARDLINE_CACHE_HEADROOM: '1.5' })).toThrow(/fraction/);
  });
});

describe('parseNvidiaSmi', () => {
  it('reads one GPU per line with its model and memory', () => {
    expect(parseNvidiaSmi('NVIDIA H100 80GB HBM3, 81559 MiB\nNVIDIA H100 80GB HBM3, 81559 MiB\n')).toEqual({ count: 2, model: 'NVIDIA H100 80GB HBM3', memoryMiB: 81559 });
  });

  it('skips lines that are not GPUs', () => {
    expect(parseNvidiaSmi('\nNo devices were found\n')).toEqual({ count: 0 });
    expect(parseNvidiaSmi('Tesla T4, 15360 MiB\r\n\r\n')).toEqual({ count: 1, model: 'Tesla T4', memoryMiB: 15360 });
  });

  it('gives undefined when nvidia-smi is missing or lists nothing', async () => {
    expect(await detectGpus(noGpu)).toBeUndefined();
    expect(await detectGpus(async () => 'No devices were found')).toBeUndefined();
  });
});

describe('instance type table', () => {
  it('gives GPUs and a bandwidth class by family and size', () => {
    expect(instanceTypeInfo('g5.xlarge')).toEqual({ gpus: 1, gpuModel: 'NVIDIA A10G', gpuMemoryMiB: 24576, networkGbps: 10, burst: true });
    expect(bandwidthClass(instanceTypeInfo('g5.xlarge')!)).toBe('up to 10 Gbps');
    expect(bandwidthClass(instanceTypeInfo('p4d.24xlarge')!)).toBe('400 Gbps');
    expect(instanceTypeInfo('P5.48XLARGE')).toMatchObject({ gpus: 8, gpuModel: 'NVIDIA H100', networkGbps: 3200 });
  });

  it('knows nothing of other types', () => {
    expect(instanceTypeInfo('m5.large')).toBeUndefined();
    expect(instanceTypeInfo('local')).toBeUndefined();
    expect(instanceTypeInfo(undefined)).toBeUndefined();
  });
});

describe('lifecycleHookOf', () => {
  it('names the hook only when the group, the hook and the instance are all known', () => {
    const env = { SHARDLINE_ASG_NAME: 'fleet-asg', SHARDLINE_LIFECYCLE_HOOK: 'drain-hook' };
    expect(lifecycleHookOf(env, 'i-1')).toEqual({ autoScalingGroupName: 'fleet-asg', lifecycleHookName: 'drain-hook', instanceId: 'i-1' });
    expect(lifecycleHookOf(env, undefined)).toBeUndefined(); // locally: no instance
    expect(lifecycleHookOf({ SHARDLINE_ASG_NAME: 'fleet-asg' }, 'i-1')).toBeUndefined();
  });
});
