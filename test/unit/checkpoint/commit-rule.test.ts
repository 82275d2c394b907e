import { readyToCommit, registrationFor, type StepView } from '../../../lib/checkpoint/commit-rule';

const step = (over: Partial<StepView> = {}): StepView => ({ state: 'PENDING', worldSize: 3, attempt: 0, ranks: [], ...over });
const part = (rank: number, over: Partial<{ worldSize: number; attempt: number; saveId: string }> = {}) => ({ rank, worldSize: 3, attempt: 0, saveId: `s${rank}`, ...over });

describe('readyToCommit', () => {
  it('is false until every rank of the world is durable', () => {
    expect(readyToCommit(step({ ranks: [] }))).toBe(false);
    expect(readyToCommit(step({ ranks: [0, 2] }))).toBe(false);
    expect(readyToCommit(step({ ranks: [2, 0, 1] }))).toBe(true);
  });

  it('is false for a step that is already complete or being pruned', () => {
    expect(readyToCommit(step({ state: 'COMPLETE', ranks: [0, 1, 2] }))).toBe(false);
    expect(readyToCommit(step({ state: 'PRUNING', ranks: [0, 1, 2] }))).toBe(false);
  });

  it('is false when the set holds as many ranks as the world but not ranks 0..W-1', () => {
    expect(readyToCommit(step({ ranks: [0, 1, 5] }))).toBe(false);
  });

  it('is true for a world of one as soon as rank 0 is durable', () => {
    expect(readyToCommit(step({ worldSize: 1, ranks: [0] }))).toBe(true);
  });
});

describe('registrationFor', () => {
  it('adds the first part of a step, and further parts of the same attempt', () => {
    expect(registrationFor(undefined, part(0))).toEqual({ action: 'add' });
    expect(registrationFor(step({ ranks: [0] }), part(1))).toEqual({ action: 'add' });
  });

  it('says already when this very save is registered (an agent back from a crash)', () => {
    expect(registrationFor(step({ ranks: [0, 1] }), part(1), { saveId: 's1', attempt: 0 })).toEqual({ action: 'already', complete: false });
    expect(registrationFor(step({ state: 'COMPLETE', ranks: [0, 1, 2] }), part(1), { saveId: 's1', attempt: 0 })).toEqual({ action: 'already', complete: true });
  });

  it('refuses another save of a rank of a complete step', () => {
    expect(registrationFor(step({ state: 'COMPLETE', ranks: [0, 1, 2] }), part(1, { saveId: 'other' }), { saveId: 's1', attempt: 0 })).toMatchObject({ action: 'refuse' });
  });

  it('starts the step over for a newer attempt, so that a complete step never mixes attempts', () => {
    expect(registrationFor(step({ ranks: [0, 1], attempt: 1 }), part(2, { attempt: 2 }))).toEqual({ action: 'reset', from: 1 });
  });

  it('refuses a stale attempt and another world size', () => {
    expect(registrationFor(step({ attempt: 2, ranks: [0] }), part(1, { attempt: 1 }))).toMatchObject({ action: 'refuse', reason: expect.stringContaining('stale attempt') });
    expect(registrationFor(step({ ranks: [0] }), part(1, { worldSize: 4 }))).toMatchObject({ action: 'refuse', reason: expect.stringContaining('world size') });
  });

  it('refuses parts of a step being pruned', () => {
    expect(registrationFor(step({ state: 'PRUNING' }), part(0))).toMatchObject({ action: 'refuse' });
  });
});
