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
const taskArn = (id: string) => `arn:aws:ecs:us-east-1:123456789012:task/cluster/${id}`;
/** A node is its host (an EC2 instance id); its record names the agent task running there now. */
const identity = (nodeId: string, task: string) => ({
  nodeId,
  failureDomain: 'us-east-1a',
  instanceType: 'g5.xlarge',
  gpus: 1,
  cpus: 4,
  memoryMiB: 16000,
  cacheDir: '/c',
  cacheCapacityBytes: 1e11,
  taskArn: taskArn(task),
});
const nodeOf = async (registry: NodeRegistry, nodeId: string) => (await registry.list()).find((n) => n.nodeId === nodeId);

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

  it('declares DEAD at once the node whose record names the stopped task', async () => {
    await registry.join(identity('i-0aaa', 'task123'));
    await registry.heartbeat('i-0aaa', { inFlight: 1, chunksDone: 0, concurrency: 4 });

    const result = await handler(event({ taskArn: taskArn('task123'), lastStatus: 'STOPPED', stopCode: 'SpotInterruption' }), {} as Context);

    expect(result).toEqual({ marked: true, nodeId: 'i-0aaa' });
    const node = await nodeOf(registry, 'i-0aaa');
    expect(node).toMatchObject({ status: 'DEAD', detectedBy: 'task-stopped: SpotInterruption' });
    expect(node?.recoveredAt).toBeUndefined(); // the leader's next sweep hands its work back
  });

  it('leaves the node alone when a replacement agent task on the same host already rejoined', async () => {
    await registry.join(identity('i-0bbb', 'old-task'));
    await registry.join(identity('i-0bbb', 'new-task')); // the agent restarted (a deploy): same host, new task
    await registry.heartbeat('i-0bbb', { inFlight: 0, chunksDone: 0, concurrency: 4 });

    const result = await handler(event({ taskArn: taskArn('old-task'), lastStatus: 'STOPPED', stopCode: 'ServiceSchedulerInitiated' }), {} as Context);

    expect(result).toEqual({ marked: false });
    expect((await nodeOf(registry, 'i-0bbb'))?.status).toBe('ACTIVE');
  });

  it('marks nothing for a task no node names', async () => {
    const result = await handler(event({ taskArn: taskArn('never-joined'), lastStatus: 'STOPPED' }), {} as Context);
    expect(result).toEqual({ marked: false });
  });

  it('ignores a task that is not stopped', async () => {
    await registry.join(identity('i-0ccc', 'task456'));
    const result = await handler(event({ taskArn: taskArn('task456'), lastStatus: 'RUNNING' }), {} as Context);
    expect(result.marked).toBe(false);
    expect((await nodeOf(registry, 'i-0ccc'))?.status).toBe('JOINING');
  });

  it('reports an event without a task ARN instead of dropping it', async () => {
    await expect(handler(event({ lastStatus: 'STOPPED' }), {} as Context)).rejects.toThrow(/no taskArn/);
  });
});
