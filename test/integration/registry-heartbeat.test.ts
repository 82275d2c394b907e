import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const node = (nodeId: string): NodeIdentity => ({
  nodeId,
  failureDomain: 'a',
  instanceType: 'g5.xlarge',
  gpus: 1,
  cpus: 4,
  memoryMiB: 16000,
  cacheDir: '/c',
  cacheCapacityBytes: 1e9,
  instanceId: nodeId,
  region: 'us-east-1',
  gpuModel: 'NVIDIA A10G',
  networkBandwidth: 'up to 10 Gbps',
});
const load = { inFlight: 0, chunksDone: 0, concurrency: 1, cache: { capacityBytes: 1e9, usedBytes: 1e6, freeBytes: 999e6, fsAvailableBytes: 5e9, shards: 1, unassigned: 0, refused: 0 } };

/** Heartbeats against a local endpoint: the cache report is recorded, and a DRAINING set by someone else is kept and told. */
describe('node registry heartbeat (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  const told: Array<{ nodeId: string; reason: string }> = [];
  let registry: NodeRegistry;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    registry = new NodeRegistry(env.clients.doc, env.resources.nodesTable, { onDrainRequested: (nodeId, reason) => told.push({ nodeId, reason }) });
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('records the node metadata and the cache report, and makes a JOINING node ACTIVE', async () => {
    await registry.join(node('i-1'));
    await registry.heartbeat('i-1', load);
    const [item] = (await registry.list()).filter((n) => n.nodeId === 'i-1');
    expect(item).toMatchObject({ status: 'ACTIVE', instanceId: 'i-1', gpuModel: 'NVIDIA A10G', networkBandwidth: 'up to 10 Gbps', load: { cache: { usedBytes: 1e6, freeBytes: 999e6 } } });
    expect(told).toEqual([]);
  });

  it('keeps a node DRAINING when the lifecycle Lambda marked it, and tells the agent', async () => {
    await registry.join(node('i-2'));
    await registry.heartbeat('i-2', load);
    expect(await registry.markLeaving('i-2', 'spot interruption')).toBe(true);
    const before = Date.now();
    await registry.heartbeat('i-2', load, false, before + 5);
    const [item] = (await registry.list()).filter((n) => n.nodeId === 'i-2');
    expect(item).toMatchObject({ status: 'DRAINING', drainReason: 'spot interruption', lastHeartbeat: before + 5 });
    expect(told).toEqual([{ nodeId: 'i-2', reason: 'spot interruption' }]);
  });

  it('still refuses the heartbeat of a node declared DEAD', async () => {
    await registry.join(node('i-3'));
    expect(await registry.markStopped('i-3', 'test')).toBe(true);
    await expect(registry.heartbeat('i-3', load)).rejects.toThrow(/conditional/i);
  });

  it('reads back the nudges others left for the node with each heartbeat, and nudges no DEAD node', async () => {
    await registry.join(node('i-4'));
    expect(await registry.heartbeat('i-4', load)).toEqual({ nudges: 0 });
    await registry.nudge(['i-4', 'i-4', 'i-3']); // i-3 is DEAD: skipped
    await registry.nudge(['i-4']);
    expect(await registry.heartbeat('i-4', load)).toEqual({ nudges: 2 });
    const [dead] = (await registry.list()).filter((n) => n.nodeId === 'i-3');
    expect(dead.nudges).toBeUndefined();
  });
});
