import fc from 'fast-check';
import { finished } from 'node:stream/promises';
import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { decodeShard } from '../../../lib/records/block-codec';
import { inlineRunner, type BlockRunner } from '../../../lib/records/block-runner';
import { decodeLine } from '../../../lib/records/decode-line';
import { RecordPool } from '../../../lib/records/pool/record-pool';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { createLineReader } from '../../../lib/records/readers';
import type { ShardCodec } from '../../../lib/records/shard-codec';
import { splitLines } from '../../../lib/records/split-lines';
import { buildRecordPipeline, type RecordPipeline } from '../../../lib/records/transforms';
import { buffersOf, sink } from './helpers';

interface Case {
  data: Buffer;
  start: number;
  end: number;
  format: 'jsonl' | 'text';
  pipeline: RecordPipeline;
  codec: ShardCodec;
  blockBytes: number;
  bufferSizes: number[];
}

async function run(c: Case, runner: BlockRunner): Promise<{ shard: Buffer; rejects: Buffer; result: ChunkResult }> {
  const bodyOffset = c.start > 0 ? c.start - 1 : 0;
  const shard = sink();
  const rejects = sink();
  const result = await processChunk(
    { body: buffersOf(c.data.subarray(bodyOffset), c.bufferSizes), bodyOffset, start: c.start, end: c.end, format: c.format, compression: 'none', pipeline: c.pipeline },
    { shard: shard.stream, rejects: rejects.stream },
    { runner, codec: c.codec, level: 1, blockBytes: c.blockBytes },
  );
  shard.stream.end();
  rejects.stream.end();
  await Promise.all([finished(shard.stream), finished(rejects.stream)]);
  return { shard: shard.bytes(), rejects: rejects.bytes(), result };
}

/** The record path's meaning, line by line as it was before blocks: the values of the accepted records. */
async function referenceValues(c: Case): Promise<unknown[]> {
  const bodyOffset = c.start > 0 ? c.start - 1 : 0;
  const reader = createLineReader(c.format);
  const transform = c.pipeline.forChunk();
  const values: unknown[] = [];
  for await (const { bytes, offset } of splitLines(buffersOf(c.data.subarray(bodyOffset), 1024), { bodyOffset, start: c.start, end: c.end })) {
    const text = decodeLine(bytes, offset);
    if (text === undefined) continue;
    const parsed = reader.read(text);
    if (parsed.kind !== 'record') continue;
    const outcome = transform.apply(parsed.value);
    if (outcome.kind === 'out') values.push(outcome.value);
  }
  return values;
}

/** One line of a generated object: a JSON object (in random spacing), a duplicate, or a bad line. */
const lineArb = fc.oneof(
  {
    weight: 8,
    arbitrary: fc
      .dictionary(fc.constantFrom('a', 'b', 'text', '__proto__', 'é'), fc.oneof(fc.string({ unit: fc.constantFrom('x', ' ', 'é', '😀', '"', '\\'), maxLength: 12 }), fc.integer(), fc.constant(null)))
      .map((o) => JSON.stringify(o, null, Object.keys(o).length % 2 ? 1 : undefined).replace(/\n/g, ' ')),
  },
  { weight: 2, arbitrary: fc.constantFrom('{"a":1}', '{"a": 1}', '{"text":"  spaced   out "}') },
  { weight: 1, arbitrary: fc.constantFrom('', 'not json', '[1,2]', '42', 'null', '{"a":', '\u00e9t\u00e9') },
  { weight: 1, arbitrary: fc.constantFrom('\xff', '{"a":"\xc3"}', '\xe2\x82') },
);

const caseArb = fc
  .record({
    lines: fc.array(fc.record({ line: lineArb, crlf: fc.boolean() }), { maxLength: 60 }),
    bom: fc.boolean(),
    finalNewline: fc.boolean(),
    range: fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.double({ min: 0, max: 1, noNaN: true })),
    format: fc.constantFrom('jsonl' as const, 'jsonl' as const, 'text' as const),
    dataset: fc.constantFrom<Record<string, unknown>>({}, { dedupe: true }, { normalize: {} }, { selectFields: ['a', 'text'] }, { normalize: {}, dedupe: true }),
    codec: fc.constantFrom<ShardCodec>('gzip', 'zstd', 'none'),
    blockBytes: fc.integer({ min: 1, max: 300 }),
    bufferSizes: fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 4 }),
  })
  .map(({ lines, bom, finalNewline, range, format, dataset, codec, blockBytes, bufferSizes }): Case => {
    // Strings of code units up to 0xff stand for raw bytes (latin1), so lines can hold invalid UTF-8.
    const text = lines
      .map(
        (l, i) =>
          Buffer.from(l.line, [...l.line].some((ch) => (ch.codePointAt(0) ?? 0) > 0xff) ? 'utf8' : 'latin1').toString('latin1') +
          (i < lines.length - 1 || finalNewline ? (l.crlf ? '\r\n' : '\n') : ''),
      )
      .join('');
    const data = Buffer.concat([bom ? Buffer.from([0xef, 0xbb, 0xbf]) : Buffer.alloc(0), Buffer.from(text, 'latin1')]);
    const [a, b] = range.map((r) => Math.floor(r * data.length)).sort((x, y) => x - y);
    const whole = range[0] < 0.3;
    return { data, start: whole ? 0 : a, end: whole ? data.length : b, format, pipeline: buildRecordPipeline(DatasetConfig.parse(dataset)), codec, blockBytes, bufferSizes };
  });

describe('the record path on a worker pool', () => {
  let pool: RecordPool;
  beforeAll(() => {
    pool = new RecordPool(2);
  });
  afterAll(() => pool.close());

  it('writes byte for byte what the single-thread path writes, whatever the records, buffers and blocks', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const single = await run(c, inlineRunner);
        const pooled = await run(c, pool);

        expect(pooled.result).toEqual(single.result);
        expect(pooled.shard.equals(single.shard)).toBe(true);
        expect(pooled.rejects.equals(single.rejects)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('keeps the meaning of the line-by-line path: the same accepted records, the same counts', async () => {
    await fc.assert(
      fc.asyncProperty(caseArb, async (c) => {
        const { shard, result } = await run(c, pool);
        const lines = (await decodeShard(shard, c.codec)).toString('utf8').split('\n');

        expect(lines.pop()).toBe('');
        expect(lines.map((l) => JSON.parse(l))).toEqual(await referenceValues(c));
        expect(result.recordsIn).toBe(result.recordsOut + result.recordsRejected + result.recordsFiltered);
      }),
      { numRuns: 150 },
    );
  });
});
