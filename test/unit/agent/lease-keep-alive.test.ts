import type { SQSClient } from '@aws-sdk/client-sqs';
import { keepAliveEveryMs, startKeepAlive } from '../../../lib/agent/lease-keep-alive';
import { LeaseLostError, type ChunkLease } from '../../../lib/ledger/chunk-ledger';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const lease: ChunkLease = { objectId: 'o', index: 0, chunkId: 'o#0', owner: 'node-a', attempt: 1, failures: 0 };

function setup(leaseMs: number) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const extended: number[] = [];
  const visibility: Array<{ at: number; seconds: number }> = [];
  let refuse: Error | undefined;
  const sqs = { send: async (cmd: { input: { VisibilityTimeout: number } }) => void visibility.push({ at: clock.now(), seconds: cmd.input.VisibilityTimeout }) } as unknown as SQSClient;
  const chunks = {
    extend: async () => {
      extended.push(clock.now());
      if (refuse) throw refuse;
    },
  };
  const keepAlive = startKeepAlive({ sqs, workQueueUrl: 'q', chunks, clock, log }, lease, 'receipt-1', leaseMs, { chunkId: lease.chunkId });
  return { clock, log, keepAlive, extended, visibility, refuseWith: (err: Error) => (refuse = err) };
}

describe('startKeepAlive', () => {
  it('extends the lease and the message visibility every third of the lease when the lease is long', async () => {
    const { clock, keepAlive, extended, visibility } = setup(300_000);
    await clock.advance(300_000);
    keepAlive.stop();
    expect(extended).toEqual([100_000, 200_000, 300_000]);
    expect(visibility).toEqual([100_000, 200_000, 300_000].map((at) => ({ at, seconds: 300 })));
  });

  it('extends at most once a second when the lease is short', () => {
    expect(keepAliveEveryMs(1500)).toBe(1000);
    expect(keepAliveEveryMs(30_000)).toBe(10_000);
  });

  it('throws from assertHeld once the ledger says the lease was lost', async () => {
    const { clock, keepAlive, refuseWith } = setup(3000);
    await clock.advance(1000);
    expect(() => keepAlive.assertHeld()).not.toThrow();
    refuseWith(new LeaseLostError('o#0', 1));
    await clock.advance(1000);
    expect(() => keepAlive.assertHeld()).toThrow(LeaseLostError);
    keepAlive.stop();
  });

  it('logs and keeps the lease when an extension fails for another reason', async () => {
    const { clock, log, keepAlive, refuseWith } = setup(3000);
    refuseWith(new Error('throttled'));
    await clock.advance(1000);
    expect(log.said('lease keep-alive failed')).toBe(1);
    expect(() => keepAlive.assertHeld()).not.toThrow();
    keepAlive.stop();
  });

  it('stops extending when stopped', async () => {
    const { clock, keepAlive, extended } = setup(3000);
    await clock.advance(1000);
    keepAlive.stop();
    await clock.advance(10_000);
    expect(extended).toEqual([1000]);
    expect(clock.pending).toBe(0);
  });
});
