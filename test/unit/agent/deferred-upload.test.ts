import { Readable } from 'node:stream';
import { createGzip } from 'node:zlib';
import { deferredUpload } from '../../../lib/agent/deferred-upload';

/** A gzip encoder as an output: records go in on the writable side, bytes come out of the readable one. */
function gzipOutput() {
  const gzip = createGzip({ level: 1 });
  return { writable: gzip, readable: gzip };
}

async function collect(body: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of body) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

describe('deferredUpload', () => {
  it('uploads nothing for an output nothing was written to, though its encoder ends with a header and trailer', async () => {
    const output = gzipOutput();
    const uploads: Buffer[] = [];
    const upload = deferredUpload(output, async (body) => void uploads.push(await collect(body)));
    output.writable.end();
    await new Promise((r) => setTimeout(r, 20));
    expect(await upload.finish(false)).toBe(false);
    expect(uploads).toEqual([]);
  });

  it('uploads what was written: streaming once the encoder has produced bytes, or at finish when it produced them only at its end', async () => {
    for (const [lines, streams] of [
      [3, false],
      [20_000, true],
    ] as const) {
      const output = gzipOutput();
      const uploads: Buffer[] = [];
      let startedWhileWriting = false;
      const upload = deferredUpload(output, async (body) => {
        startedWhileWriting = !output.writable.writableEnded;
        uploads.push(await collect(body));
      });
      for (let i = 0; i < lines; i++) {
        if (!output.writable.write(`{"bad": ${i}, "pad": "${i.toString(36).repeat(8)}"}\n`)) await new Promise((r) => output.writable.once('drain', r));
      }
      output.writable.end();
      expect(await upload.finish(true)).toBe(true);
      expect(uploads).toHaveLength(1);
      expect(uploads[0].length).toBeGreaterThan(20);
      expect(startedWhileWriting).toBe(streams);
    }
  });
});
