import { createHash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { createShardOutput, type ShardSummary } from '../../../lib/records/shard-output';
import { readAll } from './helpers';

async function writeShard(parts: Array<string | Buffer>, options?: Parameters<typeof createShardOutput>[0]): Promise<{ out: Buffer; summary: ShardSummary }> {
  const shard = createShardOutput(options);
  const reading = readAll(shard.readable);
  for (const part of parts) shard.writable.write(part);
  shard.writable.end();
  const out = await reading;
  return { out, summary: await shard.finished() };
}

const lines = ['{"a":1}\n', '{"b":"é😀"}\n{"c":3}\n'];

describe('createShardOutput', () => {
  it('gzips the lines when they are written', async () => {
    const { out } = await writeShard(lines);

    expect(gunzipSync(out).toString('utf8')).toBe(lines.join(''));
  });

  it('reports the sha256 and size of the compressed bytes', async () => {
    const { out, summary } = await writeShard(lines);

    expect(summary.sha256).toBe(createHash('sha256').update(out).digest('hex'));
    expect(summary.bytes).toBe(out.length);
  });

  it('counts the lines written', async () => {
    const { summary } = await writeShard(lines);

    expect(summary.lines).toBe(3);
  });

  it('produces the same bytes when the same lines are written in different pieces', async () => {
    const [a, b] = [await writeShard(lines), await writeShard([lines.join('').slice(0, 5), lines.join('').slice(5)])];

    expect(a.out.equals(b.out)).toBe(true);
    expect(a.summary).toEqual(b.summary);
  });

  it('passes bytes through unchanged when compression is off', async () => {
    const raw = Buffer.from([0, 1, 2, 0x0a, 255]);

    const { out, summary } = await writeShard([raw], { compress: false });

    expect(out.equals(raw)).toBe(true);
    expect(summary).toEqual({ sha256: createHash('sha256').update(raw).digest('hex'), bytes: 5, lines: 1 });
  });

  it('produces an empty gzip member when nothing is written', async () => {
    const { out, summary } = await writeShard([]);

    expect(gunzipSync(out).length).toBe(0);
    expect(summary.lines).toBe(0);
  });

  it('fails both the readable side and finished() when the writable side is destroyed with an error', async () => {
    const shard = createShardOutput();
    const reading = readAll(shard.readable);
    shard.writable.write('{"a":1}\n');

    shard.writable.destroy(new Error('processing failed'));

    await expect(reading).rejects.toThrow('processing failed');
    await expect(shard.finished()).rejects.toThrow('processing failed');
  });
});
