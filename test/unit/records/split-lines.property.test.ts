import fc from 'fast-check';
import { splitLines, type SplitStats } from '../../../lib/records/split-lines';
import { buffersOf } from './helpers';

/** One line of a generated object: its content (no \r or \n) and its terminator. */
const lineArb = fc.record({
  content: fc
    .oneof(
      { weight: 2, arbitrary: fc.constant('') },
      { weight: 6, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
      { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom('a', 'é', '😀', '日', ' ', '"', '\t'), maxLength: 8 }) },
      { weight: 1, arbitrary: fc.string({ unit: 'grapheme', minLength: 40, maxLength: 200 }) },
    )
    .map((s) => s.replace(/[\r\n]/g, '_')),
  crlf: fc.boolean(),
});

const objectArb = fc.record({
  lines: fc.array(lineArb, { maxLength: 40 }),
  finalNewline: fc.boolean(),
  chunkSize: fc.integer({ min: 1, max: 96 }),
  bufferSizes: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
});

describe('splitLines over every chunk of an object', () => {
  it('yields every non-empty line exactly once and in order when the object is split at any chunk size', async () => {
    await fc.assert(
      fc.asyncProperty(objectArb, async ({ lines, finalNewline, chunkSize, bufferSizes }) => {
        const expected: Array<{ text: string; offset: number }> = [];
        let text = '';
        lines.forEach((line, i) => {
          if (line.content !== '') expected.push({ text: line.content, offset: Buffer.byteLength(text) });
          text += line.content;
          if (i < lines.length - 1 || finalNewline) text += line.crlf ? '\r\n' : '\n';
        });
        const data = Buffer.from(text, 'utf8');

        const got: Array<{ text: string; offset: number }> = [];
        const stats: SplitStats = { ownedBytes: 0, blankLines: 0 };
        for (let start = 0; start < data.length; start += chunkSize) {
          const end = Math.min(start + chunkSize, data.length);
          const bodyOffset = start > 0 ? start - 1 : 0;
          const body = buffersOf(data.subarray(bodyOffset), bufferSizes);
          for await (const r of splitLines(body, { bodyOffset, start, end, stats })) got.push({ text: r.bytes.toString('utf8'), offset: r.offset });
        }

        expect(got).toEqual(expected);
        expect(got.map((r) => r.text).join('')).toBe(lines.map((l) => l.content).join(''));
        expect(stats.ownedBytes).toBe(data.length);
      }),
      { numRuns: 500 },
    );
  });
});
