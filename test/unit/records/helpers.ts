import { Writable } from 'node:stream';

/** Feeds `data` as an async iterable of buffers of `size` bytes (or sizes cycling through a list). */
export async function* buffersOf(data: Buffer, size: number | number[]): AsyncGenerator<Buffer> {
  const sizes = Array.isArray(size) ? size : [size];
  let i = 0;
  for (let at = 0; at < data.length; i++) {
    const n = Math.max(1, sizes[i % sizes.length]);
    yield data.subarray(at, at + n);
    at += n;
  }
}

/**
 * Like {@link buffersOf}, but every piece is the same buffer refilled, as a body that reuses its
 * buffers does: whatever keeps a piece past the next read sees other bytes.
 */
export async function* refilledBuffersOf(data: Buffer, size: number | number[]): AsyncGenerator<Buffer> {
  const sizes = Array.isArray(size) ? size : [size];
  const buffer = Buffer.alloc(Math.max(1, ...sizes));
  for await (const piece of buffersOf(data, sizes)) {
    buffer.fill('#');
    yield buffer.subarray(0, piece.copy(buffer));
  }
}

/** An async iterable that records how many buffers were pulled and whether it was ended early. */
export function trackedBody(data: Buffer, size: number): { body: AsyncIterable<Buffer>; pulled: () => number; returned: () => boolean } {
  let pulled = 0;
  let returned = false;
  const body: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]() {
      let at = 0;
      return {
        async next() {
          if (at >= data.length) return { done: true, value: undefined };
          pulled++;
          const value = data.subarray(at, at + size);
          at += size;
          return { done: false, value };
        },
        async return() {
          returned = true;
          return { done: true, value: undefined };
        },
      };
    },
  };
  return { body, pulled: () => pulled, returned: () => returned };
}

/** A writable that keeps what it is given. */
export function sink(options: { highWaterMark?: number } = {}): { stream: Writable; bytes: () => Buffer; text: () => string; lines: () => string[] } {
  const parts: Buffer[] = [];
  const stream = new Writable({
    highWaterMark: options.highWaterMark,
    write(chunk: Buffer, _enc, done) {
      parts.push(chunk);
      setImmediate(done);
    },
  });
  const bytes = (): Buffer => Buffer.concat(parts);
  const text = (): string => bytes().toString('utf8');
  return {
    stream,
    bytes,
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l !== ''),
  };
}

/** Drains an async iterable of buffers into one buffer. */
export async function readAll(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const chunk of source) parts.push(Buffer.from(chunk));
  return Buffer.concat(parts);
}
