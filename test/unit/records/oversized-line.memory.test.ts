import { Writable } from 'node:stream';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { buildRecordPipeline } from '../../../lib/records/transforms';

const MiB = 1024 * 1024;
const LINE_BYTES = 300 * 1000 * 1000;
const MAX_RECORD_BYTES = 24 * MiB;
const CONCURRENCY = 2;
/** Per chunk: the limit (the most of one line held before it is known to be oversized) plus blocks and input buffers in flight. */
const BOUND_BYTES = CONCURRENCY * (MAX_RECORD_BYTES + 8 * MiB);

/** Heap plus Buffer memory: what holding the line would grow. */
const used = (): number => {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

describe('processChunk memory with an oversized line', () => {
  it(`keeps growth under ${CONCURRENCY} × (maxRecordBytes + 8 MiB) while ${CONCURRENCY} chunks each read a 300 MB newline-free line`, async () => {
    collectGarbage();
    const baseline = used();
    let peak = 0;
    let buffers = 0;
    let samples = 0;
    const head = Buffer.from('{"a":1}\n{"a":2}\n');
    const tail = Buffer.from('\n{"a":3}\n');
    // Fresh 64 KiB buffers, as a network stream delivers them: one line of 300 MB between valid records.
    async function* body(): AsyncGenerator<Buffer> {
      yield head;
      for (let sent = 0; sent < LINE_BYTES; sent += 64 * 1024) {
        const buf = Buffer.allocUnsafe(Math.min(64 * 1024, LINE_BYTES - sent)).fill(0x61);
        // Live memory (collected first): garbage awaiting a collection is not held.
        if (buffers++ % 128 === 0) {
          collectGarbage();
          peak = Math.max(peak, used() - baseline);
          samples++;
        }
        yield buf;
      }
      yield tail;
    }
    const chunk = async (): Promise<{ result: ChunkResult; rejects: string[] }> => {
      const rejects: string[] = [];
      const result = await processChunk(
        { body: body(), bodyOffset: 0, start: 0, end: Infinity, format: 'jsonl', compression: 'none', pipeline: buildRecordPipeline(DatasetConfig.parse({ maxRecordBytes: MAX_RECORD_BYTES })) },
        {
          shard: new Writable({ write: (_c, _e, done) => done() }),
          rejects: new Writable({
            write: (c: Buffer, _e, done) => {
              rejects.push(c.toString());
              done();
            },
          }),
        },
      );
      return { result, rejects };
    };

    const outcomes = await Promise.all(Array.from({ length: CONCURRENCY }, chunk));

    for (const { result, rejects } of outcomes) {
      expect(result).toMatchObject({ recordsIn: 4, recordsOut: 3, recordsRejected: 1, rejectedReasons: { 'record-too-large': 1 }, bytesIn: head.length + LINE_BYTES + tail.length });
      expect(JSON.parse(rejects.join(''))).toMatchObject({ offset: head.length, length: LINE_BYTES, record: 'a'.repeat(256) });
    }
    // Sampled all along both lines (every 128th buffer of 64 KiB). The peak itself may be 0: live memory after a
    // collection can stay below the baseline, which held some of the test's own set-up.
    expect(samples).toBe(Math.ceil((CONCURRENCY * Math.ceil(LINE_BYTES / (64 * 1024))) / 128));
    console.log(`peak live growth ${(peak / MiB).toFixed(1)} MiB in ${samples} samples (bound ${BOUND_BYTES / MiB} MiB)`);
    expect(peak).toBeLessThan(BOUND_BYTES);
    // Far below what holding one line would take.
    expect(peak).toBeLessThan(LINE_BYTES / 4);
  });
});
