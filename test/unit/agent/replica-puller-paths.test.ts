import type { S3Client } from '@aws-sdk/client-s3';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReplicaPuller, type CacheEvent } from '../../../lib/agent/replica-puller';
import { keys, type ReplicaItem } from '../../../lib/ledger/items';
import { memoryLog } from './fakes';

/** A replica item as placement writes it, ASSIGNED to n1. */
const replica = (objectId: string, shardKey = `shards/${objectId}/000000-a1.jsonl.gz`): ReplicaItem => ({
  ...keys.replica('n1', `${objectId}-000000`),
  nodeId: 'n1',
  chunkId: `${objectId}-000000`,
  objectId,
  shardKey,
  sha256: 'f00d',
  bytes: 10,
  records: 1,
  status: 'ASSIGNED',
  assignedAt: '2026-01-01T00:00:00.000Z',
});

/** The ledger's replica items in memory: answers the node's query, records updates. */
function fakeLedger(items: ReplicaItem[]) {
  const updates: Array<Record<string, unknown>> = [];
  // A real client (the paginator checks its class) whose send never leaves the process.
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }));
  const doc = Object.assign(client, {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      if (cmd.constructor.name === 'QueryCommand') return { Items: items.map((i) => ({ ...i })) };
      if (cmd.constructor.name === 'UpdateCommand') {
        updates.push(cmd.input);
        const values = cmd.input.ExpressionAttributeValues as Record<string, unknown>;
        const item = items.find((i) => i.pk === (cmd.input.Key as ReplicaItem).pk && i.sk === (cmd.input.Key as ReplicaItem).sk);
        if (item && values[':refused']) Object.assign(item, { status: 'REFUSED', refusedReason: values[':reason'] });
        return {};
      }
      throw new Error(`unexpected ${cmd.constructor.name}`);
    },
  }) as unknown as DynamoDBDocumentClient;
  return { doc, updates };
}

describe('replica puller: paths from the ledger', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'shardline-paths-'));
  });
  afterEach(async () => rm(root, { recursive: true, force: true }));

  it('refuses a replica whose objectId resolves outside the cache: no GET, nothing written, REFUSED with the reason, logged once', async () => {
    const items = [replica('../../../x', 'shards/x/000000-a1.jsonl.gz')];
    const { doc, updates } = fakeLedger(items);
    const gets: unknown[] = [];
    const s3 = { send: async (cmd: unknown) => void gets.push(cmd) } as unknown as S3Client;
    const log = memoryLog();
    const events: CacheEvent[] = [];
    const cacheDir = join(root, 'a', 'b', 'cache');
    const puller = new ReplicaPuller({
      s3,
      doc,
      ledgerTable: 'ledger',
      processedBucket: 'processed',
      nodeId: 'n1',
      cacheDir,
      log,
      fsOf: async () => ({ totalBytes: 1 << 30, availableBytes: 1 << 30 }),
      onCacheEvent: (e) => events.push(e),
    });

    expect(await puller.pullOnce()).toBe(0);
    expect(gets).toEqual([]);
    expect(updates).toEqual([
      expect.objectContaining({
        Key: { pk: items[0].pk, sk: items[0].sk },
        ExpressionAttributeValues: expect.objectContaining({ ':refused': 'REFUSED', ':reason': expect.stringMatching(/^unsafe cache path: objectId "\.\.\/\.\.\/\.\.\/x"/) }),
      }),
    ]);
    expect(items[0]).toMatchObject({ status: 'REFUSED', refusedReason: expect.stringContaining('do not resolve inside the cache directory') });
    expect(log.lines.filter((l) => l.level === 'error').map((l) => l.message)).toEqual(['shard refused: cache path outside the cache directory']);
    expect(events).toEqual([expect.objectContaining({ kind: 'refused', chunkId: '../../../x-000000' })]);
    expect(puller.report().refused).toBe(1);
    // Nothing was created next to or above the cache directory.
    expect(await readdir(join(root, 'a'))).toEqual(['b']);
    expect(await readdir(join(root, 'a', 'b'))).toEqual(['cache']);

    // The next pass sees the refusal recorded: it writes and logs nothing again.
    await puller.pullOnce();
    expect(updates).toHaveLength(1);
    expect(log.said('shard refused: cache path outside the cache directory')).toBe(1);
  });
});
