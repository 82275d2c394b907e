import { ACTIVE_CONTROL_WINDOW_MS, CHORES_EVERY_MS, LeaderChores } from '../../../lib/agent/leader-chores';
import type { DesiredState } from '../../../lib/control/control-state';
import { memoryLog } from './fakes';
import { VirtualClock } from './virtual-clock';

const START = 1_000_000_000;

/** Chores run every second, as the leader's timer runs them; `lastActionAgoMs` sets how recent the last control action is. */
function setup(opts: { desired?: DesiredState; lastActionAgoMs: number }) {
  const clock = new VirtualClock(START);
  const log = memoryLog();
  const published: number[] = [];
  const finalized: number[] = [];
  const settled: number[] = [];
  const deadLetterLooks: number[] = [];
  let failPublish = false;
  const chores = new LeaderChores({
    publishActivity: async (now) => {
      published.push(now - START);
      if (failPublish) throw new Error('control table throttled');
    },
    finalizeObjects: async () => (finalized.push(clock.now() - START), ['obj-1']),
    settleRuns: async () => void settled.push(clock.now() - START),
    returnStrayDeadLetters: async () => void deadLetterLooks.push(clock.now() - START),
    desired: () => opts.desired ?? 'RUNNING',
    lastActionAt: () => START - opts.lastActionAgoMs,
    clock,
    log,
  });
  clock.every(CHORES_EVERY_MS, () => void chores.run());
  return { clock, log, published, finalized, settled, deadLetterLooks, failPublishing: () => (failPublish = true) };
}

const idle = { lastActionAgoMs: ACTIVE_CONTROL_WINDOW_MS + 1 };

describe('LeaderChores', () => {
  it('publishes the activity every second when a control action is recent', async () => {
    const { clock, published } = setup({ lastActionAgoMs: 0 });
    await clock.advance(5000);
    expect(published).toEqual([1000, 2000, 3000, 4000, 5000]);
  });

  it('publishes the activity every second when the pipeline is not simply running', async () => {
    const { clock, published } = setup({ ...idle, desired: 'PAUSED' });
    await clock.advance(3000);
    expect(published).toEqual([1000, 2000, 3000]);
  });

  it('publishes the activity every 10 s when running with no recent action', async () => {
    const { clock, published } = setup(idle);
    await clock.advance(30_000);
    expect(published).toEqual([1000, 11_000, 21_000]);
  });

  it('goes back to every 10 s when the last action leaves the 10-minute window', async () => {
    const { clock, published } = setup({ lastActionAgoMs: ACTIVE_CONTROL_WINDOW_MS - 3000 });
    await clock.advance(15_000);
    // The window closes at 3 s: from then on, 10 s after the last publish.
    expect(published).toEqual([1000, 2000, 12_000]);
  });

  it('finalizes unfinished objects every 5 s and settles runs every 2 s when leading', async () => {
    const { clock, log, finalized, settled } = setup(idle);
    await clock.advance(10_000);
    expect(finalized).toEqual([1000, 6000]);
    expect(settled).toEqual([1000, 3000, 5000, 7000, 9000]);
    expect(log.said('finalized objects their last committer left unfinished')).toBe(2);
  });

  it('looks at the work DLQ for stray messages every 30 s', async () => {
    const { clock, deadLetterLooks } = setup(idle);
    await clock.advance(65_000);
    expect(deadLetterLooks).toEqual([1000, 31_000, 61_000]);
  });

  it('logs a failed chore and skips the rest of that round when publishing fails', async () => {
    const { clock, log, published, finalized, settled, failPublishing } = setup({ lastActionAgoMs: 0 });
    failPublishing();
    await clock.advance(2000);
    expect(published).toEqual([1000, 2000]);
    expect(finalized).toEqual([]);
    expect(settled).toEqual([]);
    expect(log.said('leader chore failed')).toBe(2);
  });
});
