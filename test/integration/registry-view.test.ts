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

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ endpoint: env.server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }));
    doc.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'ScanCommand') scans++;
        return next(args);
      },
      { step: 'initialize', name: 'countScans' },
    );
    registry = new NodeRegistry(doc, env.resources.nodesTable);
    await registry.join(node('n1'));
    await registry.join(node('n2'));
    await registry.heartbeat('n1', { inFlight: 0, chunksDone: 0, concurrency: 1 });
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('reuses a read younger than the allowed age, and reads again once it is older', async () => {
    scans = 0;
    expect((await registry.list()).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect((await registry.recent(1000)).map((n) => n.nodeId)).toEqual(['n1', 'n2']);
    expect((await registry.healthy(60_000, Date.now(), 1000)).map((n) => n.nodeId)).toEqual(['n1']); // n2 never heartbeat: JOINING
    expect(scans).toBe(1);

    await new Promise((r) => setTimeout(r, 1100));
    await registry.recent(1000);
    expect(scans).toBe(2);
  });

  it('reads fresh whenever no age is allowed (the failure detector)', async () => {
    scans = 0;
    await registry.list();
    await registry.healthy(60_000);
    expect(scans).toBe(2);
  });
});
