import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { assignmentOf, replicaKeyOf } from '../../lib/cluster/rebalance';
import { ReplicaMoves } from '../../lib/cluster/replica-moves';
import { keys, type ReplicaItem } from '../../lib/ledger/items';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

function replica(nodeId: string, chunkId: string, status: ReplicaItem['status']): ReplicaItem {
  return { ...keys.replica(nodeId, chunkId), nodeId, chunkId, objectId: 'obj', shardKey: `shards/${chunkId}.gz`, sha256: 'ab', bytes: 3, status, assignedAt: 'then' };
}

describe('ReplicaMoves (local endpoint)', () => {
  let endpoint: ProvisionedEndpoint;
  let moves: ReplicaMoves;
  const put = (r: ReplicaItem) => endpoint.clients.doc.send(new PutCommand({ TableName: endpoint.resources.ledgerTable, Item: r }));
  const get = async (nodeId: string, chunkId: string) =>
    (await endpoint.clients.doc.send(new GetCommand({ TableName: endpoint.resources.ledgerTable, Key: keys.replica(nodeId, chunkId), ConsistentRead: true }))).Item as ReplicaItem | undefined;

  beforeAll(async () => {
    endpoint = await startProvisionedEndpoint();
    moves = new ReplicaMoves(endpoint.clients.doc, endpoint.resources.ledgerTable);
  }, 60_000);

  afterAll(async () => {
    await endpoint?.server.stop();
  });

  it('assigns only where no replica exists, leaving a PRESENT one as it is, when a batch mixes both', async () => {
    await put(replica('n2', 'obj-000001', 'PRESENT'));
    const created = await moves.assign(['obj-000001', 'obj-000002', 'obj-000003'].map((c) => assignmentOf(replica('n1', c, 'PRESENT'), 'n2', 0)));
    expect(created).toBe(2);
    expect((await get('n2', 'obj-000001'))?.status).toBe('PRESENT');
    expect((await get('n2', 'obj-000002'))?.status).toBe('ASSIGNED');
    expect(await moves.assign([assignmentOf(replica('n1', 'obj-000004', 'PRESENT'), 'n2', 0), assignmentOf(replica('n1', 'obj-000005', 'PRESENT'), 'n2', 0)])).toBe(2);
  });

  it('reads the status of the replicas that exist, 100 keys to a request, and drops them', async () => {
    const many = Array.from({ length: 130 }, (_, i) => assignmentOf(replica('n1', `obj-${String(i).padStart(6, '0')}`, 'PRESENT'), 'n3', 0));
    expect(await moves.assign(many)).toBe(130);
    const status = await moves.statusOf([...many, replica('n9', 'obj-000000', 'PRESENT')]);
    expect(status.size).toBe(130);
    expect(status.get(replicaKeyOf({ nodeId: 'n3', chunkId: 'obj-000001' }))).toBe('ASSIGNED'); // a new copy, whatever the template's status
    expect(await moves.drop([...many.slice(0, 40), { nodeId: 'n9', chunkId: 'obj-000000' }])).toBe(40);
    expect(await moves.replicasOf('n3')).toHaveLength(90);
  });
});
