import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { LeaderLease } from '../../lib/cluster/leader-lease';
import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import type { Target } from '../../lib/aws/target';
import { keys } from '../../lib/ledger/items';
import { collectSnapshot } from '../../lib/observability/snapshot';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

const identity = (nodeId: string, failureDomain: string): NodeIdentity => ({
  nodeId,
  failureDomain,
  instanceType: 'local',
  gpus: 0,
  cpus: 2,
  memoryMiB: 1024,
  cacheDir: `/tmp/${nodeId}`,
  cacheCapacityBytes: 1e9,
});

describe('collectSnapshot (local endpoint)', () => {
  let endpoint: ProvisionedEndpoint;
  let target: Target;
  let requests = 0;
  let now = 0;

  beforeAll(async () => {
    endpoint = await startProvisionedEndpoint();
    const { clients, resources } = endpoint;
    target = { clients, resources, label: 'test' };
    now = Date.now();
    const { doc, sqs } = clients;
    const put = (Item: Record<string, unknown>) => doc.send(new PutCommand({ TableName: resources.ledgerTable, Item }));

    // Nodes: n1 healthy (reports a config version), n2 silent for 10 s, n3 declared dead.
    const registry = new NodeRegistry(doc, resources.nodesTable);
    await registry.join(identity('n1', 'a'), now);
    await registry.heartbeat('n1', { inFlight: 2, chunksDone: 5, concurrency: 4, configVersion: 7 } as never, false, now);
    await registry.join(identity('n2', 'b'), now - 10_000);
    await registry.heartbeat('n2', { inFlight: 3, chunksDone: 1, concurrency: 4 }, false, now - 10_000);
    await registry.join(identity('n3', 'c'), now);
    await registry.markStopped('n3', 'test');
    await new LeaderLease(doc, resources.controlTable, 'n1', 60_000).tryAcquire();

    // Ledger: one object of 3 chunks: 0 processed (on n1 and the silent n2), 1 failed, 2 leased and retrying.
    await put({
      ...keys.object('o1'),
      objectId: 'o1',
      key: 'in/a.jsonl',
      status: 'FAILED',
      size: 3000,
      chunkCount: 3,
      chunksDone: 1,
      recordsIn: 10,
      recordsOut: 9,
      recordsRejected: 1,
      recordsFiltered: 0,
      bytesIn: 1000,
      failedChunks: 1,
      lastError: 'chunk 1: bad',
      createdAt: '2026-01-01T00:00:00Z',
      etag: 'e',
      receiptHandle: 'x'.repeat(2000),
    });
    await put({
      ...keys.object('o2'),
      objectId: 'o2',
      key: 'in/b.jsonl',
      status: 'COMPLETE',
      size: 500,
      chunkCount: 1,
      chunksDone: 1,
      recordsIn: 5,
      recordsOut: 5,
      recordsRejected: 0,
      recordsFiltered: 0,
      bytesIn: 500,
      createdAt: '2026-01-01T00:00:01Z',
    });
    await put({ ...keys.chunk('o1', 0), objectId: 'o1', chunkId: 'o1-000000', index: 0, status: 'PROCESSED', attempt: 1, replicas: ['n1', 'n2'] });
    await put({ ...keys.chunk('o1', 1), objectId: 'o1', chunkId: 'o1-000001', index: 1, status: 'FAILED', attempt: 5, lastError: 'bad' });
    await put({ ...keys.chunk('o1', 2), objectId: 'o1', chunkId: 'o1-000002', index: 2, status: 'LEASED', attempt: 2, lastError: 'S3 timeout', leasedBy: 'n1', leaseOwner: 'n1' });
    await put({ ...keys.chunk('o2', 0), objectId: 'o2', chunkId: 'o2-000000', index: 0, status: 'PROCESSED', attempt: 1, replicas: ['n1'] });
    for (const [node, chunk] of [
      ['n1', 'o1-000000'],
      ['n2', 'o1-000000'],
      ['n1', 'o2-000000'],
    ]) {
      await put({ ...keys.replica(node, chunk), nodeId: node, chunkId: chunk, objectId: chunk.slice(0, 2), status: 'PRESENT', shardKey: 'k', sha256: 's', bytes: 1, assignedAt: 'now' });
    }

    // Queues: 2 messages on the work queue (1 received, so in flight), 1 in each DLQ.
    for (const body of ['m1', 'm2']) await sqs.send(new SendMessageCommand({ QueueUrl: resources.workQueueUrl, MessageBody: body }));
    await sqs.send(new ReceiveMessageCommand({ QueueUrl: resources.workQueueUrl, MaxNumberOfMessages: 1, VisibilityTimeout: 300 }));
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.workDlqUrl, MessageBody: 'dead' }));
    await sqs.send(new SendMessageCommand({ QueueUrl: resources.ingestEventsDlqUrl, MessageBody: 'unplannable' }));

    const count = () => (next: (args: unknown) => Promise<unknown>) => (args: unknown) => {
      requests++;
      return next(args);
    };
    // A running cluster's membership item is complete (the first read of a fresh table completes it).
    await new NodeRegistry(clients.doc, resources.nodesTable).list();
    clients.ddb.middlewareStack.add(count() as never, { step: 'finalizeRequest', name: 'countSnapshotRequestsDdb' });
    clients.sqs.middlewareStack.add(count() as never, { step: 'finalizeRequest', name: 'countSnapshotRequestsSqs' });
  }, 60_000);

  afterAll(async () => {
    await endpoint?.server.stop();
  });

  it('reads objects, nodes, leader, queues, replicas and errors with ten requests at most', async () => {
    requests = 0;
    // The snapshot's clock is pinned 1 s after the heartbeats, so the health of each node is certain.
    const s = await collectSnapshot(target, { replicationFactor: 2, heartbeatTimeoutMs: 3500, now: () => now + 1000 });

    expect(requests).toBeLessThanOrEqual(10); // the nodes by key: the membership item, then one BatchGetItem
    expect(s.leader).toMatchObject({ holder: 'n1' });
    expect(s.control).toMatchObject({ desired: 'RUNNING', configVersion: 0 });
    expect(s.objects.map((o) => [o.key, o.chunksDone, o.chunkCount, o.bytesDone])).toEqual([
      ['in/a.jsonl', 1, 3, 1000],
      ['in/b.jsonl', 1, 1, 500],
    ]);
    expect(s.nodes.map((n) => [n.nodeId, n.health, n.configVersion])).toEqual([
      ['n1', 'healthy', 7],
      ['n2', 'stale', undefined],
      ['n3', 'dead', undefined],
    ]);
    expect(s.queues.work).toEqual({ visible: 1, inFlight: 1, delayed: 0 });
    expect(s.queues.workDlq.visible).toBe(1);
    expect(s.queues.ingestEventsDlq.visible).toBe(1);
    expect(s.queues.ingestEvents.visible).toBe(1); // S3's s3:TestEvent when the notification was set up
    // o1-000000 is PRESENT on n1 and on n2, but n2 is silent: one live replica of two.
    expect(s.replicas).toMatchObject({
      shards: 2,
      belowR: 2,
      worst: [
        { chunkId: 'o1-000000', live: 1, objectKey: 'in/a.jsonl' },
        { chunkId: 'o2-000000', live: 1, objectKey: 'in/b.jsonl' },
      ],
    });
    expect(s.errors.map((e) => [e.kind, e.chunk, e.message])).toEqual([
      ['FAILED', 1, 'bad'],
      ['RETRYING', 2, 'S3 timeout'],
    ]);
    expect(s.totals).toMatchObject({ objects: 2, bytesTotal: 3500, bytesProcessed: 1500, recordsIn: 15, chunksDone: 2, chunkCount: 4, chunksInFlight: 2, chunksLeased: 1 });
  });

  it('leaves large attributes it does not need out of the scan', async () => {
    const s = await collectSnapshot(target);
    expect(JSON.stringify(s)).not.toContain('xxxxxxxxxx');
  });
});
