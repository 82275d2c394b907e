import { cutWindows, type DecompressedWindow } from '../../../lib/windows/cut-windows';
import { ObjectInputError } from '../../../lib/records/input-limits';

async function* pieces(bytes: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let at = 0;
  for (let i = 0; at < bytes.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    yield bytes.subarray(at, at + n);
    at += n;
  }
}

async function windowsOf(bytes: Buffer, windowBytes: number, sizes = [bytes.length || 1], maxLine = 1 << 20): Promise<DecompressedWindow[]> {
  const out: DecompressedWindow[] = [];
  for await (const w of cutWindows(pieces(bytes, sizes), windowBytes, maxLine)) out.push(w);
  return out;
}

/** Lines of pseudo-random lengths 0..max (blank lines too), the last one without its newline when `open`. */
function lines(count: number, max: number, open = false, seed = 1): Buffer {
  const parts: string[] = [];
  for (let i = 0; i < count; i++) {
    seed = (seed * 48271) % 2147483647;
    parts.push('x'.repeat(seed % (max + 1)) + `#${i}`);
  }
  return Buffer.from(parts.join('\n') + (open ? '' : '\n'));
}

describe('cutWindows', () => {
  it('covers the bytes exactly with windows that end right after a newline', async () => {
    const bytes = lines(2000, 120);
    const windows = await windowsOf(bytes, 1000);
    expect(windows.length).toBeGreaterThan(50);
    let offset = 0;
    windows.forEach((w, i) => {
      expect(w).toMatchObject({ index: i, offset, lead: i === 0 ? 0 : 1 });
      expect(w.body.length).toBe(w.length + w.lead);
      expect(w.body.subarray(w.lead).equals(bytes.subarray(w.offset, w.offset + w.length))).toBe(true);
      if (w.lead) expect(bytes[w.offset - 1]).toBe(0x0a);
      expect(bytes[w.offset + w.length - 1]).toBe(0x0a);
      if (i < windows.length - 1) expect(w.length).toBeGreaterThanOrEqual(1000);
      offset += w.length;
    });
    expect(offset).toBe(bytes.length);
  });

  it('cuts at the first newline at or after windowBytes - 1, so a window is never shorter', async () => {
    const bytes = Buffer.from('aaaa\nbbbb\ncc\nd\n');
    const windows = await windowsOf(bytes, 5);
    expect(windows.map((w) => w.body.subarray(w.lead).toString())).toEqual(['aaaa\n', 'bbbb\n', 'cc\nd\n']);
    expect(windows.map((w) => w.offset)).toEqual([0, 5, 10]);
  });

  it('yields the same windows however the stream is cut into buffers', async () => {
    const bytes = lines(3000, 200, true, 7);
    const whole = await windowsOf(bytes, 4096);
    for (const sizes of [[1], [3, 17, 1024], [65536], [4095, 1, 4097]]) {
      const split = await windowsOf(bytes, 4096, sizes);
      expect(split.map((w) => [w.offset, w.length])).toEqual(whole.map((w) => [w.offset, w.length]));
      expect(split.every((w, i) => w.body.equals(whole[i].body))).toBe(true);
    }
  });

  it('keeps an object without a final newline whole in its last window', async () => {
    const bytes = lines(500, 50, true);
    const windows = await windowsOf(bytes, 512);
    const last = windows.at(-1) as DecompressedWindow;
    expect(last.offset + last.length).toBe(bytes.length);
    expect(bytes[bytes.length - 1]).not.toBe(0x0a);
  });

  it('yields one window for an object shorter than a window, and none for an empty one', async () => {
    expect((await windowsOf(Buffer.from('{"a":1}\n{"b":2}'), 1024)).map((w) => w.length)).toEqual([15]);
    expect(await windowsOf(Buffer.alloc(0), 1024)).toEqual([]);
  });

  it('fails the object when a line runs on past maxLineBytes across a cut, instead of holding it', async () => {
    const bytes = Buffer.concat([Buffer.from('short\n'), Buffer.alloc(10_000, 0x61), Buffer.from('\n')]);
    await expect(windowsOf(bytes, 100, [64], 1000)).rejects.toThrow(ObjectInputError);
    // The same line within the limit is kept whole in its window.
    expect((await windowsOf(bytes, 100, [64], 20_000)).map((w) => w.length)).toEqual([bytes.length]);
  });
});
