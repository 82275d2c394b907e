import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { inlineRunner } from '../../../lib/records/block-runner';
import { defaultRecordWorkers, RecordPool, recordRunner, setRecordWorkers } from '../../../lib/records/pool/record-pool';
import type { BlockTask } from '../../../lib/records/process-block';
import { buildRecordPipeline } from '../../../lib/records/transforms';

const pipeline = buildRecordPipeline(DatasetConfig.parse({}));
const task = (text: string, extra: Partial<BlockTask> = {}): BlockTask => ({ bytes: Buffer.from(text), offset: 0, format: 'jsonl', codec: 'none', level: 0, forDedupe: false, ...extra });

describe('RecordPool', () => {
  it('moves a large block to the worker instead of copying it', async () => {
    const pool = new RecordPool(1);
    try {
      const bytes = Buffer.allocUnsafeSlow(64 * 1024).fill('{"a":1}\n'.repeat(8192));

      const result = await pool.process(task('', { bytes }), pipeline);

      expect(bytes.buffer.byteLength).toBe(0); // detached: it was transferred
      expect(result.recordsOut).toBe(8192);
    } finally {
      await pool.close();
    }
  });

  it('fails the task with the reason when a block cannot be processed', async () => {
    const pool = new RecordPool(1);
    try {
      await expect(pool.process(task('a,a\n1,2\n', { format: 'csv' }), pipeline)).rejects.toThrow('column "a" appears twice');
    } finally {
      await pool.close();
    }
  });

  it('hands later tasks to its successor once retired', async () => {
    const old = new RecordPool(1);
    const next = new RecordPool(2);
    try {
      await old.process(task('{"a":1}\n'), pipeline);

      old.retire(next);
      const result = await old.process(task('{"a":1}\n{"b":2}\n'), pipeline);

      expect(result.recordsOut).toBe(2);
    } finally {
      await Promise.all([old.close(), next.close()]);
    }
  });
});

describe('recordRunner', () => {
  afterEach(() => setRecordWorkers(undefined));

  it('keeps one pool per worker count and runs inline for 0', () => {
    const two = recordRunner(2);

    expect(recordRunner(2)).toBe(two);
    expect(two.parallelism).toBe(2);
    expect(recordRunner(0)).toBe(inlineRunner);
  });

  it("lets the agent's flag win over the config", () => {
    setRecordWorkers(0);

    expect(recordRunner(3)).toBe(inlineRunner);
  });

  it('leaves three quarters of the cores to training by default, and at least one worker', () => {
    expect([1, 2, 4, 8, 96].map((cpus) => defaultRecordWorkers(cpus))).toEqual([1, 1, 1, 2, 24]);
  });
});
