import { ReplicaKeeper } from '../../../lib/agent/replica-keeper';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

/** A puller whose passes pull what `results` says, in turn (an Error is a failed pass), then nothing. */
function setup(results: Array<number | Error>, passMs = 0) {
  const clock = new VirtualClock();
  const log = memoryLog();
  const passes: number[] = [];
  const puller = {
    pullOnce: async () => {
      passes.push(clock.now());
      if (passMs) await clock.sleep(passMs);
      const result = results.shift() ?? 0;
      if (result instanceof Error) throw result;
      return result;
    },
  };
  const keeper = new ReplicaKeeper({ puller, clock, log });
  return { clock, log, keeper, passes };
}

describe('ReplicaKeeper', () => {
  it('pulls again at once when a pass pulled shards, and after 500 ms when it pulled none', async () => {
    const { clock, keeper, passes } = setup([2, 1, 0, 0]);
    keeper.start();
    await clock.advance(1000);
    expect(passes).toEqual([0, 0, 0, 500]);
  });

  it('doubles its rest after every idle pass up to 10 s, so an idle node reads its replicas rarely', async () => {
    const { clock, keeper, passes } = setup([]);
    keeper.start();
    await clock.advance(60_000);
    // Rests of 0.5, 1, 2, 4, 8, then 10 s each.
    expect(passes.slice(0, 8)).toEqual([0, 500, 1500, 3500, 7500, 15_500, 25_500, 35_500]);
    expect(passes).toHaveLength(10);
  });

  it('passes at once and rests short again when poked', async () => {
    const { clock, keeper, passes } = setup([]);
    keeper.start();
    await clock.advance(20_000); // passes at 0, 0.5, 1.5, 3.5, 7.5, 15.5 s; resting 10 s now
    keeper.poke();
    await clock.advance(0);
    expect(passes.at(-1)).toBe(20_000);
    await clock.advance(600);
    expect(passes.at(-1)).toBe(20_500);
  });

  it('goes back to short rests after a pass pulled something', async () => {
    const { clock, keeper, passes } = setup([0, 0, 0, 0, 1]);
    keeper.start();
    await clock.advance(7500); // passes at 0, 0.5, 1.5, 3.5 s (nothing) and 7.5 s (one pulled), at once again
    expect(passes).toEqual([0, 500, 1500, 3500, 7500, 7500]);
    await clock.advance(500);
    expect(passes.at(-1)).toBe(8000);
  });

  it('waits 1 s when a pass fails', async () => {
    const { clock, log, keeper, passes } = setup([new Error('NoSuchKey'), 0]);
    keeper.start();
    await clock.advance(1500);
    expect(passes).toEqual([0, 1000, 1500]);
    expect(log.said('replica puller error')).toBe(1);
  });

  it('finishes the pass in progress and starts no other when stopped', async () => {
    const { clock, keeper, passes } = setup([3, 3, 3], 400);
    keeper.start();
    await clock.advance(100);
    let stopped = false;
    const stopping = keeper.stop().then(() => (stopped = true));
    await clock.advance(299);
    expect(stopped).toBe(false);
    await clock.advance(1);
    await stopping;
    expect(passes).toEqual([0]);
    expect(clock.pending).toBe(0);
  });
});
