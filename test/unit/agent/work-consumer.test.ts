import type { Message } from '@aws-sdk/client-sqs';
import type { ChunkReport } from '../../../lib/agent/chunk-work';
import { WorkConsumer } from '../../../lib/agent/work-consumer';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

/** A work queue and chunk worker in memory: a receive long-polls 2 s when the queue is empty; a chunk takes `chunkMs`. */
function setup(opts: { messages?: number; chunkMs?: number; configured?: number } = {}) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const queue: Message[] = Array.from({ length: opts.messages ?? 0 }, (_, i) => ({ MessageId: `m${i}`, Body: `chunk-${i}` }));
  const state = { paused: false, configured: opts.configured ?? 1, failReceives: 0, pauseWhileReceiving: false };
  const receives: number[] = [];
  const handled: Array<{ id?: string; at: number }> = [];
  const givenBack: string[] = [];
  let working = 0;
  let maxWorking = 0;
  const consumer = new WorkConsumer({
    receive: async ({ signal }) => {
      receives.push(clock.now());
      if (signal.aborted) throw new Error('aborted');
      if (state.failReceives > 0 && state.failReceives--) throw new Error('connection reset');
      const message = queue.shift();
      if (state.pauseWhileReceiving) {
        await clock.sleep(100);
        state.paused = true;
      }
      if (message) return [message];
      await Promise.race([clock.sleep(2000), new Promise((resolve) => signal.addEventListener('abort', resolve))]);
      if (signal.aborted) throw new Error('aborted');
      return [];
    },
    handle: async (message): Promise<ChunkReport> => {
      handled.push({ id: message.MessageId, at: clock.now() });
      maxWorking = Math.max(maxWorking, ++working);
      await clock.sleep(opts.chunkMs ?? 1000);
      working--;
      return { result: 'processed', chunkId: message.Body };
    },
    giveBack: async (message) => void givenBack.push(message.MessageId as string),
    leasingAllowed: () => !state.paused,
    configured: () => state.configured,
    clock,
    log,
  });
  return { clock, log, queue, state, consumer, receives, handled, givenBack, maxWorking: () => maxWorking, working: () => working };
}

describe('WorkConsumer', () => {
  it('waits 1 s before receiving again when a receive fails', async () => {
    const { clock, log, state, consumer, receives } = setup();
    state.failReceives = 1;
    consumer.start();
    await clock.advance(3000);
    expect(receives).toEqual([0, 1000, 3000]);
    expect(log.said('work loop error')).toBe(1);
  });

  it('looks again every 200 ms and receives nothing when leasing is paused', async () => {
    const { clock, state, consumer, receives } = setup({ messages: 1 });
    state.paused = true;
    consumer.start();
    await clock.advance(1000);
    expect(receives).toEqual([]);
    state.paused = false;
    await clock.advance(200);
    expect(receives).toEqual([1200]);
  });

  it('gives back a message when the pipeline was paused while receiving it', async () => {
    const { clock, state, consumer, handled, givenBack } = setup({ messages: 1 });
    state.pauseWhileReceiving = true;
    consumer.start();
    await clock.advance(500);
    expect(givenBack).toEqual(['m0']);
    expect(handled).toEqual([]);
    expect(consumer.inFlight).toBe(0);
  });

  it('works as many chunks at once as the config allows, and more when it allows more', async () => {
    const { clock, state, consumer, maxWorking } = setup({ messages: 20, chunkMs: 5000, configured: 2 });
    consumer.start();
    await clock.advance(1000);
    expect(consumer.inFlight).toBe(2);
    state.configured = 4;
    consumer.startWorkers();
    await clock.advance(1000);
    expect(consumer.inFlight).toBe(4);
    expect(maxWorking()).toBe(4);
  });

  it('ends the work loops above the concurrency when the config lowers it', async () => {
    const { clock, state, consumer, handled } = setup({ messages: 20, chunkMs: 1000, configured: 4 });
    consumer.start();
    await clock.advance(500);
    state.configured = 1;
    await clock.advance(2000);
    // Four chunks started at 0; once they end at 1 s, only one loop goes on.
    expect(handled.map((h) => h.at)).toEqual([0, 0, 0, 0, 1000, 2000]);
    expect(consumer.concurrency).toBe(1);
  });

  it('halves its concurrency at most once per 2 s when throttled, and grows by one after 10 chunks', async () => {
    const { clock, log, consumer } = setup({ messages: 10, chunkMs: 10, configured: 8 });
    consumer.throttled();
    consumer.throttled();
    expect(consumer.concurrency).toBe(4);
    await clock.advance(2000);
    consumer.throttled();
    expect(consumer.concurrency).toBe(2);
    expect(log.lines.filter((l) => l.message === 'throttled: lowering concurrency').map((l) => l.fields)).toEqual([
      { from: 8, to: 4 },
      { from: 4, to: 2 },
    ]);
    consumer.start();
    await clock.advance(1000);
    expect(consumer.chunksDone).toBe(10);
    expect(consumer.concurrency).toBe(3);
  });

  it('stops taking work and waits for the chunks in flight when drained', async () => {
    const { clock, consumer, receives, handled, queue } = setup({ messages: 10, chunkMs: 3000, configured: 2 });
    consumer.start();
    await clock.advance(1000);
    let drained = false;
    const draining = consumer.drain().then(() => (drained = true));
    await clock.advance(1999);
    expect(drained).toBe(false);
    expect(consumer.inFlight).toBe(2);
    await clock.advance(1);
    await draining;
    expect(consumer.inFlight).toBe(0);
    expect(consumer.chunksDone).toBe(2);
    expect(receives).toEqual([0, 0]);
    expect(handled).toHaveLength(2);
    expect(queue).toHaveLength(8);
    expect(clock.pending).toBe(0);
  });

  it('long-polls with one loop only while the queue is empty, and with every loop once work comes', async () => {
    const { clock, queue, consumer, receives, handled } = setup({ configured: 4, chunkMs: 1000 });
    consumer.start();
    await clock.advance(5000);
    // One loop polls (2 s each here), the three others wait for it.
    expect(receives).toEqual([0, 2000, 4000]);
    queue.push({ MessageId: 'a', Body: 'chunk-a' }, { MessageId: 'b', Body: 'chunk-b' }, { MessageId: 'c', Body: 'chunk-c' });
    await clock.advance(1000); // the poll at 4 s ends empty at 6 s; the next one takes 'a' and wakes the others
    await clock.advance(1000);
    expect(handled.map((h) => [h.id, h.at])).toEqual([
      ['a', 6000],
      ['b', 6000],
      ['c', 6000],
    ]);
  });

  it('cuts the idle poll short when drained', async () => {
    const { clock, consumer, receives, log } = setup({ configured: 2 });
    consumer.start();
    await clock.advance(500);
    let drained = false;
    const draining = consumer.drain().then(() => (drained = true));
    await clock.advance(0);
    await draining;
    expect(drained).toBe(true);
    expect(receives).toEqual([0]);
    expect(log.said('work loop error')).toBe(0);
  });
});
