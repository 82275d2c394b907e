import { PutObjectCommand } from '@aws-sdk/client-s3';
import { SubscribeCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { handleChunkMessage, type ChunkWorkerDeps } from '../../lib/agent/chunk-worker';
import { chunkObject } from '../../lib/chunker/chunker';
import { parsePipelineConfig } from '../../lib/config/pipeline-config';
import { ObjectLedger } from '../../lib/ledger/object-ledger';
import { objectOutcomeHook, type ObjectOutcome } from '../../lib/ledger/object-outcome';
import { redrive } from '../../lib/ops/redrive';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { localWorker } from '../support/chunk-work';
import { waitFor } from '../support/wait';

type Logged = { level: string; message: string; fields: Record<string, unknown> };

/**
 * A chunk that fails on every receive quarantines its object (status, reason, logs, one SNS
 * notice per object) while other objects complete; `redrive` releases it after a fix.
 */
describe('quarantine and release (real SDK clients, local endpoint)', () => {
  let env: ProvisionedEndpoint;
  let noticesQueueUrl: string;
  // Two chunks per object: 600 lines, about 18 KB, over 10 KiB chunks.
  const config = parsePipelineConfig({ chunkSizeBytes: 10 * 1024 });
  const body = (n: number) => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: `record ${i}` })).join('\n') + '\n';

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    const { sqs, sns } = env.clients;
    noticesQueueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'quarantine-notices' }))).QueueUrl as string;
    const arn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: noticesQueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    await sns.send(new SubscribeCommand({ TopicArn: env.resources.runNoticesTopicArn, Protocol: 'sqs', Endpoint: arn, Attributes: { RawMessageDelivery: 'true' } }));
  }, 60_000);
  afterAll(async () => env?.server.stop());
  beforeEach(async () => {
    for (const q of [env.resources.workQueueUrl, env.resources.workDlqUrl, noticesQueueUrl]) await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: q }));
  });

  /** Uploads and plans an object; returns its id and its chunk messages (received once). */
  async function planned(key: string, lines = 600): Promise<{ objectId: string; messages: Message[] }> {
    const { clients, resources } = env;
    await clients.s3.send(new PutObjectCommand({ Bucket: resources.ingestBucket, Key: key, Body: body(lines) }));
    const objects = new ObjectLedger(clients.doc, resources.ledgerTable);
    const plan = await chunkObject(
      { s3: clients.s3, sqs: clients.sqs, objects, workQueueUrl: resources.workQueueUrl, processedBucket: resources.processedBucket, config },
      { bucket: resources.ingestBucket, key, eventName: 'ObjectCreated:Put' },
    );
    return { objectId: plan.objectId as string, messages: await receiveAll(resources.workQueueUrl, plan.chunks as number) };
  }

  async function receiveAll(queueUrl: string, n: number): Promise<Message[]> {
    const got: Message[] = [];
    for (let i = 0; i < 20 && got.length < n; i++) {
      const out = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageSystemAttributeNames: ['All'] }));
      got.push(...(out.Messages ?? []));
    }
    return got;
  }

  function worker(logs: Logged[], outcomes: ObjectOutcome[], over: Partial<ChunkWorkerDeps> = {}): ChunkWorkerDeps {
    const log = (level: string, message: string, fields?: Record<string, unknown>) => logs.push({ level, message, fields: fields ?? {} });
    const notices = { sns: env.clients.sns, topicArn: env.resources.runNoticesTopicArn };
    return localWorker(env, config, { nodeId: 'node-q', log, maxReceiveCount: 3, onObjectOutcome: objectOutcomeHook({ record: (o) => outcomes.push(o), notices, log }), ...over });
  }

  /** Handles a message as its `n`-th receive. */
  const receive = (m: Message, n: number): Message => ({ ...m, Attributes: { ...m.Attributes, ApproximateReceiveCount: String(n) } });

  it('quarantines an object whose chunks fail on every receive, with one notice, while another object completes', async () => {
    const poison = await planned('q/poison.jsonl');
    const healthy = await planned('q/healthy.jsonl');
    expect(poison.messages).toHaveLength(2);
    const logs: Logged[] = [];
    const outcomes: ObjectOutcome[] = [];
    const deps = worker(logs, outcomes, { failKeys: /poison/ });

    for (const n of [1, 2, 3]) for (const m of poison.messages) expect(await handleChunkMessage(deps, receive(m, n))).toMatchObject({ result: 'failed', errorKind: 'injected' });
    for (const m of healthy.messages) expect(await handleChunkMessage(deps, m)).toMatchObject({ result: 'processed' });

    const objects = new ObjectLedger(env.clients.doc, env.resources.ledgerTable);
    const q = await objects.get(poison.objectId);
    expect(q).toMatchObject({ status: 'QUARANTINED', failedChunks: 2, quarantineReason: expect.stringMatching(/^chunk \d: injected fault/), quarantinedAt: expect.any(String), unfinished: 'OPEN' });
    // Finalizing may run after the commit, off the chunk's critical path.
    expect(await waitFor(async () => (await objects.get(healthy.objectId))?.status === 'COMPLETE' && objects.get(healthy.objectId), 10_000)).toMatchObject({
      manifestKey: `manifests/${healthy.objectId}.json`,
    });
    const chunks = await objects.chunks(poison.objectId);
    expect(chunks.map((c) => [c.status, JSON.parse(c.message as string).chunkId])).toEqual([
      ['FAILED', `${poison.objectId}-000000`],
      ['FAILED', `${poison.objectId}-000001`],
    ]);
    expect(await objects.quarantinedIds()).toEqual([poison.objectId]);

    // One quarantine per object (its second failed chunk only adds to it), and the healthy one counted complete.
    expect(outcomes.map((o) => [o.outcome, o.objectId])).toEqual([
      ['quarantined', poison.objectId],
      ['complete', healthy.objectId],
    ]);
    expect(logs.filter((l) => l.message === 'object quarantined')).toEqual([
      {
        level: 'error',
        message: 'object quarantined',
        fields: expect.objectContaining({ objectId: poison.objectId, bucket: env.resources.ingestBucket, key: 'q/poison.jsonl', reason: q?.quarantineReason }),
      },
    ]);
    expect(logs.filter((l) => l.message === 'quarantined object: another chunk failed')).toHaveLength(1);

    const notices = await receiveAll(noticesQueueUrl, 1);
    expect(notices).toHaveLength(1);
    expect(JSON.parse(notices[0].Body as string)).toMatchObject({
      notice: 'object-quarantined',
      objectId: poison.objectId,
      source: { bucket: env.resources.ingestBucket, key: 'q/poison.jsonl' },
      reason: q?.quarantineReason,
      quarantinedAt: q?.quarantinedAt,
    });

    // After a fix: release it from the ledger alone; both chunks are sent again and complete it.
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: env.resources.workQueueUrl })); // the DLQ took the originals
    const released = await redrive({ sqs: env.clients.sqs, doc: env.clients.doc, ledgerTable: env.resources.ledgerTable }, env.resources.workDlqUrl, env.resources.workQueueUrl, {
      objectIds: [poison.objectId],
    });
    expect(released).toEqual({ moved: 0, objectsReopened: 1, chunksResent: 2 });
    expect(await objects.get(poison.objectId)).toMatchObject({ status: 'ENQUEUED', failedChunks: 0 });
    expect(await objects.get(poison.objectId)).not.toHaveProperty('quarantineReason');
    const fixed = worker([], outcomes);
    for (const m of await receiveAll(env.resources.workQueueUrl, 2)) expect(await handleChunkMessage(fixed, m)).toMatchObject({ result: 'processed', attempt: 4 });
    await waitFor(async () => (await objects.get(poison.objectId))?.status === 'COMPLETE', 10_000);
    expect(await objects.get(poison.objectId)).toMatchObject({ status: 'COMPLETE', recordsIn: 600, recordsOut: 600, failedChunks: 0 });
    expect(await objects.get(poison.objectId)).not.toHaveProperty('lastError');
    expect(outcomes.at(-1)).toMatchObject({ outcome: 'complete', objectId: poison.objectId });
  }, 120_000);

  it('redrive moves the DLQ back and sends again from the ledger only the failed chunks the DLQ no longer had', async () => {
    const poison = await planned('q/poison-dlq.jsonl');
    const deps = worker([], [], { failKeys: /poison/ });
    for (const n of [1, 2, 3]) for (const m of poison.messages) await handleChunkMessage(deps, receive(m, n));
    // Chunk 0's message is in the DLQ; chunk 1's expired from it.
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: env.resources.workQueueUrl }));
    await env.clients.sqs.send(new SendMessageCommand({ QueueUrl: env.resources.workDlqUrl, MessageBody: poison.messages[0].Body }));

    const result = await redrive({ sqs: env.clients.sqs, doc: env.clients.doc, ledgerTable: env.resources.ledgerTable }, env.resources.workDlqUrl, env.resources.workQueueUrl);

    expect(result).toEqual({ moved: 1, objectsReopened: 1, chunksResent: 1 });
    const back = await receiveAll(env.resources.workQueueUrl, 2);
    expect(back.map((m) => JSON.parse(m.Body as string).index).sort()).toEqual([0, 1]);
    const chunks = await new ObjectLedger(env.clients.doc, env.resources.ledgerTable).chunks(poison.objectId);
    expect(chunks.map((c) => c.failures)).toEqual([0, 0]);
  }, 120_000);
});
