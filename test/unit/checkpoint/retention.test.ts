import { choosePrunable, type StepSummary } from '../../../lib/checkpoint/retention';

const HOUR = 3600_000;
const complete = (...steps: number[]): StepSummary[] => steps.map((step) => ({ step, state: 'COMPLETE', createdAt: 0 }));

describe('choosePrunable', () => {
  it('keeps the newest K complete steps and prunes the older ones, oldest first', () => {
    expect(choosePrunable(complete(100, 200, 300, 400, 500), { keepLast: 2 }, 10 * HOUR)).toEqual([100, 200, 300]);
  });

  it('also keeps every Nth step', () => {
    expect(choosePrunable(complete(500, 1000, 1500, 2000, 2500, 3000), { keepLast: 1, keepEvery: 1000 }, 10 * HOUR)).toEqual([500, 1500, 2500]);
  });

  it('prunes nothing when no step is complete', () => {
    const pending: StepSummary[] = [100, 200].map((step) => ({ step, state: 'PENDING', createdAt: 0 }));
    expect(choosePrunable(pending, { keepLast: 1 }, 10 * HOUR)).toEqual([]);
  });

  it('never prunes an incomplete step newer than the newest complete one', () => {
    const steps: StepSummary[] = [...complete(100, 200), { step: 300, state: 'PENDING', createdAt: 0 }];
    expect(choosePrunable(steps, { keepLast: 1 }, 10 * HOUR)).toEqual([100]);
  });

  it('prunes an incomplete step behind the newest complete one only after the grace period', () => {
    const steps: StepSummary[] = [...complete(100, 300), { step: 200, state: 'PENDING', createdAt: 5 * HOUR }];
    expect(choosePrunable(steps, { keepLast: 2 }, 5 * HOUR + HOUR - 1)).toEqual([]);
    expect(choosePrunable(steps, { keepLast: 2 }, 6 * HOUR)).toEqual([200]);
  });

  it('finishes a pruning that was interrupted', () => {
    const steps: StepSummary[] = [...complete(300), { step: 100, state: 'PRUNING', createdAt: 0 }];
    expect(choosePrunable(steps, { keepLast: 5 }, 0)).toEqual([100]);
  });

  it('refuses to keep fewer than one step', () => {
    expect(() => choosePrunable(complete(1, 2), { keepLast: 0 }, 0)).toThrow(/keepLast/);
  });
});
