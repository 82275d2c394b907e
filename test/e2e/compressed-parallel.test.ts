import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import type { ObjectItem } from '../../lib/ledger/items';
import { listKeys } from '../../lib/storage/list-keys';
import { layout } from '../../lib/storage/layout';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { verifyObject } from '../../local/verify';
import { waitFor } from '../support/wait';

/** Decompressed window size: small, so that a few tens of MB make many windows. */
const WINDOW = 4 * 1024 * 1024;

/** About `bytes` of JSON Lines: records with ids `<tag>-<n>` and poorly compressible text, plus `bad` invalid lines. */
function jsonLines(tag: string, bytes: number): { body: Buffer; ids: string[]; bad: number } {
  const ids: string[] = [];
  const lines: string[] = [];
  let size = 0;
  let bad = 0;
  let seed = 7;
  for (let i = 0; size < bytes; i++) {
    const words: string[] = [];
    for (let w = 0; w < 20 + (i % 40); w++) {
      seed = (seed * 1103515245 + 12345) >>> 0;
      words.push(seed.toString(36));
    }
    const id = `${tag}-${i}`;
    ids.push(id);
    const line = JSON.stringify({ id, text: words.join(' '), n: i });
    lines.push(line);
    size += line.length + 1;
    if (i % 50_000 === 3) {
      lines.push('{"id": "broken", ');
      bad++;
    }
  }
  return { body: Buffer.from(lines.join('\n') + '\n'), ids, bad };
}

describe('big compressed objects in parallel (3 agents, local endpoint)', () => {
  let env: LocalEnvironment;
  let target: Target;
  let ledger: ObjectLedger;

  beforeAll(async () => {
    env = await startLocalEnvironment({
      agents: 3,
      stateDir: mkdtempSync(join(tmpdir(), 'shardline-compressed-')),
      config: { chunkSizeBytes: WINDOW, compressedWindowBytes: WINDOW, replicationFactor: 1 },
    });
    const clients = createAwsClients({ endpoint: env.state.endpoint, region: env.state.region });
    target = { clients, resources: env.state.resources, label: 'test' };
    ledger = new ObjectLedger(clients.doc, target.resources.ledgerTable);
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  /** Drops the object, waits until it is COMPLETE, and checks it: every record once, exact totals, several agents, no staged window left. */
  async function processedExactly(key: string, compressed: Buffer, data: ReturnType<typeof jsonLines>): Promise<ObjectItem> {
    await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: compressed }));
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === key && o.status === 'COMPLETE'), 100_000, 500);

    expect(object.chunkCount).toBeGreaterThanOrEqual(Math.floor(data.body.length / WINDOW));
    const verification = await verifyObject(target, object.objectId);
    expect(verification.problems).toEqual([]);
    expect(verification.manifest.shards).toHaveLength(object.chunkCount);
    expect(verification.manifest.totals).toEqual({ recordsIn: data.ids.length + data.bad, recordsOut: data.ids.length, recordsRejected: data.bad, recordsFiltered: 0, bytesIn: data.body.length });
    expect(verification.ids.size).toBe(data.ids.length);
    expect(data.ids.every((id) => verification.ids.has(id))).toBe(true);
    const chunks = await ledger.chunks(object.objectId);
    expect(chunks.map((c) => c.index)).toEqual([...Array(object.chunkCount).keys()]);
    expect(new Set(chunks.map((c) => c.leaseOwner)).size).toBeGreaterThanOrEqual(2);
    await waitFor(async () => (await listKeys(target.clients.s3, target.resources.processedBucket, [layout.stagingPrefix(object.objectId)])).length === 0, 20_000);
    return object;
  }

  it('splits a .jsonl.gz object into windows that several agents process, each record once', async () => {
    const data = jsonLines('gz', 64 * 1024 * 1024);
    await processedExactly('big/train.jsonl.gz', gzipSync(data.body, { level: 1 }), data);
  }, 150_000);

  it('splits a .jsonl.zst object the same way', async () => {
    const data = jsonLines('zst', 32 * 1024 * 1024);
    await processedExactly('big/train.jsonl.zst', zstdCompress(data.body), data);
  }, 150_000);
});
