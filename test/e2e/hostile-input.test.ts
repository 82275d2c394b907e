import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { createAwsClients } from '../../lib/aws/clients';
import type { Target } from '../../lib/aws/target';
import type { ObjectItem } from '../../lib/ledger/items';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { verifyObject } from '../../local/verify';
import { waitFor } from '../support/wait';

const MiB = 1024 * 1024;
const MAX_RECORD_BYTES = MiB;
const HUGE_LINE_BYTES = 100 * MiB;
/** Concurrency per node (the config's default). */
const CONCURRENCY = 4;
/** An agent's own footprint (about 190 MiB measured here under tsx) plus the limits × concurrency. */
const RSS_BOUND = 256 * MiB + CONCURRENCY * (MAX_RECORD_BYTES + 8 * MiB);

/** `n` valid JSON Lines records with ids `<tag>-<i>`. */
const records = (tag: string, n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${tag}-${i}`, text: `record ${i} of ${tag} ✓` }));
const jsonl = (lines: string[]): Buffer => Buffer.from(`${lines.join('\n')}\n`);

/** What each object of the corpus must end as: COMPLETE with these totals, or not complete with a reason matching. */
type Expected = { complete: { recordsIn: number; recordsOut: number; recordsRejected: number; rejected?: string } } | { failed: RegExp };

function corpus(): Array<{ key: string; body: Buffer; expected: Expected }> {
  const bomb = gzipSync(Buffer.from(`{"t":"${'a'.repeat(1000)}"}\n`.repeat(1024)), { level: 9 });
  return [
    {
      key: 'hostile/deep.jsonl',
      body: jsonl([...records('deep', 100), `{"id":"too-deep","v":${'['.repeat(5000)}${']'.repeat(5000)}}`, ...records('deep2', 100)]),
      expected: { complete: { recordsIn: 201, recordsOut: 200, recordsRejected: 1, rejected: 'too-deep' } },
    },
    {
      key: 'hostile/huge-line.jsonl',
      body: Buffer.concat([jsonl(records('huge', 50)), Buffer.from(`{"id":"huge","t":"`), Buffer.alloc(HUGE_LINE_BYTES, 'h'), Buffer.from('"}\n'), jsonl(records('huge2', 50))]),
      expected: { complete: { recordsIn: 101, recordsOut: 100, recordsRejected: 1, rejected: 'record-too-large' } },
    },
    { key: 'hostile/flat.jsonl', body: Buffer.alloc(3 * MiB, 'x'), expected: { complete: { recordsIn: 1, recordsOut: 0, recordsRejected: 1, rejected: 'record-too-large' } } },
    {
      key: 'hostile/bad-utf8.jsonl',
      body: Buffer.concat([jsonl(records('utf', 10)), Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d, 0x0a]), jsonl(records('utf2', 10))]),
      expected: { complete: { recordsIn: 21, recordsOut: 20, recordsRejected: 1, rejected: 'invalid-utf8' } },
    },
    { key: 'hostile/data.jsonl.zst', body: zstdCompress(jsonl(records('zstd', 1000))), expected: { complete: { recordsIn: 1000, recordsOut: 1000, recordsRejected: 0 } } },
    { key: 'hostile/data.jsonl.bz2', body: Buffer.from('BZh91AY&SY not really'), expected: { failed: /unsupported compression: bzip2/ } },
    { key: 'hostile/archive.zip', body: Buffer.from('PK\x03\x04'), expected: { failed: /zip archive/ } },
    { key: 'hostile/bomb.jsonl.gz', body: Buffer.concat(Array.from({ length: 96 }, () => bomb)), expected: { failed: /maxCompressionRatio/ } },
    { key: 'hostile/empty.jsonl', body: Buffer.alloc(0), expected: { complete: { recordsIn: 0, recordsOut: 0, recordsRejected: 0 } } },
    // A key of S3's maximum length (1,024 bytes): manifests and ledger keys must stay within their limits.
    { key: `hostile/${'k'.repeat(1024 - 'hostile/'.length - '.jsonl'.length)}.jsonl`, body: jsonl(records('long', 30)), expected: { complete: { recordsIn: 30, recordsOut: 30, recordsRejected: 0 } } },
  ];
}

