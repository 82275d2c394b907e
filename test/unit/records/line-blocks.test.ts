import fc from 'fast-check';
import { lineBlocks, type LineBlock } from '../../../lib/records/line-blocks';
import { buffersOf, refilledBuffersOf, trackedBody } from './helpers';

async function blocksOf(data: Buffer, options: { start?: number; end?: number; blockBytes: number; bufferSize?: number | number[]; refilled?: boolean }): Promise<LineBlock[]> {
  const start = options.start ?? 0;
  const bodyOffset = start > 0 ? start - 1 : 0;
  const out: LineBlock[] = [];
  const body = (options.refilled ? refilledBuffersOf : buffersOf)(data.subarray(bodyOffset), options.bufferSize ?? 5);
  for await (const block of lineBlocks(body, { bodyOffset, start, end: options.end ?? data.length, blockBytes: options.blockBytes })) out.push(block);
  return out;
}

const texts = (blocks: LineBlock[]) => blocks.map((b) => b.bytes.toString());

describe('lineBlocks', () => {
  it('ends each block at the first newline at or after blockBytes from its start', async () => {
    const blocks = await blocksOf(Buffer.from('aaaa\nbb\ncccccc\nd\n'), { blockBytes: 6 });

    expect(texts(blocks)).toEqual(['aaaa\nbb\n', 'cccccc\n', 'd\n']);
    expect(blocks.map((b) => b.offset)).toEqual([0, 8, 15]);
  });

  it('keeps a line longer than a block whole, in a block of its own length', async () => {
    const blocks = await blocksOf(Buffer.from(`${'x'.repeat(50)}\ny\n`), { blockBytes: 4, bufferSize: 7 });

    expect(texts(blocks)).toEqual([`${'x'.repeat(50)}\n`, 'y\n']);
  });

  it('owns the lines whose first byte lies in [start, end) and reads past end only to finish the last one', async () => {
    const data = Buffer.from('aa\nbbbb\ncc\ndd\n');

    const blocks = await blocksOf(data, { start: 4, end: 9, blockBytes: 100 });

    expect(texts(blocks)).toEqual(['cc\n']);
    expect(blocks[0].offset).toBe(8);
  });

  it("yields the object's last line without a final newline", async () => {
    expect(texts(await blocksOf(Buffer.from('a\nb'), { blockBytes: 100 }))).toEqual(['a\nb']);
  });

  it('copies each block to the start of a buffer of its own, apart from the input', async () => {
    const data = Buffer.from('{"a":1}\n{"b":2}\n');

    const [block] = await blocksOf(data, { blockBytes: 100 });
    data.fill('#');

    expect(block.bytes.byteOffset).toBe(0);
    expect(block.bytes.toString()).toBe('{"a":1}\n{"b":2}\n');
  });

  it('keeps no input buffer once the next is read: a body may refill the same one', async () => {
    const data = Buffer.from(`aaaa\n${'b'.repeat(23)}\ncc\ndddd\n`);

    const blocks = await blocksOf(data, { blockBytes: 6, bufferSize: [3, 7, 2], refilled: true });

    expect(texts(blocks)).toEqual(['aaaa\nbbbbbbbbbbbbbbbbbbbbbbb\n', 'cc\ndddd\n']);
  });

  it('stops reading the body once the last owned line is complete', async () => {
    const tracked = trackedBody(Buffer.from('{"a":1}\n'.repeat(1000)), 16);

    for await (const _ of lineBlocks(tracked.body, { bodyOffset: 0, start: 0, end: 20, blockBytes: 8 }));

    expect(tracked.pulled()).toBe(2);
    expect(tracked.returned()).toBe(true);
  });
});

const objectArb = fc.record({
  lines: fc.array(fc.record({ content: fc.string({ unit: fc.constantFrom('a', 'é', '😀', ' ', '\r'), maxLength: 30 }), crlf: fc.boolean() }), { maxLength: 40 }),
  finalNewline: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 200 }),
  blockBytes: fc.integer({ min: 1, max: 64 }),
  bufferSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
});

describe('lineBlocks over every chunk of an object', () => {
  it('covers every byte exactly once, in blocks that do not depend on how the body was cut', async () => {
    await fc.assert(
      fc.asyncProperty(objectArb, async ({ lines, finalNewline, chunkSize, blockBytes, bufferSizes }) => {
        const data = Buffer.from(lines.map((l, i) => l.content + (i < lines.length - 1 || finalNewline ? (l.crlf ? '\r\n' : '\n') : '')).join(''));
        const byBuffers: string[] = [];
        const byOneBuffer: string[] = [];
        const byRefilled: string[] = [];
        for (let start = 0; start < data.length; start += chunkSize) {
          const end = Math.min(start + chunkSize, data.length);
          const cut = await blocksOf(data, { start, end, blockBytes, bufferSize: bufferSizes });
          for (const b of cut) expect(data.subarray(b.offset, b.offset + b.bytes.length).equals(b.bytes)).toBe(true);
          byBuffers.push(...texts(cut));
          byOneBuffer.push(...texts(await blocksOf(data, { start, end, blockBytes, bufferSize: data.length + 1 })));
          byRefilled.push(...texts(await blocksOf(data, { start, end, blockBytes, bufferSize: bufferSizes, refilled: true })));
        }

        expect(byBuffers.join('')).toBe(data.toString());
        expect(byBuffers).toEqual(byOneBuffer);
        expect(byRefilled).toEqual(byBuffers);
      }),
      { numRuns: 300 },
    );
  });
});
