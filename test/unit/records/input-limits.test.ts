import fc from 'fast-check';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { compress as zstdCompress } from 'zstd-napi';
import { DatasetConfig, type RecordFormat } from '../../../lib/config/pipeline-config';
import type { Compression } from '../../../lib/chunking/chunk';
import { decompressed } from '../../../lib/records/decompress';
import { lineBlocks, type LineBlock } from '../../../lib/records/line-blocks';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { buildRecordPipeline } from '../../../lib/records/transforms';
import { buffersOf, readAll, refilledBuffersOf, sink, trackedBody } from './helpers';

async function blocksOf(
  data: Buffer,
  options: { start?: number; end?: number; blockBytes?: number; maxRecordBytes: number; bufferSize?: number | number[]; refilled?: boolean },
): Promise<LineBlock[]> {
  const start = options.start ?? 0;
  const bodyOffset = start > 0 ? start - 1 : 0;
  const out: LineBlock[] = [];
  const body = (options.refilled ? refilledBuffersOf : buffersOf)(data.subarray(bodyOffset), options.bufferSize ?? 5);
  for await (const block of lineBlocks(body, { bodyOffset, start, end: options.end ?? data.length, blockBytes: options.blockBytes ?? 8, maxRecordBytes: options.maxRecordBytes })) out.push(block);
  return out;
}

/** Blocks as text, an oversized line as `<offset:length[+]:prefix>`. */
const describeBlocks = (blocks: LineBlock[]) =>
  blocks.map((b) => (b.oversized ? `<${b.offset}:${b.oversized.length}${b.oversized.lengthAtLeast ? '+' : ''}:${b.oversized.prefix.toString()}>` : b.bytes.toString()));

async function run(
  data: Buffer,
  options: { dataset?: Record<string, unknown>; format?: RecordFormat; compression?: Compression; start?: number; end?: number; csvHeader?: string; blockBytes?: number } = {},
): Promise<{ lines: string[]; rejects: Array<Record<string, unknown>>; result: ChunkResult }> {
  const shard = sink();
  const rejects = sink();
  const start = options.start ?? 0;
  const bodyOffset = start > 0 ? start - 1 : 0;
  const result = await processChunk(
    {
      body: buffersOf(data.subarray(bodyOffset), 64 * 1024),
      bodyOffset,
      start,
      end: options.end ?? data.length,
      format: options.format ?? 'jsonl',
      compression: options.compression ?? 'none',
      csvHeader: options.csvHeader,
      pipeline: buildRecordPipeline(DatasetConfig.parse(options.dataset ?? {})),
    },
    { shard: shard.stream, rejects: rejects.stream },
    { blockBytes: options.blockBytes ?? 1024 },
  );
  shard.stream.end();
  rejects.stream.end();
  await Promise.all([finished(shard.stream), finished(rejects.stream)]);
  return { lines: shard.lines(), rejects: rejects.lines().map((l) => JSON.parse(l) as Record<string, unknown>), result };
}

