import { checkpointRows, renderCheckpointRows, withCheckpointAttributes } from '../../../lib/observability/checkpoint-rows';

const T0 = Date.parse('2026-11-30T07:00:00Z');
const step = (job: string, n: number, state: string, ranks: number[], worldSize = 2, completedAt?: number) => ({
  pk: `CKPT#${job}`,
  sk: `STEP#${String(n).padStart(12, '0')}`,
  job,
  step: n,
  state,
  worldSize,
  attempt: 0,
  ranks: new Set(ranks),
  createdAt: T0,
  ...(completedAt ? { completedAt, committedBy: 'host-a' } : {}),
});
const part = (job: string, n: number, rank: number, state: string) => ({
  pk: `CKPT#${job}`,
  sk: `PART#${n}#RANK#${rank}`,
  job,
  step: n,
  rank,
  state,
  node: `host-${rank}`,
  bytes: 1e6,
  saveId: `s${n}${rank}`,
  startedAt: T0,
});

describe('checkpointRows', () => {
  const items = [
    { pk: 'OBJ#abc', sk: 'OBJECT', status: 'COMPLETE' },
    step('llm', 5, 'PENDING', [0]), // older than the latest complete step: abandoned, not "not yet complete"
    step('llm', 10, 'COMPLETE', [0, 1], 2, T0 + 60_000),
    step('llm', 20, 'PENDING', [1]),
    step('llm', 30, 'PENDING', []),
    part('llm', 20, 1, 'DURABLE'),
    part('llm', 30, 0, 'PENDING'),
    { pk: 'CKPT#llm', sk: 'COMPLETE#000000000010', step: 10 },
    step('asr', 1, 'PENDING', [], 4),
  ];

  it('gives each job its latest complete step, the newer steps not complete yet and the parts uploading', () => {
    const rows = checkpointRows(items, T0 + 90_000);
    expect(rows.map((r) => r.job)).toEqual(['asr', 'llm']);
    expect(rows[1]).toEqual({
      job: 'llm',
      latestComplete: 10,
      latestCompletedAt: '2026-11-30T07:01:00.000Z',
      pendingSteps: [
        { step: 30, ranksDurable: 0, worldSize: 2 },
        { step: 20, ranksDurable: 1, worldSize: 2 },
      ],
      uploading: [{ step: 30, rank: 0, node: 'host-0', bytes: 1e6, saveId: 's300', startedAt: '2026-11-30T07:00:00.000Z', ageMs: 90_000 }],
    });
    expect(rows[0]).toEqual({ job: 'asr', pendingSteps: [{ step: 1, ranksDurable: 0, worldSize: 4 }], uploading: [] });
  });

  it('renders a CHECKPOINTS section, and nothing without jobs', () => {
    const text = renderCheckpointRows(checkpointRows(items, T0 + 90_000)).join('\n');
    expect(text).toContain('CHECKPOINTS (2 jobs)');
    expect(text).toContain('llm\t10\t2026-11-30T07:01:00.000Z\t30 (0/2 ranks), 20 (1/2 ranks)\t1 parts, 1.0 MB');
    expect(text).toContain('llm step 30 rank 0: 1.0 MB from host-0, uploading for 90 s');
    expect(renderCheckpointRows([])).toEqual([]);
  });

  it('adds its attributes to a projection without naming a path twice', () => {
    const merged = withCheckpointAttributes(['pk', 'sk', 'status', 'attempt']);
    expect(new Set(merged).size).toBe(merged.length);
    expect(merged).toEqual(expect.arrayContaining(['status', 'state', 'ranks', 'startedAt']));
  });
});
