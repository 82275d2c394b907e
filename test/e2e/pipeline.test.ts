import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients } from '../../lib/aws/clients';
import { chunkIdOf } from '../../lib/chunking/chunk';
import type { Target } from '../../lib/aws/target';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { presentReplicas, verifyObject } from '../../local/verify';
import { waitFor } from '../support/wait';

/** A JSON Lines body with `valid` good records (unicode, CRLF, blank lines) and 3 bad lines. */
function dataset(valid: number): { body: string; ids: string[]; bad: number } {
  const ids: string[] = [];
  const lines: string[] = [];
  for (let i = 0; i < valid; i++) {
    const id = `rec-${i}`;
    ids.push(id);
    lines.push(JSON.stringify({ id, text: `sample ${i} — naïve café ✓ ${'x'.repeat(i % 300)}` }) + (i % 7 === 0 ? '\r' : ''));
    if (i % 500 === 0) lines.push('');
    if (i === 100) lines.push('{"id": "broken", "text": ');
    if (i === 2000) lines.push('[1, 2, 3]');
    if (i === 4000) lines.push('not json at all');
  }
  return { body: lines.join('\n'), ids, bad: 3 };
}

describe('pipeline end to end (3 agents, local endpoint)', () => {
  let env: LocalEnvironment;
  let target: Target;

  beforeAll(async () => {
    env = await startLocalEnvironment({
      agents: 3,
      stateDir: mkdtempSync(join(tmpdir(), 'shardline-e2e-')),
      config: { chunkSizeBytes: 128 * 1024, replicationFactor: 2 },
    });
    const clients = createAwsClients({ endpoint: env.state.endpoint, region: env.state.region });
    target = { clients, resources: env.state.resources, label: 'test' };
  }, 120_000);

  afterAll(async () => {
    await env?.stop();
  });

  it('delivers exactly the valid records of a multi-chunk file, each once, placed on R nodes', async () => {
    const { body, ids, bad } = dataset(6000);
    const key = 'incoming/run 1/train data ✓.jsonl';
    await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: body }));

    const ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
    const object = await waitFor(async () => (await ledger.list()).find((o) => o.key === key && o.status === 'COMPLETE'), 90_000);
    expect(object.chunkCount).toBeGreaterThan(5);

    const verification = await verifyObject(target, object.objectId);
    expect(verification.problems).toEqual([]);
    expect(verification.manifest.totals).toMatchObject({ recordsIn: ids.length + bad, recordsOut: ids.length, recordsRejected: bad, recordsFiltered: 0 });
    expect([...verification.ids].sort()).toEqual([...ids].sort());

    const nodeIds = env.state.agents.map((a) => a.nodeId);
    const replicas = await waitFor(async () => {
      const present = await presentReplicas(target, nodeIds);
      const short = verification.manifest.shards.filter((s) => (present.get(chunkIdOf(object.objectId, s.chunk))?.length ?? 0) < 2);
      return short.length === 0 ? present : undefined;
    }, 30_000);
    expect(replicas.size).toBe(object.chunkCount);
  }, 150_000);
});