describe('lineBlocks with maxRecordBytes', () => {
  it('cuts a longer line out of its block and yields its offset, length and first bytes instead', async () => {
    const data = Buffer.from(`aa\nbb\n${'x'.repeat(30)}\ncc\n`);

    const blocks = await blocksOf(data, { maxRecordBytes: 10, blockBytes: 100 });

    expect(describeBlocks(blocks)).toEqual(['aa\nbb\n', `<6:30:${'x'.repeat(11)}>`, 'cc\n']);
    expect(blocks[1].oversized?.ownedBytes).toBe(31);
  });

  it('keeps a line of exactly maxRecordBytes (a CR counts, the LF does not)', async () => {
    expect(describeBlocks(await blocksOf(Buffer.from('123456789\r\nab\n'), { maxRecordBytes: 10 }))).toEqual(['123456789\r\n', 'ab\n']);
    expect(describeBlocks(await blocksOf(Buffer.from('1234567890\r\nab\n'), { maxRecordBytes: 10 }))).toEqual(['<0:11:1234567890\r>', 'ab\n']);
  });

  it('gives the same blocks and lengths however the body is cut into buffers, refilled or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(fc.nat(12), fc.nat(600)), { minLength: 1, maxLength: 12 }),
        fc.array(fc.integer({ min: 1, max: 97 }), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 4, max: 64 }),
        async (lengths, sizes, maxRecordBytes) => {
          const data = Buffer.from(lengths.map((n, i) => String.fromCharCode(97 + (i % 26)).repeat(n)).join('\n') + '\n');
          const reference = describeBlocks(await blocksOf(data, { maxRecordBytes, bufferSize: data.length }));
          const split = await blocksOf(data, { maxRecordBytes, bufferSize: sizes });
          expect(describeBlocks(split)).toEqual(reference);
          expect(describeBlocks(await blocksOf(data, { maxRecordBytes, bufferSize: sizes, refilled: true }))).toEqual(reference);
          const owned = split.reduce((n, b) => n + (b.oversized ? b.oversized.ownedBytes : b.bytes.length), 0);
          expect(owned).toBe(data.length);
          for (const b of split) if (!b.oversized) for (const line of b.bytes.toString().split('\n')) expect(line.length).toBeLessThanOrEqual(maxRecordBytes);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('gives up an oversized last line at the end of the chunk, with a length that does not depend on the buffers', async () => {
    const data = Buffer.from(`a\n${'y'.repeat(5000)}`);
    const tracked = trackedBody(data, 7);

    const blocks: LineBlock[] = [];
    for await (const b of lineBlocks(tracked.body, { bodyOffset: 0, start: 0, end: 100, blockBytes: 8, maxRecordBytes: 20 })) blocks.push(b);

    expect(describeBlocks(blocks)).toEqual(['a\n', `<2:98+:${'y'.repeat(21)}>`]);
    expect(tracked.pulled() * 7).toBeLessThan(200);
    expect(tracked.returned()).toBe(true);
  });

  it('stops at its own end when a chunk starts inside a line that runs past it (a newline-free object)', async () => {
    const data = Buffer.alloc(10_000, 'z');
    const tracked = trackedBody(data.subarray(999), 10);

    const blocks: LineBlock[] = [];
    for await (const b of lineBlocks(tracked.body, { bodyOffset: 999, start: 1000, end: 2000, maxRecordBytes: 50 })) blocks.push(b);

    expect(blocks).toEqual([]);
    expect(tracked.pulled() * 10).toBeLessThanOrEqual(1010);
  });
});

describe('processChunk with limits', () => {
  it('rejects a line over maxRecordBytes as record-too-large with its offset, length and a short prefix', async () => {
    const big = `{"text":"${'q'.repeat(5000)}"}`;
    const data = Buffer.from(`{"a":1}\n${big}\n{"a":2}\n`);

    const { lines, rejects, result } = await run(data, { dataset: { maxRecordBytes: 2048 } });

    expect(lines).toEqual(['{"a":1}', '{"a":2}']);
    expect(result).toMatchObject({ recordsIn: 3, recordsOut: 2, recordsRejected: 1, rejectedReasons: { 'record-too-large': 1 }, bytesIn: data.length });
    expect(rejects).toEqual([{ offset: 8, index: 1, reason: expect.stringMatching(/5011 bytes, more than maxRecordBytes \(2048\)/), record: big.slice(0, 256), length: 5011 }]);
  });

  it('fails the chunk when the CSV header is longer than maxRecordBytes', async () => {
    await expect(run(Buffer.from(`${'h'.repeat(3000)}\n1\n`), { format: 'csv', dataset: { maxRecordBytes: 1024 } })).rejects.toThrow(/CSV header is longer than maxRecordBytes/);
  });

  it('reads zstd input, every frame of it', async () => {
    const records = Array.from({ length: 1000 }, (_, i) => JSON.stringify({ i }));
    const data = Buffer.concat([zstdCompress(Buffer.from(`${records.slice(0, 400).join('\n')}\n`)), zstdCompress(Buffer.from(`${records.slice(400).join('\n')}\n`))]);

    const { lines, result } = await run(data, { compression: 'zstd' });

    expect(lines).toEqual(records);
    expect(result).toMatchObject({ recordsIn: 1000, recordsOut: 1000 });
  });

  it('fails a truncated zstd object with the reason', async () => {
    const data = zstdCompress(Buffer.from('{"a":1}\n'.repeat(1000)));

    await expect(run(data.subarray(0, data.length - 5), { compression: 'zstd' })).rejects.toThrow(/invalid zstd input/);
  });

  it('fails an object that is not the gzip its key says', async () => {
    await expect(run(Buffer.from('{"a":1}\n'), { compression: 'gzip' })).rejects.toThrow(/invalid gzip input/);
  });

  it.each([
    ['gzip', (b: Buffer) => gzipSync(b, { level: 9 })],
    ['zstd', (b: Buffer) => zstdCompress(b, { compressionLevel: 19 })],
  ] as const)('stops a %s bomb once it decompresses past maxCompressionRatio', async (compression, compress) => {
    // 96 MiB from about 100 KiB: one well-compressed MiB, as 96 members or frames back to back.
    const member = compress(Buffer.from(`{"t":"${'a'.repeat(1000)}"}\n`.repeat(1024)));
    const bomb = Buffer.concat(Array.from({ length: 96 }, () => member));

    await expect(run(bomb, { compression, blockBytes: 1024 * 1024 })).rejects.toThrow(/maxCompressionRatio \(200\).*decompression bomb/);
  });

  it('stops a compressed object at maxDecompressedBytes', async () => {
    const data = gzipSync(Buffer.from('{"a":1}\n'.repeat(100_000)));

    await expect(run(data, { compression: 'gzip', dataset: { maxDecompressedBytes: 100_000 } })).rejects.toThrow(/more than maxDecompressedBytes \(100000 bytes\)/);
  });

  it('decompresses only as fast as it is read', async () => {
    const bomb = zstdCompress(Buffer.alloc(256 * 1024 * 1024), { compressionLevel: 3 });
    const source = decompressed(buffersOf(bomb, 64 * 1024), 'zstd', { maxDecompressedBytes: Infinity, maxCompressionRatio: Infinity });

    const first = await source.next();
    const before = process.memoryUsage().arrayBuffers;
    await source.next();

    expect(first.value?.length).toBeLessThanOrEqual(256 * 1024);
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(16 * 1024 * 1024);
    await source.return(undefined);
    expect((await readAll(decompressed(buffersOf(zstdCompress(Buffer.from('x\n')), 1), 'zstd', { maxDecompressedBytes: 10, maxCompressionRatio: 1 }))).toString()).toBe('x\n');
  });
});
