import { finished } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { DatasetConfig, type RecordFormat } from '../../../lib/config/pipeline-config';
import { decodeShard, encodeBlock } from '../../../lib/records/block-codec';
import { inlineRunner, type BlockRunner } from '../../../lib/records/block-runner';
import { RecordPool } from '../../../lib/records/pool/record-pool';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { codecOfKey, SHARD_CODECS, shardExtension, type ShardCodec } from '../../../lib/records/shard-codec';
import { buildRecordPipeline } from '../../../lib/records/transforms';
import { buffersOf, sink } from './helpers';

let pool: RecordPool;
beforeAll(() => {
  pool = new RecordPool(2);
});
afterAll(() => pool.close());

interface Options {
  runner?: BlockRunner;
  codec?: ShardCodec;
  format?: RecordFormat;
  dataset?: Record<string, unknown>;
  blockBytes?: number;
  bufferSize?: number | number[];
}

async function run(data: Buffer | string, options: Options = {}): Promise<{ shard: Buffer; lines: string[]; rejects: Array<Record<string, unknown>>; result: ChunkResult }> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data);
  const codec = options.codec ?? 'none';
  const shard = sink();
  const rejects = sink();
  const result = await processChunk(
    {
      body: buffersOf(bytes, options.bufferSize ?? 3),
      bodyOffset: 0,
      start: 0,
      end: bytes.length,
      format: options.format ?? 'jsonl',
      compression: 'none',
      pipeline: buildRecordPipeline(DatasetConfig.parse(options.dataset ?? {})),
    },
    { shard: shard.stream, rejects: rejects.stream },
    { runner: options.runner ?? pool, codec, blockBytes: options.blockBytes ?? 8 },
  );
  shard.stream.end();
  rejects.stream.end();
  await Promise.all([finished(shard.stream), finished(rejects.stream)]);
  const text = (await decodeShard(shard.bytes(), codec)).toString('utf8');
  return { shard: shard.bytes(), lines: text.split('\n').filter(Boolean), rejects: rejects.lines().map((l) => JSON.parse(l)), result };
}

describe('processChunk on a worker pool', () => {
  it('finds invalid UTF-8 whose bytes are split across buffers and blocks, and only there', async () => {
    // "é" is c3 a9; a lone c3 followed by a quote is invalid. One-byte buffers split every sequence.
    const data = Buffer.concat([Buffer.from('{"t":"é"}\n{"t":"'), Buffer.from([0xc3]), Buffer.from('"}\n{"t":"😀"}\n')]);

    const { lines, rejects, result } = await run(data, { bufferSize: 1, blockBytes: 2 });

    expect(lines).toEqual(['{"t":"é"}', '{"t":"😀"}']);
    expect(rejects).toEqual([
      { offset: 11, index: 1, reason: 'the line is not valid UTF-8', record: expect.any(String), recordBase64: Buffer.from([0x7b, 0x22, 0x74, 0x22, 0x3a, 0x22, 0xc3, 0x22, 0x7d]).toString('base64') },
    ]);
    expect(result.rejectedReasons).toEqual({ 'invalid-utf8': 1 });
  });

  it('numbers rejects across blocks by their place in the chunk', async () => {
    const data = ['{"a":1}', 'bad', '{"a":2}', '[3]', '{"a":4}', 'worse'].join('\n');

    const { rejects } = await run(data, { blockBytes: 1 });

    expect(rejects.map((r) => [r.index, r.record])).toEqual([
      [1, 'bad'],
      [3, '[3]'],
      [5, 'worse'],
    ]);
  });

  it('drops duplicates across blocks in chunk order and counts them as filtered', async () => {
    const data = ['{"a":1}', '{"a":2}', '{ "a" : 1 }', '{"a":3}', '{"a":2}', '{"a":4}'].join('\n');

    const { lines, result } = await run(data, { dataset: { dedupe: true }, blockBytes: 1, codec: 'zstd' });

    expect(lines).toEqual(['{"a":1}', '{"a":2}', '{"a":3}', '{"a":4}']);
    expect(result).toMatchObject({ recordsIn: 6, recordsOut: 4, recordsFiltered: 2, filteredReasons: { duplicate: 2 } });
  });

  it("reads a CSV chunk's header from its first block and keys every later block's records by it", async () => {
    const data = '\r\nid,text\r\n1,a\r\n2,b\r\n3,c\r\n4\r\n';

    const { lines, rejects } = await run(data, { format: 'csv', blockBytes: 1 });

    expect(lines).toEqual(['{"id":"1","text":"a"}', '{"id":"2","text":"b"}', '{"id":"3","text":"c"}']);
    expect(rejects).toEqual([expect.objectContaining({ index: 3, reason: 'expected 2 columns, found 1' })]);
  });

  it('keeps a 2 MB record whole', async () => {
    const big = JSON.stringify({ text: 'é'.repeat(1_000_000) });

    const { lines } = await run(`{"a":1}\n${big}\r\n{"a":2}\n`, { bufferSize: 64 * 1024, blockBytes: 64 * 1024, codec: 'gzip' });

    expect(lines).toEqual(['{"a":1}', big, '{"a":2}']);
  });
});

describe('shard codecs', () => {
  const data = Array.from({ length: 300 }, (_, i) => (i % 17 === 0 ? 'bad' : JSON.stringify({ i, t: 'é😀'.repeat(i % 5) }))).join('\n');

  it.each(SHARD_CODECS.map((c) => [c]))('round-trips every accepted record when the codec is %s, one member or frame per block', async (codec) => {
    const plain = await run(data, { codec: 'none', runner: inlineRunner });

    const encoded = await run(data, { codec, blockBytes: 200 });

    expect(encoded.lines).toEqual(plain.lines);
    expect(encoded.lines).toHaveLength(plain.result.recordsOut);
  });

  it('writes a valid empty stream when a chunk accepts no record', async () => {
    const { shard } = await run('bad\n[1]\n', { codec: 'gzip' });

    expect(gunzipSync(shard).length).toBe(0);
    expect((await decodeShard(encodeBlock(new Uint8Array(0), 'zstd', 1), 'zstd')).length).toBe(0);
  });

  it('gives the same bytes whatever the runner and however the body was cut', async () => {
    const a = await run(data, { codec: 'zstd', runner: inlineRunner, bufferSize: 1000, blockBytes: 256 });
    const b = await run(data, { codec: 'zstd', bufferSize: [7, 3, 50], blockBytes: 256 });

    expect(b.shard.equals(a.shard)).toBe(true);
  });

  it('names the codec in the key extension, and reads it back from a key', () => {
    expect(SHARD_CODECS.map(shardExtension)).toEqual(['jsonl.gz', 'jsonl.zst', 'jsonl']);
    expect(SHARD_CODECS.map((c) => codecOfKey(`shards/o/part-000001-a1.${shardExtension(c)}`))).toEqual(SHARD_CODECS);
    expect(codecOfKey('shards/o/part-000001-a1.bin')).toBe('none');
  });
});
