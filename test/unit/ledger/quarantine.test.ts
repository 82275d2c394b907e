import { renderStatus } from '../../../cli/status';
import { ZERO_COUNTS, type ObjectItem } from '../../../lib/ledger/items';
import { objectOutcomeHook, quarantineNotice, type ObjectOutcome } from '../../../lib/ledger/object-outcome';
import { objectSettled } from '../../../lib/ledger/run-ledger';
import { objectRow } from '../../../lib/observability/status';

const object = (over: Partial<ObjectItem>): ObjectItem => ({
  pk: 'OBJ#o1',
  sk: 'OBJECT',
  objectId: 'o1',
  bucket: 'in',
  key: 'a.jsonl',
  etag: 'e',
  size: 10,
  format: 'jsonl',
  compression: 'none',
  chunkCount: 3,
  chunkSizeBytes: 4,
  chunksDone: 0,
  ...ZERO_COUNTS,
  status: 'ENQUEUED',
  planStartedAt: 0,
  createdAt: '2026-01-01T00:00:00.000Z',
  ...over,
});

const quarantined: Extract<ObjectOutcome, { outcome: 'quarantined' }> = {
  outcome: 'quarantined',
  objectId: 'o1',
  bucket: 'in',
  key: 'a.jsonl',
  chunk: 2,
  reason: 'chunk 2: boom',
  at: '2026-01-01T00:00:00.000Z',
};

describe('quarantined objects', () => {
  it('settle for a run once every chunk is processed or failed, not before', () => {
    expect(objectSettled(object({ status: 'QUARANTINED', chunksDone: 1, failedChunks: 1 }))).toBe(false);
    expect(objectSettled(object({ status: 'QUARANTINED', chunksDone: 2, failedChunks: 1 }))).toBe(true);
    expect(objectSettled(object({ status: 'ENQUEUED', chunksDone: 2, failedChunks: 1 }))).toBe(false);
    // Refused whole (no chunk failed): settled at once.
    expect(objectSettled(object({ status: 'FAILED', chunkCount: 0 }))).toBe(true);
  });

  it('show their status and reason in status rows and the status table', () => {
    const row = objectRow(object({ status: 'QUARANTINED', failedChunks: 1, lastError: 'chunk 2: boom', quarantineReason: 'chunk 2: boom', quarantinedAt: quarantined.at }));
    expect(row).toMatchObject({ status: 'QUARANTINED', failedChunks: 1, quarantineReason: 'chunk 2: boom', quarantinedAt: quarantined.at });
    expect(objectRow(object({}))).not.toHaveProperty('quarantineReason');
    const text = renderStatus({ objects: [row], nodes: [] });
    expect(text).toMatch(/^QUARANTINED\(1\)\t0\/3\t/m);
    expect(text).toContain('a.jsonl: chunk 2: boom (after a fix: shardline redrive)');
  });

  it('are announced with the object, its source, the reason and how to release it', () => {
    const { subject, message } = quarantineNotice(quarantined);
    expect(subject.length).toBeLessThanOrEqual(100);
    expect(JSON.parse(message)).toEqual({
      notice: 'object-quarantined',
      objectId: 'o1',
      source: { bucket: 'in', key: 'a.jsonl' },
      chunk: 2,
      reason: 'chunk 2: boom',
      quarantinedAt: quarantined.at,
      next: 'the rest of the pipeline runs on; after a fix: shardline redrive --object o1',
    });
  });

  it('are counted even when their notice cannot be published, which is logged', async () => {
    const counted: string[] = [];
    const logs: string[] = [];
    const hook = objectOutcomeHook({
      record: (o) => counted.push(o.outcome),
      notices: { sns: { send: async () => Promise.reject(new Error('no route')) } as never, topicArn: 'arn:aws:sns:us-east-1:1:t' },
      log: (_level, message) => logs.push(message),
    });
    await hook(quarantined);
    await hook({ outcome: 'complete', objectId: 'o2', bucket: 'in', key: 'b', manifestKey: 'manifests/o2.json' });
    expect(counted).toEqual(['quarantined', 'complete']);
    expect(logs).toEqual(['quarantine notice not published']);
  });
});
