import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { mkdtempSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAwsClients } from '../../lib/aws/clients';
import { ControlTable } from '../../lib/control/control-state';
import { enqueueChunks } from '../../lib/chunker/chunker';
import { planChunks } from '../../lib/chunking/plan';
import type { Target } from '../../lib/aws/target';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { stopLocalAgent } from '../../local/agent-processes';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { startLocalEnvironment, type LocalEnvironment } from '../../local/environment';
import { verifyObject } from '../../local/verify';
import { listKeys } from '../../lib/storage/list-keys';
import { redrive } from '../../lib/ops/redrive';
import { waitFor } from '../support/wait';

const lines = (prefix: string, n: number, bad = 0) =>
  [...Array.from({ length: n }, (_, i) => JSON.stringify({ id: `${prefix}-${i}`, text: `record ${i} ${'z'.repeat(i % 200)}` })), ...Array(bad).fill('{oops')].join('\n');

/** How many duplicate chunk messages the agents recognised (and deleted) so far. */
async function duplicatesSeen(env: LocalEnvironment): Promise<number> {
  let n = 0;
  for (const a of env.state.agents) n += ((await readFile(a.logFile, 'utf8').catch(() => '')).match(/"chunk duplicate"/g) ?? []).length;
  return n;
}

/** A queue subscribed to the notices topic (raw delivery). */
async function subscribeQueue(target: Target, name: string): Promise<string> {
  const url = (await target.clients.sqs.send(new CreateQueueCommand({ QueueName: name }))).QueueUrl as string;
  const arn = (await target.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  await target.clients.sns.send(new SubscribeCommand({ TopicArn: target.resources.runNoticesTopicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: 'true' } }));
  return url;
}

async function receiveBodies(target: Target, queueUrl: string): Promise<string[]> {
  const out = await target.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
  return (out.Messages ?? []).map((m) => m.Body as string);
}

async function depth(target: Target, queueUrl: string): Promise<number> {
  const out = await target.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
  return Number(out.Attributes?.ApproximateNumberOfMessages) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible);
}

