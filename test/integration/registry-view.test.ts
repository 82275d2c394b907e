import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const node = (nodeId: string): NodeIdentity => ({
  nodeId,
  failureDomain: 'a',
  instanceType: 'local',
  gpus: 0,
  cpus: 2,
  memoryMiB: 1024,
  cacheDir: '/tmp',
  cacheCapacityBytes: 1024 ** 3,
});

/** One registry read serves the leader's detector, activity, gauges and placement. */
describe('node registry view shared between readers (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let registry: NodeRegistry;
  let scans = 0;
  let reads = 0;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: env.server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScanCommand') scans++;
        if (context.commandName === 'BatchGetCommand' || context.commandName === 'BatchGetItemCommand') reads++;
        return next(args);
      },
      { step: 'initialize', name: 'countScans' },
    );
    registry = new NodeRegistry(doc, env.resources.nodesTable);
    await registry.join(node('n1'));
    await registry.join(node('n2'));
    await registry.heartbeat('n1', { inFlight: 0, chunksDone: 0, concurrency: 1 });
  }, 60_000);

  it('reads membership by key: one scan, once, completes the membership item of nodes registered before it', async () => {
    scans = 0;
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect(scans).toBe(1);
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    await registry.join(node('n3'));
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2', 'n3']);
    await registry.leave('n3');
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect(scans).toBe(1);
  });
  afterAll(async () => env?.server.stop());

  it('reuses a read younger than the allowed age, and reads again once it is older', async () => {
    reads = 0;
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect((await registry.recent(1000)).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect((await registry.healthy(60_000, Date.now(), 1000)).map((n) => n.nodeId)).toEqual(['n1']); // n2 never heartbeat: JOINING
    expect(reads).toBe(1);

    await new Promise((r) => setTimeout(r, 1100));
    await registry.recent(1000);
    expect(reads).toBe(2);
  });

  it('reads fresh whenever no age is allowed (the failure detector)', async () => {
    reads = 0;
    await registry.list();
    await registry.healthy(60_000);
    expect(reads).toBe(2);
    expect(scans).toBe(1); // the first test's, only
  });
});
