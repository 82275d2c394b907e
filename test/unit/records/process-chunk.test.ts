import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { DatasetConfig, type RecordFormat } from '../../../lib/config/pipeline-config';
import { processChunk, type ChunkResult } from '../../../lib/records/process-chunk';
import { buildRecordPipeline } from '../../../lib/records/transforms';
import { buffersOf, sink, trackedBody } from './helpers';

interface Run {
  result: ChunkResult;
  shard: string[];
  rejects: Array<Record<string, unknown>>;
  shardBytes: Buffer;
}

async function run(
  data: string | Buffer,
  options: { format?: RecordFormat; start?: number; end?: number; gzip?: boolean; csvHeader?: string; dataset?: Record<string, unknown>; bufferSize?: number } = {},
): Promise<Run> {
  const bytes = Buffer.isBuffer(data) ? data : Buffer.from(data, 'utf8');
  const { format = 'jsonl', start = 0, end = bytes.length, gzip = false } = options;
  const lineAligned = format !== 'binary' && !gzip;
  const bodyOffset = lineAligned && start > 0 ? start - 1 : start;
  const shard = sink();
  const rejects = sink();
  const result = await processChunk(
    {
      body: buffersOf(gzip ? gzipSync(bytes) : bytes.subarray(bodyOffset), options.bufferSize ?? 7),
      bodyOffset: gzip ? 0 : bodyOffset,
      start: gzip ? 0 : start,
      end: gzip ? Infinity : end,
      format,
      compression: gzip ? 'gzip' : 'none',
      csvHeader: options.csvHeader,
      pipeline: buildRecordPipeline(DatasetConfig.parse(options.dataset ?? {})),
    },
    { shard: shard.stream, rejects: rejects.stream },
  );
  shard.stream.end();
  rejects.stream.end();
  await Promise.all([finished(shard.stream), finished(rejects.stream)]);
  return { result, shard: shard.lines(), rejects: rejects.lines().map((l) => JSON.parse(l)), shardBytes: shard.bytes() };
}

const balanced = (r: ChunkResult) => r.recordsIn === r.recordsOut + r.recordsRejected + r.recordsFiltered;

