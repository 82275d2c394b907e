import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { chunkIdOf, type ChunkMessage } from '../../lib/chunking/chunk';
import { ChunkLedger, LeaseLostError, type ChunkLease } from '../../lib/ledger/chunk-ledger';
import { keys } from '../../lib/ledger/items';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const counts = { recordsIn: 10, recordsOut: 9, recordsRejected: 1, recordsFiltered: 0, bytesIn: 100 };
const file = (key: string) => ({ key, sha256: 'ab'.repeat(32), bytes: 10, lines: 9 });

/** The commit tells whether it was the object's last chunk from its own condition, without a read. */
describe('chunk commit (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let chunks: ChunkLedger;
  let objects: ObjectLedger;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    chunks = new ChunkLedger(env.clients.doc, env.resources.ledgerTable);
    objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
  }, 60_000);
  afterAll(async () => env?.server.stop());

  async function objectWith(objectId: string, chunkCount: number): Promise<ChunkMessage[]> {
    await env.clients.doc.send(
      new PutCommand({
        TableName: env.resources.ledgerTable,
        Item: {
          ...keys.object(objectId),
          objectId,
          bucket: 'b',
          key: `k/${objectId}`,
          etag: 'e',
          size: chunkCount * 10,
          chunkCount,
          chunksDone: 0,
          status: 'ENQUEUED',
          recordsIn: 0,
          recordsOut: 0,
          recordsRejected: 0,
          recordsFiltered: 0,
          bytesIn: 0,
        },
      }),
    );
    return Array.from({ length: chunkCount }, (_, index) => ({
      v: 1,
      objectId,
      chunkId: chunkIdOf(objectId, index),
      index,
      chunkCount,
      bucket: 'b',
      key: `k/${objectId}`,
      etag: 'e',
      objectSize: chunkCount * 10,
      start: index * 10,
      end: index * 10 + 10,
      format: 'jsonl',
      compression: 'none',
    }));
  }

  async function leaseOf(msg: ChunkMessage, owner = 'n1'): Promise<ChunkLease> {
    const leased = await chunks.lease(msg, owner, `rh-${msg.chunkId}`, 60_000);
    if (leased.outcome !== 'leased') throw new Error(`not leased: ${leased.outcome}`);
    return leased.lease;
  }

  const commitOf = (msg: ChunkMessage, lease: ChunkLease, opts: { withCount: boolean } = { withCount: true }) =>
    chunks.commit(lease, { counts, shard: file(`shards/${msg.chunkId}`), replicas: [], replicationFactor: 0, durationMs: 5, ...(opts.withCount ? { chunkCount: msg.chunkCount } : {}) });

  it('says the object is done only on the commit of its last chunk, whatever the order, and counts each chunk once', async () => {
    const objectId = 'a'.repeat(32);
    const msgs = await objectWith(objectId, 3);
    const leases = await Promise.all(msgs.map((m) => leaseOf(m)));
    expect(await commitOf(msgs[2], leases[2])).toEqual({ objectDone: false });
    expect(await commitOf(msgs[0], leases[0])).toEqual({ objectDone: false });
    expect(await commitOf(msgs[1], leases[1])).toEqual({ objectDone: true });
    const object = await objects.get(objectId);
    expect(object).toMatchObject({ chunksDone: 3, recordsIn: 30, recordsOut: 27, recordsRejected: 3 });
  });

  it('says a one-chunk object is done at once, and cannot tell without the chunk count', async () => {
    const [only] = await objectWith('b'.repeat(32), 1);
    expect(await commitOf(only, await leaseOf(only))).toEqual({ objectDone: true });
    const [first] = await objectWith('c'.repeat(32), 2);
    expect(await commitOf(first, await leaseOf(first), { withCount: false })).toEqual({ objectDone: undefined });
  });

  it('refuses the last commit of a worker whose lease was taken over, and counts nothing', async () => {
    const objectId = 'd'.repeat(32);
    const msgs = await objectWith(objectId, 2);
    const first = await leaseOf(msgs[0]);
    await commitOf(msgs[0], first);
    const stale = await leaseOf(msgs[1], 'n1');
    await chunks.release(stale);
    const fresh = await leaseOf(msgs[1], 'n2');
    await expect(commitOf(msgs[1], stale)).rejects.toBeInstanceOf(LeaseLostError);
    expect((await objects.get(objectId))?.chunksDone).toBe(1);
    expect(await commitOf(msgs[1], fresh)).toEqual({ objectDone: true });
    expect((await objects.get(objectId))?.chunksDone).toBe(2);
  });
});
