import { open } from 'node:fs/promises';

/**
 * Bytes `[start, end)` of a file as a body of one buffer refilled read after read, as a reader
 * that reuses its buffers does: no allocation per read, so the input costs the main thread a
 * copy, not fresh pages and garbage. Whoever reads it must be done with a buffer before asking
 * for the next (the record path's `lineBlocks` copies as it goes).
 */
export async function* refilledFileBody(path: string, start: number, end: number, bufferBytes: number): AsyncGenerator<Buffer> {
  const file = await open(path);
  const buffer = Buffer.allocUnsafeSlow(bufferBytes);
  try {
    for (let at = start; at < end;) {
      const { bytesRead } = await file.read(buffer, 0, Math.min(bufferBytes, end - at), at);
      if (bytesRead === 0) return;
      at += bytesRead;
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    await file.close();
  }
}
