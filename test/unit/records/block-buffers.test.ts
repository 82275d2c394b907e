import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { BlockBuffers } from '../../../lib/records/block-buffers';
import { inlineRunner } from '../../../lib/records/block-runner';
import { decodeShard } from '../../../lib/records/block-codec';
import { DEFAULT_BLOCK_BYTES } from '../../../lib/records/line-blocks';
import { RecordPool } from '../../../lib/records/pool/record-pool';
import type { BlockTask } from '../../../lib/records/process-block';
import { buildRecordPipeline } from '../../../lib/records/transforms';

const pipeline = buildRecordPipeline(DatasetConfig.parse({}));

/** A block of `text` in a buffer from `allocate`. */
function blockTask(allocate: (size: number) => Buffer, text: string, codec: BlockTask['codec']): BlockTask {
  const bytes = allocate(Buffer.byteLength(text));
  bytes.write(text);
  return { bytes, offset: 0, format: 'jsonl', codec, level: 1, forDedupe: false };
}

describe('BlockBuffers', () => {
  it('hands a buffer it took back to the next block, with room to spare', () => {
    const buffers = new BlockBuffers(2);
    const first = buffers.allocate(10);

    buffers.reuse(first.buffer as ArrayBuffer);
    const second = buffers.allocate(100);

    expect(second.buffer).toBe(first.buffer);
    expect(second.length).toBe(100);
    expect(first.buffer.byteLength).toBeGreaterThan(DEFAULT_BLOCK_BYTES);
    expect(buffers.has(second.buffer)).toBe(true);
    expect(buffers.has(Buffer.allocUnsafeSlow(10).buffer)).toBe(false);
  });

  it('keeps at most `keep` buffers, and none grown past four blocks', () => {
    const buffers = new BlockBuffers(1);
    const a = buffers.allocate(1);
    const b = buffers.allocate(1);
    const huge = buffers.allocate(5 * DEFAULT_BLOCK_BYTES);

    buffers.reuse(huge.buffer as ArrayBuffer);
    buffers.reuse(a.buffer as ArrayBuffer);
    buffers.reuse(b.buffer as ArrayBuffer);

    expect(buffers.allocate(1).buffer).toBe(a.buffer);
    expect([b.buffer, huge.buffer]).not.toContain(buffers.allocate(1).buffer);
  });
});

describe('the inline runner', () => {
  it('reuses a block buffer once the block is encoded, and the output stays whole', async () => {
    const allocate = inlineRunner.allocate as (size: number) => Buffer;
    const first = blockTask(allocate, '{"a":1}\n{"b":2}\n', 'gzip');

    const result = await inlineRunner.process(first, pipeline);
    const next = allocate(8);
    next.fill('#');

    expect(next.buffer).toBe(first.bytes.buffer);
    expect((await decodeShard(result.output, 'gzip')).toString()).toBe('{"a":1}\n{"b":2}\n');
  });

  it('keeps a block buffer that the plain output still points into', async () => {
    const allocate = inlineRunner.allocate as (size: number) => Buffer;
    const first = blockTask(allocate, '{"a":1}\n', 'none');

    const result = await inlineRunner.process(first, pipeline);
    allocate(8).fill('#');

    expect(result.output.buffer).toBe(first.bytes.buffer);
    expect(Buffer.from(result.output).toString()).toBe('{"a":1}\n');
  });
});

describe('the pool', () => {
  it('gets a block buffer back from the worker for the next block', async () => {
    const pool = new RecordPool(1);
    try {
      // A block larger than a new buffer's room, so its buffer is told apart by its size.
      const lines = Math.ceil((1.5 * DEFAULT_BLOCK_BYTES) / 8);
      const first = blockTask((n) => pool.allocate(n), '{"a":1}\n'.repeat(lines), 'zstd');
      const size = first.bytes.buffer.byteLength;

      const result = await pool.process(first, pipeline);
      const next = pool.allocate(8);

      expect(result.recordsOut).toBe(lines);
      expect(first.bytes.buffer.byteLength).toBe(0); // moved to the worker
      expect(next.buffer.byteLength).toBe(size); // and back
      expect(size).toBeGreaterThan(pool.allocate(8).buffer.byteLength); // a new one is smaller
    } finally {
      await pool.close();
    }
  });
});