describe('processChunk', () => {
  it('writes each JSON Lines record as its original bytes, ended by a bare newline, when no transform changes it', async () => {
    const { shard, shardBytes, result } = await run('{"a": 1}\n\n{ "b" : "x" }\r\n');

    expect(shard).toEqual(['{"a": 1}', '{ "b" : "x" }']);
    expect(shardBytes.toString()).toBe('{"a": 1}\n{ "b" : "x" }\n');
    expect(result).toMatchObject({ recordsIn: 2, recordsOut: 2, recordsRejected: 0, recordsFiltered: 0 });
  });

  it('writes a record as compact JSON when a transform changes it', async () => {
    const { shard } = await run('{"a": 1, "b": " x  y "}\n{"a": 2, "b": "z"}\n', { dataset: { normalize: {} } });

    expect(shard).toEqual(['{"a":1,"b":"x y"}', '{"a": 2, "b": "z"}']);
  });

  it("drops the byte order mark of the object's first record", async () => {
    const { shard } = await run(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('{"a": 1}\n{"b": 2}\n')]));

    expect(shard).toEqual(['{"a": 1}', '{"b": 2}']);
  });

  it('writes rejects with offset, index, reason and the raw line when records are bad', async () => {
    const { rejects, result } = await run('{"a":1}\n[1]\nnot json\n');

    expect(rejects).toEqual([
      { offset: 8, index: 1, reason: 'not a JSON object: the line is an array', record: '[1]' },
      { offset: 12, index: 2, reason: expect.stringMatching(/^invalid JSON: /), record: 'not json' },
    ]);
    expect(result.rejectedReasons).toEqual({ 'not-an-object': 1, 'invalid-json': 1 });
  });

  it('rejects a line with its bytes in base64 when it is not valid UTF-8', async () => {
    const bad = Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]);

    const { rejects, result } = await run(Buffer.concat([bad, Buffer.from('\n{"ok":1}\n')]));

    expect(rejects).toEqual([{ offset: 0, index: 0, reason: 'the line is not valid UTF-8', record: expect.any(String), recordBase64: bad.toString('base64') }]);
    expect(result).toMatchObject({ recordsIn: 2, recordsOut: 1, recordsRejected: 1, rejectedReasons: { 'invalid-utf8': 1 } });
  });

  it('keeps recordsIn = out + rejected + filtered when outcomes are mixed', async () => {
    const data = ['{"t":"hello"}', '{"t":"hi"}', '{"t":"hello"}', '{"t":1}', 'oops', '', '{"t":"world!"}'].join('\n');

    const { result } = await run(data, { dataset: { schema: { type: 'object', properties: { t: { type: 'string' } } }, lengthFilter: { field: 't', min: 3 }, dedupe: true } });

    expect(result).toMatchObject({ recordsIn: 6, recordsOut: 2, recordsRejected: 2, recordsFiltered: 2 });
    expect(result.filteredReasons).toEqual({ 'length:below-min': 1, duplicate: 1 });
    expect(balanced(result)).toBe(true);
  });

  it('accounts every record and every byte exactly once when an object is processed chunk by chunk', async () => {
    const data = Buffer.from(Array.from({ length: 200 }, (_, i) => (i % 7 === 0 ? '' : i % 5 === 0 ? `bad ${i}` : JSON.stringify({ i, s: 'é'.repeat(i % 13) }))).join('\r\n'));
    const chunkSize = 97;

    const runs: Run[] = [];
    for (let start = 0; start < data.length; start += chunkSize) runs.push(await run(data, { start, end: Math.min(start + chunkSize, data.length), bufferSize: 13 }));

    const whole = await run(data);
    const sum = (k: 'recordsIn' | 'recordsOut' | 'recordsRejected' | 'bytesIn') => runs.reduce((n, r) => n + r.result[k], 0);
    expect(sum('recordsIn')).toBe(whole.result.recordsIn);
    expect(sum('recordsOut')).toBe(whole.result.recordsOut);
    expect(sum('recordsRejected')).toBe(whole.result.recordsRejected);
    expect(sum('bytesIn')).toBe(data.length);
    expect(runs.flatMap((r) => r.shard)).toEqual(whole.shard);
  });

  it('skips the header and keys records by it when a CSV chunk starts at 0', async () => {
    const { shard, result } = await run('id,text\r\n1,"a, b"\r\n2,c\r\n', { format: 'csv' });

    expect(shard).toEqual(['{"id":"1","text":"a, b"}', '{"id":"2","text":"c"}']);
    expect(result.recordsIn).toBe(2);
  });

  it('uses the given header when a CSV chunk does not start at 0', async () => {
    const data = 'id,text\n1,a\n2,b\n3\n';

    const { shard, rejects } = await run(data, { format: 'csv', start: 10, csvHeader: 'id,text' });

    expect(shard).toEqual(['{"id":"2","text":"b"}']);
    expect(rejects).toEqual([{ offset: 16, index: 1, reason: 'expected 2 columns, found 1', record: '3' }]);
  });

  it('ignores a given header when the CSV chunk starts at 0', async () => {
    const { shard, result } = await run('id,text\n1,a\n', { format: 'csv', csvHeader: 'id,text' });

    expect(shard).toEqual(['{"id":"1","text":"a"}']);
    expect(result.recordsIn).toBe(1);
  });

  it('throws when a CSV chunk that does not start at 0 has no header', async () => {
    await expect(run('id,text\n1,a\n2,b\n', { format: 'csv', start: 10 })).rejects.toThrow('csvHeader is required');
  });

  it('wraps every line as a text record when the format is text', async () => {
    const { shard } = await run('first line\n\nsecond\n', { format: 'text' });

    expect(shard).toEqual(['{"text":"first line"}', '{"text":"second"}']);
  });

  it('processes the decompressed lines when the object is gzip', async () => {
    const { shard, result } = await run('{"a":1}\n{"a":2}\nbad\n', { gzip: true });

    expect(shard).toEqual(['{"a":1}', '{"a":2}']);
    expect(result).toMatchObject({ recordsIn: 3, recordsOut: 2, recordsRejected: 1, bytesIn: 20 });
  });

  it('fails when a gzip body is corrupt', async () => {
    const shard = sink();
    const rejects = sink();

    const running = processChunk(
      { body: buffersOf(Buffer.from('not gzip at all'), 4), bodyOffset: 0, start: 0, end: Infinity, format: 'jsonl', compression: 'gzip', pipeline: buildRecordPipeline(DatasetConfig.parse({})) },
      { shard: shard.stream, rejects: rejects.stream },
    );

    await expect(running).rejects.toThrow(/incorrect header check/);
  });

  it('passes the bytes of [start, end) through unchanged as one record when the format is binary', async () => {
    const data = Buffer.from(Array.from({ length: 100 }, (_, i) => i));

    const { shardBytes, result } = await run(data, { format: 'binary', start: 20, end: 50, bufferSize: 9 });

    expect(shardBytes.equals(data.subarray(20, 50))).toBe(true);
    expect(result).toEqual({ recordsIn: 1, recordsOut: 1, recordsRejected: 0, recordsFiltered: 0, bytesIn: 30, filteredReasons: {}, rejectedReasons: {} });
  });

  it('stops reading the body when the last owned record is complete', async () => {
    const tracked = trackedBody(Buffer.from('{"a":1}\n'.repeat(1000)), 16);
    const shard = sink();
    const rejects = sink();

    await processChunk(
      { body: tracked.body, bodyOffset: 0, start: 0, end: 20, format: 'jsonl', compression: 'none', pipeline: buildRecordPipeline(DatasetConfig.parse({})) },
      { shard: shard.stream, rejects: rejects.stream },
    );

    expect(tracked.pulled()).toBe(2);
    expect(tracked.returned()).toBe(true);
  });

  it('waits for drain and loses nothing when the shard stream is slow', async () => {
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => JSON.stringify({ i, pad: 'x'.repeat(50) })).join('\n'));
    let maxBuffered = 0;
    const received: Buffer[] = [];
    const slow = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _enc, done) {
        received.push(chunk);
        setTimeout(done, 1);
      },
    });
    const rejects = sink();

    await processChunk(
      {
        body: (async function* () {
          for await (const b of buffersOf(data, 4096)) {
            maxBuffered = Math.max(maxBuffered, slow.writableLength);
            yield b;
          }
        })(),
        bodyOffset: 0,
        start: 0,
        end: data.length,
        format: 'jsonl',
        compression: 'none',
        pipeline: buildRecordPipeline(DatasetConfig.parse({})),
      },
      { shard: slow, rejects: rejects.stream },
    );

    slow.end();
    await finished(slow);
    expect(Buffer.concat(received).toString().trimEnd()).toBe(data.toString());
    expect(maxBuffered).toBeLessThanOrEqual(128 * 1024);
  });

  it('fails instead of hanging when the shard stream is destroyed', async () => {
    const data = Buffer.from('{"a":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}\n'.repeat(20000));
    const shard = new Writable({ highWaterMark: 16, write: () => undefined });
    const rejects = sink();
    setTimeout(() => shard.destroy(new Error('upload aborted')), 20);

    const running = processChunk(
      { body: buffersOf(data, 1024), bodyOffset: 0, start: 0, end: data.length, format: 'jsonl', compression: 'none', pipeline: buildRecordPipeline(DatasetConfig.parse({})) },
      { shard, rejects: rejects.stream },
    );

    await expect(running).rejects.toThrow('upload aborted');
  });
});
