import fc from 'fast-check';
import { matchesQuery, prefilterNeedles } from '../../../lib/logs/match';
import { buildLogQuery, type LogQuery } from '../../../lib/logs/query';
import { toLogRecord, type LogSource } from '../../../lib/logs/record';

const agent: LogSource = { label: 'agent-1.log', node: 'agent-1' };
const line = (fields: Record<string, unknown>) => JSON.stringify({ level: 'WARN', message: 'chunk failed: SlowDown', timestamp: '2026-11-02T10:00:00.000Z', service: 'shardline-agent', ...fields });
const record = (fields: Record<string, unknown> = {}, source = agent) => toLogRecord(line({ nodeId: 'agent-1', objectId: 'o1', chunkId: 'o1-000002', runId: 'r1', ...fields }), source, 0, 0);

const everything: LogQuery = buildLogQuery({ object: 'o1', chunk: 'o1-000002', node: 'agent-1', run: 'r1', level: 'warn', grep: 'SlowDown', from: '2026-11-02T09:59:00Z', to: '2026-11-02T10:01:00Z' });

describe('matchesQuery', () => {
  it('keeps a record that satisfies every filter', () => {
    expect(matchesQuery(record(), everything)).toBe(true);
  });

  it.each([
    ['object', { objectId: 'o2', chunkId: 'o2-000002' }],
    ['chunk', { chunkId: 'o1-000003' }],
    ['node', { nodeId: 'agent-2' }],
    ['run', { runId: 'r2' }],
    ['level', { level: 'INFO' }],
    ['text', { message: 'chunk failed: timeout' }],
    ['from', { timestamp: '2026-11-02T09:58:59.999Z' }],
    ['to', { timestamp: '2026-11-02T10:01:00.001Z' }],
  ])('drops the record when only %s does not match', (_filter, change) => {
    expect(matchesQuery(record(change), everything)).toBe(false);
  });

  it('finds records of an object through their chunk id when they carry no object id', () => {
    const q = buildLogQuery({ object: 'o1' });

    expect(matchesQuery(record({ objectId: undefined, chunkId: 'o1-000007' }), q)).toBe(true);
    expect(matchesQuery(record({ objectId: undefined, chunkId: 'o10-000007' }), q)).toBe(false);
  });

  it('takes the node of the source when the record has no nodeId', () => {
    const chunker = { label: 'chunker.log', node: 'chunker' };

    expect(matchesQuery(record({ nodeId: undefined }, chunker), buildLogQuery({ node: 'chunker' }))).toBe(true);
    expect(matchesQuery(record({ nodeId: undefined }, chunker), buildLogQuery({ node: 'agent-1' }))).toBe(false);
  });

  it('counts warning, Error and fatal as levels and excludes records without a level from level queries', () => {
    const q = buildLogQuery({ level: 'warn' });

    expect(matchesQuery(record({ level: 'warning' }), q)).toBe(true);
    expect(matchesQuery(record({ level: 'Error' }), q)).toBe(true);
    expect(matchesQuery(record({ level: 'fatal' }), q)).toBe(true);
    expect(matchesQuery(record({ level: 'debug' }), q)).toBe(false);
    expect(matchesQuery(record({ level: undefined }), q)).toBe(false);
  });

  it('matches text in the line as written and inside JSON strings (quotes escaped)', () => {
    const quoted = record({ message: 'bad key "a b"' });

    expect(matchesQuery(quoted, buildLogQuery({ grep: 'key "a b"' }))).toBe(true);
    expect(matchesQuery(quoted, buildLogQuery({ grep: '"level":"WARN"' }))).toBe(true);
    expect(matchesQuery(quoted, buildLogQuery({ grep: 'Key' }))).toBe(false);
  });

  it('treats a plain-text line as a record with no fields: only node, text and time can select it', () => {
    const plain = toLogRecord('(node:42) Warning: something', agent, 0, Date.UTC(2026, 10, 2, 10));

    expect(plain.json).toBe(false);
    expect(matchesQuery(plain, buildLogQuery({ node: 'agent-1', grep: 'Warning', since: '1d' }, Date.UTC(2026, 10, 2, 11)))).toBe(true);
    expect(matchesQuery(plain, buildLogQuery({ level: 'trace' }))).toBe(false);
    expect(matchesQuery(plain, buildLogQuery({ object: 'o1' }))).toBe(false);
  });
});

describe('prefilterNeedles', () => {
  it('needs no node needle in a source that is the queried node', () => {
    expect(prefilterNeedles(buildLogQuery({ node: 'agent-1' }), 'agent-1')).toEqual([]);
    expect(prefilterNeedles(buildLogQuery({ node: 'agent-1' }), 'agent-2')).toEqual([{ alternatives: ['"agent-1"'] }]);
  });

  it('lists the most selective needles first', () => {
    const groups = prefilterNeedles(everything, 'agent-9').map((g) => g.alternatives);

    expect(groups.slice(0, 5)).toEqual([['"o1-000002"'], ['"o1'], ['"r1"'], ['SlowDown'], ['"agent-1"']]);
    expect(groups[5]).toEqual(expect.arrayContaining(['"WARN"', '"error"', '"Fatal"']));
    expect(groups[5]).not.toContain('"INFO"');
    expect(prefilterNeedles(everything)[5].minLevelRank).toBe(3);
  });

  // The prefilter may let through lines that do not match, never drop a line that does.
  it('never rules out a line that matches the query', () => {
    const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined, freq: 2 }); // half of them absent
    const id = fc.constantFrom('o1', 'o1-000002', 'o2-000001', 'r1', 'agent-1', 'agent-2', 'a"b', 'ü/\\x');
    const text = (minLength: number) => fc.string({ unit: fc.constantFrom('a', 'b', '"', '\\', '\n', 'é', ' '), minLength, maxLength: 3 });
    const level = fc.constantFrom('TRACE', 'debug', 'Info', 'WARN', 'warning', 'ERROR', 'Fatal', 'critical', 'loud', undefined);
    const fields = fc.record({ nodeId: maybe(id), objectId: maybe(id), chunkId: maybe(id), runId: maybe(id), level, message: text(0) });
    const query = fc.record({
      object: maybe(id),
      chunk: maybe(id),
      node: maybe(id),
      run: maybe(id),
      level: maybe(fc.constantFrom('trace', 'info', 'warn', 'error', 'critical')),
      grep: maybe(text(1)),
    });
    const source = fc.constantFrom<LogSource>({ label: 'a', node: 'agent-1' }, { label: 'c', node: 'chunker' }, { label: 'g' });
    fc.assert(
      fc.property(fields, query, source, fc.boolean(), (f, opts, src, plain) => {
        const written = plain ? f.message : JSON.stringify({ ...f, timestamp: '2026-11-02T10:00:00Z' });
        const q = buildLogQuery(opts);
        const rec = toLogRecord(written, src, 0, 0);
        if (!matchesQuery(rec, q)) return true;
        return prefilterNeedles(q, src.node).every((group) => group.alternatives.some((needle) => written.includes(needle)));
      }),
      { numRuns: 5000 },
    );
  });
});
