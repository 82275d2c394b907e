import { splitLines, type LineRecord, type SplitStats } from '../../../lib/records/split-lines';
import { buffersOf, trackedBody } from './helpers';

async function split(data: string | Buffer, start: number, end: number, bufferSize = 4, stats?: SplitStats): Promise<Array<{ text: string; offset: number }>> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  const bodyOffset = start > 0 ? start - 1 : 0;
  const out: LineRecord[] = [];
  for await (const record of splitLines(buffersOf(bytes.subarray(bodyOffset), bufferSize), { bodyOffset, start, end, stats })) out.push(record);
  return out.map((r) => ({ text: r.bytes.toString('utf8'), offset: r.offset }));
}

describe('splitLines', () => {
  it('strips CRLF terminators when lines end in \\r\\n', async () => {
    const records = await split('ab\r\ncd\r\n', 0, Infinity);

    expect(records).toEqual([
      { text: 'ab', offset: 0 },
      { text: 'cd', offset: 4 },
    ]);
  });

  it('yields the last record when the final newline is missing', async () => {
    const records = await split('ab\ncd', 0, Infinity);

    expect(records).toEqual([
      { text: 'ab', offset: 0 },
      { text: 'cd', offset: 3 },
    ]);
  });

  it('yields the last record without its \\r when a CRLF file lacks the final newline', async () => {
    const records = await split('ab\r\ncd\r', 0, Infinity);

    expect(records.map((r) => r.text)).toEqual(['ab', 'cd']);
  });

  it('owns zero records when a record is longer than the chunk', async () => {
    const data = `${'x'.repeat(50)}\ny\n`;

    const middle = await split(data, 10, 20);

    expect(middle).toEqual([]);
  });

  it('reads past the end to finish its last record when that record is longer than the chunk', async () => {
    const data = `a\n${'x'.repeat(50)}\ny\n`;

    const first = await split(data, 0, 10);

    expect(first).toEqual([
      { text: 'a', offset: 0 },
      { text: 'x'.repeat(50), offset: 2 },
    ]);
  });

  it('owns the record that starts exactly at start when the byte before is a newline', async () => {
    const data = 'ab\ncd\nef\n';

    const [first, second] = [await split(data, 0, 3), await split(data, 3, 6)];

    expect(first).toEqual([{ text: 'ab', offset: 0 }]);
    expect(second).toEqual([{ text: 'cd', offset: 3 }]);
  });

  it('keeps multi-byte characters intact when they are split across input buffers', async () => {
    const data = 'héllo 😀 wörld\n日本語\n';

    const records = await split(data, 0, Infinity, 1);

    expect(records.map((r) => r.text)).toEqual(['héllo 😀 wörld', '日本語']);
  });

  it('gives a record with a multi-byte character to one chunk when a chunk boundary cuts the character', async () => {
    const data = 'a\n😀😀\nb\n';
    const cut = 4; // inside the first emoji (bytes 2..5)

    const [first, second] = [await split(data, 0, cut, 3), await split(data, cut, Buffer.byteLength(data), 3)];

    expect(first).toEqual([
      { text: 'a', offset: 0 },
      { text: '😀😀', offset: 2 },
    ]);
    expect(second).toEqual([{ text: 'b', offset: 11 }]);
  });

  it('skips blank lines and counts them apart when lines are empty or only \\r', async () => {
    const stats: SplitStats = { ownedBytes: 0, blankLines: 0 };

    const records = await split('\na\n\n\r\nb\n\n', 0, Infinity, 4, stats);

    expect(records).toEqual([
      { text: 'a', offset: 1 },
      { text: 'b', offset: 6 },
    ]);
    expect(stats).toEqual({ ownedBytes: 9, blankLines: 4 });
  });

  it('stops pulling input and ends the body when its last record is complete', async () => {
    const data = Buffer.from('a\nb\nc\n'.repeat(100));
    const tracked = trackedBody(data, 2);

    const records: LineRecord[] = [];
    for await (const r of splitLines(tracked.body, { bodyOffset: 0, start: 0, end: 3 })) records.push(r);

    expect(records.map((r) => r.bytes.toString())).toEqual(['a', 'b']);
    expect(tracked.pulled()).toBe(2);
    expect(tracked.returned()).toBe(true);
  });

  it('throws when the body starts after start - 1', async () => {
    const late = (async () => {
      for await (const _ of splitLines(buffersOf(Buffer.from('c\ndef\n'), 4), { bodyOffset: 2, start: 2, end: 8 })) void _;
    })();

    await expect(late).rejects.toThrow(/needs bytes from 1/);
  });
});
