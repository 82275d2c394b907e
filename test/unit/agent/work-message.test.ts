import type { Message, SQSClient } from '@aws-sdk/client-sqs';
import { lookAgainLater, receivesOf, returnUnworked } from '../../../lib/agent/work-message';
import { memoryLog } from './fakes';

/** An SQS client that records each command's name and input; `failDeletes` makes deletes fail. */
function fakeQueue(opts: { maxReceiveCount?: number; failDeletes?: boolean } = {}) {
  const sent: Array<{ command: string; input: Record<string, unknown> }> = [];
  const sqs = {
    send: async (cmd: { constructor: { name: string }; input: Record<string, unknown> }) => {
      sent.push({ command: cmd.constructor.name, input: cmd.input });
      if (opts.failDeletes && cmd.constructor.name === 'DeleteMessageCommand') throw new Error('receipt handle is invalid');
      return {};
    },
  } as unknown as SQSClient;
  const log = memoryLog();
  return { deps: { sqs, workQueueUrl: 'work', log, maxReceiveCount: opts.maxReceiveCount }, sent, log };
}

const received = (receives: number): Message => ({ MessageId: 'm1', ReceiptHandle: 'r1', Body: '{"chunk":1}', Attributes: { ApproximateReceiveCount: String(receives) } });

describe('receivesOf', () => {
  it('marks the receive that reaches maxReceiveCount as the last one before the DLQ', () => {
    expect(receivesOf({ maxReceiveCount: 3 }, received(2))).toEqual({ receives: 2, lastReceive: false });
    expect(receivesOf({ maxReceiveCount: 3 }, received(3))).toEqual({ receives: 3, lastReceive: true });
  });

  it('never marks a last receive when the queue has no DLQ', () => {
    expect(receivesOf({}, received(50))).toEqual({ receives: 50, lastReceive: false });
  });
});

describe('lookAgainLater', () => {
  it.each([
    ['just past the holder lease expiry when it expires soon', 1500, 3],
    ['after 5 s at most when the lease runs long', 300_000, 5],
    ['after 1 s when the lease already expired', -4000, 1],
  ])('makes the message visible again %s', async (_when, expiresInMs, seconds) => {
    const { deps, sent } = fakeQueue({ maxReceiveCount: 5 });
    expect(await lookAgainLater(deps, received(1), 10_000 + expiresInMs, 10_000, {})).toBe('busy');
    expect(sent).toEqual([{ command: 'ChangeMessageVisibilityCommand', input: { QueueUrl: 'work', ReceiptHandle: 'r1', VisibilityTimeout: seconds } }]);
  });

  it('re-sends the message fresh with the same delay, then deletes this one, when this is its last receive', async () => {
    const { deps, sent } = fakeQueue({ maxReceiveCount: 5 });
    expect(await lookAgainLater(deps, received(5), 11_500, 10_000, {})).toBe('requeued');
    expect(sent).toEqual([
      { command: 'SendMessageCommand', input: { QueueUrl: 'work', MessageBody: '{"chunk":1}', DelaySeconds: 3 } },
      { command: 'DeleteMessageCommand', input: { QueueUrl: 'work', ReceiptHandle: 'r1' } },
    ]);
  });
});

describe('returnUnworked', () => {
  it('makes the message visible at once when it has receives left', async () => {
    const { deps, sent } = fakeQueue({ maxReceiveCount: 3 });
    await returnUnworked(deps, received(1));
    expect(sent).toEqual([{ command: 'ChangeMessageVisibilityCommand', input: { QueueUrl: 'work', ReceiptHandle: 'r1', VisibilityTimeout: 0 } }]);
  });

  it('re-sends it fresh and logs, without failing, when the old copy cannot be deleted on its last receive', async () => {
    const { deps, sent, log } = fakeQueue({ maxReceiveCount: 3, failDeletes: true });
    await returnUnworked(deps, received(3));
    expect(sent.map((s) => s.command)).toEqual(['SendMessageCommand', 'DeleteMessageCommand']);
    expect(sent[0].input.DelaySeconds).toBe(0);
    expect(log.said('old chunk message not deleted (it dead-letters or comes back as a duplicate)')).toBe(1);
  });
});
