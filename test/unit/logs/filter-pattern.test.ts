import { cloudWatchFilterPattern } from '../../../lib/logs/filter-pattern';
import { buildLogQuery } from '../../../lib/logs/query';

describe('cloudWatchFilterPattern', () => {
  it('is empty when nothing is filtered but time', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ since: '1h' }))).toBe('');
  });

  it('joins structured filters into one JSON pattern', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ chunk: 'o1-000002', run: 'r1', node: 'agent-1' }))).toBe('{ $.chunkId = "o1-000002" && $.runId = "r1" && $.nodeId = "agent-1" }');
  });

  it('matches an object by its id or by the ids of its chunks', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ object: 'o1' }))).toBe('{ ($.objectId = "o1" || $.chunkId = "o1-*") }');
  });

  it('lists every spelling of the levels at or above the minimum', () => {
    const pattern = cloudWatchFilterPattern(buildLogQuery({ level: 'error' }));

    expect(pattern).toMatch(/^\{ \(\$\.level = "ERROR" \|\| .*\) \}$/);
    expect(pattern).toContain('$.level = "fatal"');
    expect(pattern).not.toContain('"WARN"');
  });

  it('leaves the node out in the group that node writes (its records may carry no nodeId)', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ node: 'chunker' }), 'chunker')).toBe('');
    expect(cloudWatchFilterPattern(buildLogQuery({ node: 'agent-1' }), 'chunker')).toBe('{ $.nodeId = "agent-1" }');
  });

  it('searches text alone as an exact phrase, and leaves it to the client next to JSON filters', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ grep: 'Slow Down' }))).toBe('"Slow Down"');
    expect(cloudWatchFilterPattern(buildLogQuery({ grep: 'SlowDown', run: 'r1' }))).toBe('{ $.runId = "r1" }');
  });

  it('leaves out a value it cannot quote safely instead of guessing', () => {
    expect(cloudWatchFilterPattern(buildLogQuery({ grep: 'key "a"' }))).toBe('');
    expect(cloudWatchFilterPattern(buildLogQuery({ chunk: 'a*b', run: 'r1' }))).toBe('{ $.runId = "r1" }');
  });
});
