import { GetQueueAttributesCommand, PurgeQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { MAX_RETURNS, RETURNS_ATTRIBUTE, returnStrayDeadLetters } from '../../lib/agent/stray-dead-letters';
import { planChunks } from '../../lib/chunking/plan';
import { keys } from '../../lib/ledger/items';
import { memoryLog } from '../unit/agent/fakes';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';

/**
 * The leader's look at the work DLQ (real SDK clients, local endpoint): a message whose chunk never
 * failed goes back to the work queue, one whose chunk is processed is deleted, a poison one (its
 * chunk FAILED) and a body that is no chunk stay, visible, for the operator's redrive.
 */
describe('returnStrayDeadLetters (local endpoint)', () => {
  let env: ProvisionedEndpoint;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
  }, 60_000);
  afterAll(async () => env?.server.stop());
  beforeEach(async () => {
    for (const q of [env.resources.workQueueUrl, env.resources.workDlqUrl]) await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: q }));
  });

  const deps = () => ({ ...env.clients, ledgerTable: env.resources.ledgerTable, workQueueUrl: env.resources.workQueueUrl, workDlqUrl: env.resources.workDlqUrl, log: memoryLog() });
  const visible = async (queueUrl: string) =>
    Number((await env.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes?.ApproximateNumberOfMessages);
  const received = async (queueUrl: string) => {
    const { Messages = [] } = await env.clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, MessageAttributeNames: [RETURNS_ATTRIBUTE] }));
    return Messages;
  };
  const bodies = async (queueUrl: string) => (await received(queueUrl)).map((m) => m.Body as string);
  /** Chunk `index`'s item in the ledger with `status`, or none. */
  const chunkItem = (objectId: string, index: number, status?: 'LEASED' | 'PROCESSED' | 'FAILED') =>
    status && env.clients.doc.send(new PutCommand({ TableName: env.resources.ledgerTable, Item: { ...keys.chunk(objectId, index), objectId, index, status, attempt: 1 } }));

  it('returns the chunks that never failed, drops the processed one, and leaves poison and junk visible in the DLQ', async () => {
    const plan = planChunks({ bucket: 'b', key: 'data.jsonl', etag: 'e', size: 5 * 1024 }, 1024);
    const [untouched, leased, processed, failed] = plan.chunks;
    await chunkItem(plan.objectId, leased.index, 'LEASED');
    await chunkItem(plan.objectId, processed.index, 'PROCESSED');
    await chunkItem(plan.objectId, failed.index, 'FAILED');
    for (const body of [...[untouched, leased, processed, failed].map((c) => JSON.stringify(c)), 'not a chunk']) {
      await env.clients.sqs.send(new SendMessageCommand({ QueueUrl: env.resources.workDlqUrl, MessageBody: body }));
    }

    const look = deps();
    expect(await returnStrayDeadLetters(look)).toEqual({ returned: 2, dropped: 1, kept: 2 });
    expect(look.log.said('returned work messages the DLQ took from polls of dead agents')).toBe(1);

    const back = await received(env.resources.workQueueUrl);
    expect(back.map((m) => (JSON.parse(m.Body as string) as { index: number }).index).sort()).toEqual([untouched.index, leased.index].sort());
    expect(back.map((m) => m.MessageAttributes?.[RETURNS_ATTRIBUTE]?.StringValue)).toEqual(['1', '1']); // counted
    // What stays is visible at once, for `shardline redrive`.
    expect(await visible(env.resources.workDlqUrl)).toBe(2);
    expect((await bodies(env.resources.workDlqUrl)).sort()).toEqual([JSON.stringify(failed), 'not a chunk'].sort());
    // A second look changes nothing.
    expect(await returnStrayDeadLetters(deps())).toEqual({ returned: 0, dropped: 0, kept: 2 });
  }, 60_000);

  it(`keeps a message it has returned ${MAX_RETURNS} times already (a chunk that kills every agent taking it)`, async () => {
    const plan = planChunks({ bucket: 'b', key: 'killer.jsonl', etag: 'e', size: 1024 }, 1024);
    const [chunk] = plan.chunks;
    await chunkItem(plan.objectId, chunk.index, 'LEASED');
    const attributes = (n: number) => ({ [RETURNS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(n) } });
    await env.clients.sqs.send(new SendMessageCommand({ QueueUrl: env.resources.workDlqUrl, MessageBody: JSON.stringify(chunk), MessageAttributes: attributes(MAX_RETURNS - 1) }));
    expect(await returnStrayDeadLetters(deps())).toEqual({ returned: 1, dropped: 0, kept: 0 });
    // Back in the DLQ once more (as SQS would move it after its receives), with the count it left with.
    const [again] = await received(env.resources.workQueueUrl);
    expect(again.MessageAttributes?.[RETURNS_ATTRIBUTE]?.StringValue).toBe(String(MAX_RETURNS));
    await env.clients.sqs.send(new PurgeQueueCommand({ QueueUrl: env.resources.workQueueUrl }));
    await env.clients.sqs.send(new SendMessageCommand({ QueueUrl: env.resources.workDlqUrl, MessageBody: again.Body as string, MessageAttributes: attributes(MAX_RETURNS) }));
    expect(await returnStrayDeadLetters(deps())).toEqual({ returned: 0, dropped: 0, kept: 1 });
    expect(await visible(env.resources.workQueueUrl)).toBe(0);
  }, 60_000);

  it('costs one receive when the DLQ is empty', async () => {
    let requests = 0;
    const look = deps();
    const sqs = { send: (command: unknown) => (requests++, env.clients.sqs.send(command as never)) } as unknown as typeof env.clients.sqs;
    expect(await returnStrayDeadLetters({ ...look, sqs })).toEqual({ returned: 0, dropped: 0, kept: 0 });
    expect(requests).toBe(1);
  }, 30_000);
});
