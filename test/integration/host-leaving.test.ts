import type { Context } from 'aws-lambda';
import { NodeRegistry } from '../../lib/cluster/registry';
import { createHostLeavingHandler, type HostLeavingEvent, SPOT_INTERRUPTION, TERMINATE_LIFECYCLE_ACTION } from '../../functions/host-leaving-handler';
import { createMetrics } from '../../lib/observability/lambda-metrics';
import { createLogger } from '../../lib/observability/logger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

type Handler = (event: HostLeavingEvent, context: Context) => Promise<{ marked: boolean; nodeId: string; reason: string }>;

const envelope = { id: 'e1', version: '0', account: '123456789012', time: '2026-11-02T10:00:00Z', region: 'us-east-1', resources: [] };
const spotWarning = (instanceId?: string): HostLeavingEvent => ({
  ...envelope,
  source: 'aws.ec2',
  'detail-type': SPOT_INTERRUPTION,
  detail: instanceId ? { 'instance-id': instanceId, 'instance-action': 'terminate' } : {},
});
const lifecycleAction = (instanceId?: string): HostLeavingEvent => ({
  ...envelope,
  source: 'aws.autoscaling',
  'detail-type': TERMINATE_LIFECYCLE_ACTION,
  detail: {
    ...(instanceId ? { EC2InstanceId: instanceId } : {}),
    AutoScalingGroupName: 'gpu-hosts',
    LifecycleHookName: 'host-leaving',
    LifecycleTransition: 'autoscaling:EC2_INSTANCE_TERMINATING',
    LifecycleActionToken: 'token-1',
  },
});
const identity = (nodeId: string) => ({ nodeId, failureDomain: 'us-east-1a', instanceType: 'g5.xlarge', gpus: 1, cpus: 4, memoryMiB: 16000, cacheDir: '/c', cacheCapacityBytes: 1e11 });

describe('host-leaving handler on Spot interruption warnings and scale-in lifecycle actions', () => {
  let local: ProvisionedEndpoint;
  let handler: Handler;
  let registry: NodeRegistry;
  const nodeOf = async (nodeId: string) => (await registry.list()).find((n) => n.nodeId === nodeId);

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    registry = new NodeRegistry(local.clients.doc, local.resources.nodesTable);
    handler = createHostLeavingHandler({ registry, logger: createLogger('shardline-host-leaving'), metrics: createMetrics('shardline-host-leaving') }) as unknown as Handler;
  }, 60_000);

  afterAll(async () => {
    await local?.server.stop();
  });

  it("asks the interrupted Spot instance's node to leave, with the reason", async () => {
    await registry.join(identity('i-0spot'));
    await registry.heartbeat('i-0spot', { inFlight: 2, chunksDone: 5, concurrency: 4 });

    const result = await handler(spotWarning('i-0spot'), {} as Context);

    expect(result).toEqual({ marked: true, nodeId: 'i-0spot', reason: 'spot interruption: terminate notice at 2026-11-02T10:00:00Z' });
    expect(await nodeOf('i-0spot')).toMatchObject({ status: 'DRAINING', drainReason: result.reason, drainRequestedAt: expect.any(Number) });
  });

  it("asks a host's node to leave when its Auto Scaling group terminates it", async () => {
    await registry.join(identity('i-0scale'));
    await registry.heartbeat('i-0scale', { inFlight: 0, chunksDone: 0, concurrency: 4 });

    const result = await handler(lifecycleAction('i-0scale'), {} as Context);

    expect(result.marked).toBe(true);
    expect(await nodeOf('i-0scale')).toMatchObject({ status: 'DRAINING', drainReason: expect.stringMatching(/^scale-in: gpu-hosts terminates the host \(lifecycle hook host-leaving\)/) });
  });

  it('changes nothing for an instance no node runs on, or a node already DEAD', async () => {
    await registry.join(identity('i-0dead'));
    await registry.markStopped('i-0dead', 'gone');

    expect((await handler(spotWarning('i-0other'), {} as Context)).marked).toBe(false);
    expect((await handler(lifecycleAction('i-0dead'), {} as Context)).marked).toBe(false);
    expect(await nodeOf('i-0other')).toBeUndefined();
    expect((await nodeOf('i-0dead'))?.status).toBe('DEAD');
  });

  it('reports a notice without an instance id instead of dropping it', async () => {
    await expect(handler(spotWarning(), {} as Context)).rejects.toThrow(/no instance-id/);
    await expect(handler(lifecycleAction(), {} as Context)).rejects.toThrow(/no EC2InstanceId/);
  });
});
