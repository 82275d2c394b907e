import type { Context, EventBridgeEvent } from 'aws-lambda';
import { NodeRegistry } from '../../lib/cluster/registry';
import { createTaskStoppedHandler } from '../../functions/task-stopped-handler';
import { createMetrics } from '../../lib/observability/lambda-metrics';
import { createLogger } from '../../lib/observability/logger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

type Detail = { taskArn?: string; lastStatus?: string; stoppedReason?: string; stopCode?: string };
type Handler = (event: EventBridgeEvent<'ECS Task State Change', Detail>, context: Context) => Promise<{ marked: boolean; nodeId?: string }>;

const event = (detail: Detail): EventBridgeEvent<'ECS Task State Change', Detail> => ({
  id: 'e1',
  version: '0',
  account: '123456789012',
  time: new Date().toISOString(),
  region: 'us-east-1',
  resources: [],
  source: 'aws.ecs',
  'detail-type': 'ECS Task State Change',
  detail,
});
const identity = (nodeId: string) => ({ nodeId, failureDomain: 'us-east-1a', instanceType: 'g5.xlarge', gpus: 1, cpus: 4, memoryMiB: 16000, cacheDir: '/c', cacheCapacityBytes: 1e11 });

describe('task-stopped handler on ECS task state change events', () => {
  let local: ProvisionedEndpoint;
  let handler: Handler;
  let registry: NodeRegistry;

  beforeAll(async () => {
    local = await startProvisionedEndpoint();
    process.env.POWERTOOLS_LOG_LEVEL = 'ERROR';
    registry = new NodeRegistry(local.clients.doc, local.resources.nodesTable);
    handler = createTaskStoppedHandler({ registry, logger: createLogger('shardline-task-stopped'), metrics: createMetrics('shardline-task-stopped') }) as unknown as Handler;
  }, 60_000);

  afterAll(async () => {
    await local?.server.stop();
  });

  it('declares the node of a stopped task DEAD at once', async () => {
    await registry.join(identity('task123'));
    await registry.heartbeat('task123', { inFlight: 1, chunksDone: 0, concurrency: 4 });

    const result = await handler(event({ taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/cluster/task123', lastStatus: 'STOPPED', stopCode: 'SpotInterruption' }), {} as Context);

    expect(result).toEqual({ marked: true, nodeId: 'task123' });
    const node = (await registry.list()).find((n) => n.nodeId === 'task123');
    expect(node).toMatchObject({ status: 'DEAD', detectedBy: 'task-stopped: SpotInterruption' });
    expect(node?.recoveredAt).toBeUndefined(); // the leader's next sweep hands its work back
  });

  it('ignores a task that is not stopped', async () => {
    await registry.join(identity('task456'));
    const result = await handler(event({ taskArn: 'arn:aws:ecs:us-east-1:123456789012:task/cluster/task456', lastStatus: 'RUNNING' }), {} as Context);
    expect(result.marked).toBe(false);
    expect((await registry.list()).find((n) => n.nodeId === 'task456')?.status).toBe('JOINING');
  });

  it('reports an event without a task ARN instead of dropping it', async () => {
    await expect(handler(event({ lastStatus: 'STOPPED' }), {} as Context)).rejects.toThrow(/no taskArn/);
  });
});
