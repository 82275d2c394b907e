import { formatRecord, formatRecordJson } from '../../../lib/logs/format';
import { toLogRecord } from '../../../lib/logs/record';

const source = { label: '/s/agents/agent-1/agent.log', node: 'agent-1' };

describe('formatRecord', () => {
  it('prints time, level, node, ids, message and the other fields when the record is JSON', () => {
    const line = JSON.stringify({
      level: 'WARN',
      message: 'chunk failed',
      timestamp: '2026-11-02T10:00:01.234Z',
      service: 'shardline-agent',
      sampling_rate: 0,
      app: 'shardline',
      nodeId: 'agent-2',
      objectId: 'o1',
      chunkId: 'o1-000003',
      attempt: 2,
      runId: 'r1',
      errorKind: 'throttled',
      totalMs: 812,
      note: 'two words',
      error: { name: 'Error', message: 'SlowDown', stack: 'Error: SlowDown\n at x' },
      stages: { leaseMs: 3 },
    });

    expect(formatRecord(toLogRecord(line, source, 0, 0))).toBe(
      '2026-11-02T10:00:01.234Z WARN  agent-2   chunk=o1-000003 attempt=2 run=r1 chunk failed  errorKind=throttled totalMs=812 note="two words" error="Error: SlowDown" stages={"leaseMs":3}',
    );
  });

  it('shows the object id when the record has no chunk of it', () => {
    const line = JSON.stringify({ level: 'INFO', message: 'planned', timestamp: '2026-11-02T10:00:00.000Z', objectId: 'o1', chunks: 4 });

    expect(formatRecord(toLogRecord(line, { label: 'c', node: 'chunker' }, 0, 0))).toBe('2026-11-02T10:00:00.000Z INFO  chunker   object=o1 planned  chunks=4');
  });

  it('prints a plain-text line as written, with the time it was given and its node', () => {
    expect(formatRecord(toLogRecord('(node:7) Warning: x', source, 0, Date.UTC(2026, 10, 2, 10)))).toBe('2026-11-02T10:00:00.000Z -     agent-1   (node:7) Warning: x');
  });
});

describe('formatRecordJson', () => {
  it('prints a JSON record exactly as written', () => {
    const line = '{"level":"INFO","message":"m","timestamp":"2026-11-02T10:00:00.000Z","z":1}';

    expect(formatRecordJson(toLogRecord(line, source, 0, 0))).toBe(line);
  });

  it('wraps a plain-text line with its time, node and source', () => {
    expect(JSON.parse(formatRecordJson(toLogRecord('boom', source, 0, Date.UTC(2026, 10, 2, 10))))).toEqual({
      timestamp: '2026-11-02T10:00:00.000Z',
      message: 'boom',
      nodeId: 'agent-1',
      source: source.label,
      plainText: true,
    });
  });
});
