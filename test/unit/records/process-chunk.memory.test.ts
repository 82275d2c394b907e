import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { processChunk } from '../../../lib/records/process-chunk';
import { createShardOutput } from '../../../lib/records/shard-output';
import { buildRecordPipeline } from '../../../lib/records/transforms';

const TOTAL_BYTES = 300 * 1024 * 1024;
const BOUND_BYTES = 64 * 1024 * 1024;

/** Heap plus Buffer memory: what a stream that buffered the data would grow. */
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** A full collection, so the baseline is not inflated by earlier tests' garbage. */
function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('processChunk memory', () => {
  it('keeps memory growth far below the data size when a 300 MB JSON Lines stream is processed', async () => {
    let block = '';
    for (let i = 0; block.length < 64 * 1024; i++) block += `${JSON.stringify({ id: i, text: 'lorem ipsum dolor sit amet '.repeat(36), lang: 'en' })}\n`;
    const template = Buffer.from(block);
    collectGarbage();
    const baseline = used();
    let peak = 0;
    let produced = 0;
    // Generated on the fly, a fresh buffer each time, as a network stream would deliver it.
    async function* body(): AsyncGenerator<Buffer> {
      for (let n = 0; produced < TOTAL_BYTES; n++) {
        const buf = Buffer.allocUnsafe(template.length);
        template.copy(buf);
        produced += buf.length;
        if (n % 16 === 0) peak = Math.max(peak, used() - baseline);
        yield buf;
      }
    }
    const shard = createShardOutput({ level: 1 });
    let compressed = 0;
    const drained = new Promise<void>((resolve, reject) => {
      shard.readable
        .on('data', (c: Buffer) => (compressed += c.length))
        .on('end', resolve)
        .on('error', reject);
    });
    const rejects = new Writable({ write: (_c, _e, done) => done() });

    const result = await processChunk(
      { body: body(), bodyOffset: 0, start: 0, end: Infinity, format: 'jsonl', compression: 'none', pipeline: buildRecordPipeline(DatasetConfig.parse({})) },
      { shard: shard.writable, rejects },
    );
    shard.writable.end();
    await drained;
    const summary = await shard.finished();

    expect(result.bytesIn).toBe(produced);
    expect(summary.lines).toBe(result.recordsOut);
    expect(summary.bytes).toBe(compressed);
    expect(peak).toBeLessThan(BOUND_BYTES);
  });
});
