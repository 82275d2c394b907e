import { finished } from 'node:stream/promises';
import { DatasetConfig, type RecordFormat } from '../../../lib/config/pipeline-config';
import { decodeShard } from '../../../lib/records/block-codec';
import { inlineRunner, type BlockRunner } from '../../../lib/records/block-runner';
import { RecordPool } from '../../../lib/records/pool/record-pool';
import { processBlock } from '../../../lib/records/process-block';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { buildRecordPipeline, type ChunkTransformer } from '../../../lib/records/transforms';
import { buffersOf, sink } from './helpers';

let pool: RecordPool;
beforeAll(() => {
  pool = new RecordPool(2);
});
afterAll(() => pool.close());

interface Options {
  runner?: BlockRunner;
  format?: RecordFormat;
  dataset?: Record<string, unknown>;
  codec?: 'gzip' | 'none';
}

async function run(data: Buffer | string, options: Options = {}): Promise<{ lines: string[]; rejects: Array<Record<string, unknown>>; result: ChunkResult }> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const shard = sink();
  const rejects = sink();
  const codec = options.codec ?? 'none';
  const result = await processChunk(
    {
      body: buffersOf(bytes, 4096),
      bodyOffset: 0,
      start: 0,
      end: bytes.length,
      format: options.format ?? 'jsonl',
      compression: 'none',
      pipeline: buildRecordPipeline(DatasetConfig.parse(options.dataset ?? {})),
    },
    { shard: shard.stream, rejects: rejects.stream },
    { runner: options.runner ?? inlineRunner, codec, blockBytes: 16 * 1024 },
  );
  shard.stream.end();
  rejects.stream.end();
  await Promise.all([finished(shard.stream), finished(rejects.stream)]);
  const text = (await decodeShard(shard.bytes(), codec)).toString('utf8');
  return { lines: text.split('\n').filter(Boolean), rejects: rejects.lines().map((l) => JSON.parse(l) as Record<string, unknown>), result };
}

const nested = (depth: number): string => `{"deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
const valid = (n: number): string[] => Array.from({ length: n }, (_, i) => JSON.stringify({ id: i, text: ` text ${i} ` }));

describe('per-record isolation', () => {
  const runners: Array<[string, () => BlockRunner]> = [
    ['inline', () => inlineRunner],
    ['a worker pool', () => pool],
  ];
  const configs: Array<[string, Record<string, unknown>]> = [
    ['no transforms', {}],
    ['normalize and dedupe', { normalize: { nfc: true, collapseWhitespace: true }, dedupe: true }],
    ['a schema', { schema: { type: 'object', required: ['deep'] } }],
  ];

  describe.each(runners)('on %s', (_name, runner) => {
    it.each(configs)('rejects one line nested 5,000 deep as too-deep and keeps its 200 neighbours, with %s', async (_config, dataset) => {
      const lines = valid(200);
      lines.splice(100, 0, nested(5000));

      const { lines: out, rejects, result } = await run(`${lines.join('\n')}\n`, { runner: runner(), dataset, codec: 'gzip' });

      expect(out).toHaveLength(dataset.schema ? 0 : 200);
      expect(result).toMatchObject({ recordsIn: 201, recordsRejected: dataset.schema ? 201 : 1, recordsOut: dataset.schema ? 0 : 200 });
      expect(result.rejectedReasons['too-deep']).toBe(1);
      const deep = rejects.find((r) => r.index === 100);
      expect(deep).toMatchObject({ offset: lines.slice(0, 100).join('\n').length + 1, reason: expect.stringMatching(/more than 512 levels deep/) });
    });

    it('rejects a record whose steps overflow the stack as too-deep when the depth limit is lifted', async () => {
      const lines = [...valid(3), nested(300_000), ...valid(2).map((l) => l.replace('"id":', '"n":'))];

      const { lines: out, rejects, result } = await run(`${lines.join('\n')}\n`, { runner: runner(), dataset: { maxRecordDepth: 1_000_000, dedupe: true } });

      expect(out).toHaveLength(5);
      expect(result).toMatchObject({ recordsIn: 6, recordsOut: 5, recordsRejected: 1, rejectedReasons: { 'too-deep': 1 } });
      expect(rejects[0]).toMatchObject({ index: 3, reason: expect.stringMatching(/nested too deeply/) });
    });

    it('keeps the accounting exact when nesting at the limit passes and one level more is rejected', async () => {
      const { result } = await run(`${nested(15)}\n${nested(16)}\n`, { runner: runner(), dataset: { maxRecordDepth: 16 } });

      expect(result).toMatchObject({ recordsIn: 2, recordsOut: 1, recordsRejected: 1, rejectedReasons: { 'too-deep': 1 } });
    });
  });

  it('rejects the one record a transform step throws on, with the error, and writes nothing for it', () => {
    const throwing: ChunkTransformer = {
      apply: (record) => {
        if (record.id === 1) throw new RangeError('Maximum call stack size exceeded');
        if (record.id === 2) throw new RangeError('Invalid string length');
        if (record.id === 3) throw new TypeError('boom');
        return { kind: 'out', value: { ...record, seen: true } };
      },
    };
    const bytes = Buffer.from(`${valid(5).join('\n')}\n`);

    const result = processBlock({ bytes, offset: 0, format: 'jsonl', codec: 'none', level: 0, forDedupe: false }, throwing);

    expect(Buffer.from(result.output).toString()).toBe('{"id":0,"text":" text 0 ","seen":true}\n{"id":4,"text":" text 4 ","seen":true}\n');
    expect(result.rejectedReasons).toEqual({ 'too-deep': 1, 'record-too-large': 1, 'record-error': 1 });
    expect(result.rejects.map((r) => [r.index, r.reason])).toEqual([
      [1, expect.stringMatching(/nested too deeply/)],
      [2, expect.stringMatching(/too large/)],
      [3, expect.stringMatching(/could not be processed: boom/)],
    ]);
    expect(result.recordsIn).toBe(result.recordsOut + result.recordsRejected + result.recordsFiltered);
  });

  it('still fails the chunk for a CSV header that names a column twice: that is not about one record', async () => {
    await expect(run('a,a\n1,2\n', { format: 'csv' })).rejects.toThrow(/column "a" appears twice/);
  });
});