describe('poison chunks, full restarts and duplicates (local endpoint, real agents)', () => {
  let moto: MotoServer;
  let target: Target;
  let ledger: ObjectLedger;
  const stateDir = mkdtempSync(join(tmpdir(), 'shardline-restart-'));
  const config = { chunkSizeBytes: 96 * 1024, replicationFactor: 2 };

  beforeAll(async () => {
    moto = await startMotoServer();
  });
  afterAll(async () => {
    await moto?.stop();
  });

  const connect = (env: LocalEnvironment) => {
    target = { clients: createAwsClients({ endpoint: env.state.endpoint, region: env.state.region }), resources: env.state.resources, label: 'test' };
    ledger = new ObjectLedger(target.clients.doc, target.resources.ledgerTable);
  };
  const objectByKey = async (key: string) => (await ledger.list()).find((o) => o.key === key);
  /** The object's state and its chunks not PROCESSED (status, holder, lease expiry, attempts): why a wait ran out. */
  const unfinished = async (key: string) => {
    const o = await objectByKey(key);
    if (!o) return 'object not in the ledger';
    const open = (await ledger.chunks(o.objectId)).filter((c) => c.status !== 'PROCESSED');
    const now = Date.now();
    const rows = open.map((c) => `${c.index} ${c.status} owner ${c.leaseOwner || '-'} lease ${Math.round((c.leaseExpiresAt - now) / 1000)} s attempt ${c.attempt} failures ${c.failures ?? 0}`);
    return `object ${o.status}, ${o.chunksDone}/${o.chunkCount} chunks done; not processed: ${rows.join('; ') || 'none'}`;
  };

  it('quarantines a poison object (DLQ, SNS notice) while a healthy one completes, and completes it exactly once after a fix and a redrive', async () => {
    const env = await startLocalEnvironment({ endpoint: moto.endpoint, agents: 2, stateDir, config, agentArgs: ['--fail-keys', '^poison/'] });
    try {
      connect(env);
      const notices = await subscribeQueue(target, 'poison-notices');
      await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: 'poison/a.jsonl', Body: lines('p', 300) }));
      const quarantined = await waitFor(async () => {
        const o = await objectByKey('poison/a.jsonl');
        return o?.status === 'QUARANTINED' && (await depth(target, target.resources.workDlqUrl)) === 1 ? o : undefined;
      }, 90_000);
      expect(quarantined).toMatchObject({ failedChunks: 1, quarantineReason: expect.stringContaining('injected fault'), lastError: expect.stringContaining('injected fault') });

      // The rest of the pipeline runs on: a healthy object dropped now completes, nothing is paused.
      await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: 'healthy/b.jsonl', Body: lines('h', 200) }));
      const healthy = await waitFor(async () => ((await objectByKey('healthy/b.jsonl'))?.status === 'COMPLETE' ? objectByKey('healthy/b.jsonl') : undefined), 60_000);
      expect((await verifyObject(target, healthy!.objectId)).ids.size).toBe(200);
      expect((await new ControlTable(target.clients.doc, target.resources.controlTable).state()).desired).toBe('RUNNING');
      expect((await objectByKey('poison/a.jsonl'))?.status).toBe('QUARANTINED');

      // One notice, published by the agent that quarantined it.
      const notice = await waitFor(async () => (await receiveBodies(target, notices)).find((b) => b.includes('object-quarantined')), 30_000);
      expect(JSON.parse(notice)).toMatchObject({ objectId: quarantined.objectId, source: { key: 'poison/a.jsonl' }, reason: quarantined.quarantineReason });

      // The fix: agents without the fault, then the redrive.
      for (const [i, agent] of env.agents.entries()) {
        await stopLocalAgent(agent);
        await env.restartAgent(i + 1, []);
      }
      const result = await redrive({ sqs: target.clients.sqs, doc: target.clients.doc, ledgerTable: target.resources.ledgerTable }, target.resources.workDlqUrl, target.resources.workQueueUrl);
      expect(result).toEqual({ moved: 1, objectsReopened: 1, chunksResent: 0 });

      const done = await waitFor(async () => ((await objectByKey('poison/a.jsonl'))?.status === 'COMPLETE' ? objectByKey('poison/a.jsonl') : undefined), 60_000);
      const verification = await verifyObject(target, done!.objectId);
      expect(verification.problems).toEqual([]);
      expect(verification.ids.size).toBe(300);
    } finally {
      await env.stop();
    }
  }, 300_000);

  it('resumes from the ledger after every agent and the chunker stop mid-run, losing and duplicating nothing', async () => {
    const key = 'restart/data.jsonl';
    const first = await startLocalEnvironment({ endpoint: moto.endpoint, agents: 3, stateDir, config });
    connect(first);
    await target.clients.s3.send(new PutObjectCommand({ Bucket: target.resources.ingestBucket, Key: key, Body: lines('r', 12_000, 4) }));
    await waitFor(
      async () => {
        const o = await objectByKey(key);
        return o && o.chunksDone >= o.chunkCount / 4 && o.chunksDone < o.chunkCount;
      },
      90_000,
      100,
    );
    for (const agent of first.agents) agent.process.kill('SIGKILL');
    await first.stop();
    const midway = await objectByKey(key);
    expect(midway?.status).not.toBe('COMPLETE');

    const second = await startLocalEnvironment({ endpoint: moto.endpoint, agents: 3, stateDir, config });
    try {
      // Each rejoining agent hands back its previous incarnation's leases at once; a lease whose
      // hand-back misses (its message was taken by a poll the kill left open) runs out within the
      // lease (visibilityTimeoutSeconds, 120 s) instead, so the wait allows for one full lease. A
      // message those polls pushed into the DLQ is returned by the leader within 30 s.
      const done = await waitFor(async () => ((await objectByKey(key))?.status === 'COMPLETE' ? objectByKey(key) : undefined), 200_000).catch(async (err: Error) => {
        throw new Error(`${err.message}; ${await unfinished(key)}`);
      });
      const verification = await verifyObject(target, done!.objectId);
      expect(verification.problems).toEqual([]);
      expect(verification.ids.size).toBe(12_000);
      expect(verification.manifest.totals).toMatchObject({ recordsIn: 12_004, recordsRejected: 4 });
      // Outputs of attempts cut short by the kill are gone: only committed files remain.
      const files = await listKeys(target.clients.s3, target.resources.processedBucket, [`shards/${done!.objectId}/`]);
      expect(files.sort()).toEqual(verification.manifest.shards.map((s) => s.key).sort());

      // Every chunk message once more (duplicates): nothing changes.
      const again = planChunks({ bucket: done!.bucket, key, versionId: done!.versionId, etag: done!.etag, size: done!.size }, done!.chunkSizeBytes);
      const before = await duplicatesSeen(second);
      await enqueueChunks(target.clients.sqs, target.resources.workQueueUrl, again.chunks);
      await waitFor(async () => (await duplicatesSeen(second)) - before >= again.chunks.length, 60_000);
      expect(await objectByKey(key)).toMatchObject({ recordsIn: 12_004, recordsOut: 12_000, chunksDone: done!.chunkCount, manifestKey: done!.manifestKey });
    } finally {
      await second.stop();
    }
  }, 380_000);
});