/** Peak resident memory of a process (VmHWM), in bytes. */
function peakRss(pid: number): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(match?.[1] ?? 0) * 1024;
}

describe('hostile input through the local pipeline (2 agents, local endpoint)', () => {
  let env: LocalEnvironment;
  let target: Target;
  let ledger: ObjectLedger;

  beforeAll(async () => {
    env = await startLocalEnvironment({
      agents: 2,
      stateDir: mkdtempSync(join(tmpdir(), 'shardline-hostile-')),
      config: { chunkSizeBytes: 4 * MiB, replicationFactor: 1, concurrencyPerNode: CONCURRENCY, dataset: { maxRecordBytes: MAX_RECORD_BYTES } },
    });
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'test' };
    ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  }, 120_000);
  afterAll(async () => env?.stop());

  const put = (key: string, body: Buffer) => target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: body }));
  const settled = (o: ObjectItem | undefined) =>
    o && (o.status === 'COMPLETE' || ((o.status === 'FAILED' || (o.status as string) === 'QUARANTINED') && Boolean(o.lastError ?? (o as { quarantineReason?: string }).quarantineReason)));

  it('ends every object COMPLETE with exact accounting or FAILED with a reason, within the memory bound, and completes a healthy object after', async () => {
    const objects = corpus();
    for (const { key, body } of objects) await put(key, body);
    // Duplicate S3 events for an object already dropped: planned once.
    const duplicate = JSON.stringify({ Records: [{ eventName: 'ObjectCreated:Put', s3: { bucket: { name: target.resources.ingestBucket }, object: { key: 'hostile/deep.jsonl', size: 1 } } }] });
    for (let i = 0; i < 2; i++) await target.clients.sqs.send(new SendMessageCommand({ QueueUrl: target.resources.ingestEventsQueueUrl, MessageBody: duplicate }));

    const items = await waitFor(async () => {
      const all = await ledger.list();
      const found = objects.map(({ key }) => all.find((o) => o.key === key));
      return found.every(settled) ? (found as ObjectItem[]) : undefined;
    }, 100_000);

    for (const [i, { key, expected }] of objects.entries()) {
      const item = items[i];
      if ('failed' in expected) {
        expect({ key, status: item.status }).toEqual({ key, status: expect.stringMatching(/^(FAILED|QUARANTINED)$/) });
        expect(`${item.lastError ?? ''} ${(item as { quarantineReason?: string }).quarantineReason ?? ''}`).toMatch(expected.failed);
        continue;
      }
      expect({ key, status: item.status }).toEqual({ key, status: 'COMPLETE' });
      const { manifest, problems } = await verifyObject(target, item.objectId);
      expect({ key, problems }).toEqual({ key, problems: [] });
      const { rejected, ...totals } = expected.complete;
      expect({ key, totals: manifest.totals }).toMatchObject({ key, totals: { ...totals, recordsFiltered: 0 } });
      if (rejected) expect({ key, rejected: item.recordsRejected }).toEqual({ key, rejected: 1 });
    }
    expect((await ledger.list()).filter((o) => o.key === 'hostile/deep.jsonl')).toHaveLength(1);

    // No agent held the 100 MB line (811 MiB of RSS before the limit) nor the 96 MiB the bomb grows to.
    const peaks = env.agents.map((a) => peakRss(a.process.pid as number));
    console.log(`agent peak RSS (VmHWM): ${peaks.map((b) => `${(b / MiB).toFixed(0)} MiB`).join(', ')}`);
    for (const peak of peaks) expect(peak).toBeLessThan(RSS_BOUND);

    const healthy = records('healthy', 500);
    await put('after/healthy.jsonl', jsonl(healthy));
    const done = await waitFor(async () => (await ledger.list()).find((o) => o.key === 'after/healthy.jsonl' && o.status === 'COMPLETE'), 60_000);
    const verification = await verifyObject(target, done.objectId);
    expect(verification.problems).toEqual([]);
    expect([...verification.ids].sort()).toEqual(healthy.map((l) => (JSON.parse(l) as { id: string }).id).sort());
  }, 240_000);
});
