import { buildLogQuery, levelRank, parseLevel, parseTime } from '../../../lib/logs/query';
import { parseDuration } from '../../../lib/units';

describe('parseDuration', () => {
  it('reads ms, s, m, h and d when given a number and a unit', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('10m')).toBe(600_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('2d')).toBe(172_800_000);
  });

  it('refuses a duration without a unit or with an unknown one', () => {
    expect(() => parseDuration('10')).toThrow(/expected a duration/);
    expect(() => parseDuration('10w')).toThrow(/expected a duration/);
    expect(() => parseDuration('-5m')).toThrow(/expected a duration/);
  });
});

describe('parseLevel', () => {
  it('normalizes any case and the aliases warning and fatal', () => {
    expect(parseLevel('warn')).toBe('WARN');
    expect(parseLevel('Warning')).toBe('WARN');
    expect(parseLevel('ERROR')).toBe('ERROR');
    expect(parseLevel('fatal')).toBe('CRITICAL');
  });

  it('refuses an unknown level, naming the known ones', () => {
    expect(() => parseLevel('loud')).toThrow(/unknown level 'loud' \(expected one of trace, debug, info, warn, error, critical\)/);
  });

  it('ranks levels lowest first and ignores what is not a level', () => {
    expect(levelRank('TRACE')).toBe(0);
    expect(levelRank('critical')).toBe(5);
    expect(levelRank(20)).toBeUndefined();
  });
});

describe('parseTime', () => {
  it('reads ISO times with Z, an offset, or a date alone', () => {
    expect(parseTime('2026-11-02T10:00:00Z')).toBe(Date.UTC(2026, 10, 2, 10));
    expect(parseTime('2026-11-02T11:00:00+01:00')).toBe(Date.UTC(2026, 10, 2, 10));
    expect(parseTime('2026-11-02')).toBe(Date.UTC(2026, 10, 2));
  });

  it('refuses what is not an ISO time', () => {
    expect(() => parseTime('yesterday')).toThrow(/expected an ISO time/);
    expect(() => parseTime('1730000000000')).toThrow(/expected an ISO time/);
  });
});

describe('buildLogQuery', () => {
  const now = Date.UTC(2026, 10, 2, 12);

  it('takes every filter when all are given', () => {
    const q = buildLogQuery({ object: 'o1', chunk: 'o1-000002', node: 'agent-1', run: 'r1', level: 'warn', grep: 'SlowDown', since: '15m', limit: '20' }, now);

    expect(q).toEqual({ objectId: 'o1', chunkId: 'o1-000002', nodeId: 'agent-1', runId: 'r1', minLevel: 'WARN', text: 'SlowDown', fromMs: now - 900_000, toMs: undefined, limit: 20 });
  });

  it('bounds the time by --from and --to when given', () => {
    const q = buildLogQuery({ from: '2026-11-02T10:00:00Z', to: '2026-11-02T11:00:00Z' }, now);

    expect([q.fromMs, q.toMs]).toEqual([Date.UTC(2026, 10, 2, 10), Date.UTC(2026, 10, 2, 11)]);
  });

  it('applies the default window only when no time bound is given', () => {
    expect(buildLogQuery({}, now, '1h').fromMs).toBe(now - 3_600_000);
    expect(buildLogQuery({ from: '2026-11-01T00:00:00Z' }, now, '1h').fromMs).toBe(Date.UTC(2026, 10, 1));
    expect(buildLogQuery({ to: '2026-11-02T11:00:00Z' }, now, '1h').fromMs).toBeUndefined();
    expect(buildLogQuery({}, now).fromMs).toBeUndefined();
  });

  it('defaults the limit to 100', () => {
    expect(buildLogQuery({}, now).limit).toBe(100);
  });

  it('refuses contradictory or malformed options with the reason', () => {
    expect(() => buildLogQuery({ since: '5m', from: '2026-11-02T10:00:00Z' }, now)).toThrow('use either --since or --from, not both');
    expect(() => buildLogQuery({ from: '2026-11-02T11:00:00Z', to: '2026-11-02T10:00:00Z' }, now)).toThrow('--from is after --to');
    expect(() => buildLogQuery({ limit: '0' }, now)).toThrow(/--limit must be a positive integer/);
    expect(() => buildLogQuery({ limit: 'ten' }, now)).toThrow(/--limit must be a positive integer/);
    expect(() => buildLogQuery({ chunk: ' ' }, now)).toThrow('--chunk must not be empty');
    expect(() => buildLogQuery({ grep: '' }, now)).toThrow('--grep must not be empty');
    expect(() => buildLogQuery({ level: 'loud' }, now)).toThrow(/unknown level/);
  });
});
