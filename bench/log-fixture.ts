/**
 * Local log files as `shardline local up` writes them, generated for the benchmarks
 * (bench/logs-search.ts, bench/startup.ts).
 */
import { createHash } from 'node:crypto';
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const hex = (s: string) => createHash('sha256').update(s).digest('hex').slice(0, 32);

interface Writer {
  stream: WriteStream;
  buffer: string[];
  lines: number;
}

/** What was generated: a chunk, object and run that have records, the middle of the logged time, the files written. */
export interface GeneratedLogs {
  chunkId: string;
  objectId: string;
  runId: string;
  midRun: number;
  files: number;
}

/**
 * Writes `totalLines` realistic log lines into a local state directory `dir` (local.json, the
 * agents' Powertools JSON with a few plain stderr lines, the chunker's log), the same every time.
 */
export async function generateLogs(dir: string, { totalLines, agents }: { totalLines: number; agents: number }): Promise<GeneratedLogs> {
  // A deterministic pseudo-random stream, so every run generates the same logs.
  let seed = 42;
  const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const int = (n: number) => Math.floor(rand() * n);
  const nodes = Array.from({ length: agents }, (_, i) => `agent-${i + 1}`);
  const logFile = (node: string) => join(dir, 'agents', node, 'agent.log');
  for (const node of nodes) await mkdir(join(dir, 'agents', node), { recursive: true });
  await writeFile(
    join(dir, 'local.json'),
    JSON.stringify({
      endpoint: 'http://127.0.0.1:0',
      region: 'us-east-1',
      agents: nodes.map((nodeId) => ({ nodeId, failureDomain: 'local-a', cacheDir: dir, logFile: logFile(nodeId) })),
      chunkerLogFile: join(dir, 'chunker.log'),
      stateDir: dir,
      startedAt: new Date().toISOString(),
    }),
  );
  const writers = new Map<string, Writer>([...nodes, 'chunker'].map((n) => [n, { stream: createWriteStream(n === 'chunker' ? join(dir, 'chunker.log') : logFile(n)), buffer: [], lines: 0 }]));
  const emit = (node: string, line: string) => {
    const w = writers.get(node)!;
    w.buffer.push(line);
    w.lines++;
  };
  const flush = async () => {
    for (const w of writers.values()) {
      if (w.buffer.length < 5000) continue;
      const ok = w.stream.write(`${w.buffer.join('\n')}\n`);
      w.buffer = [];
      if (!ok) await new Promise<void>((r) => w.stream.once('drain', () => r()));
    }
  };
  const base = (level: string, message: string, time: number, node: string, service = 'shardline-agent') => ({
    level,
    message,
    timestamp: new Date(time).toISOString(),
    service,
    sampling_rate: 0,
    app: 'shardline',
    ...(node === 'chunker' ? {} : { nodeId: node }),
  });

  let time = Date.UTC(2026, 10, 2, 8);
  const started = time;
  let lines = 0;
  let objectIndex = 0;
  let sample = { chunkId: '', objectId: '', runId: '' };
  const runs = ['run-2026-11-02a', 'run-2026-11-02b', ''];
  while (lines < totalLines) {
    const runId = runs[int(runs.length)];
    const objectId = hex(`object-${objectIndex}`);
    const chunks = 16 + int(96);
    emit(
      'chunker',
      JSON.stringify({
        ...base('INFO', 'planned object', time, 'chunker', 'shardline-chunker'),
        objectId,
        key: `datasets/train-${String(objectIndex).padStart(5, '0')}.jsonl`,
        size: chunks * 8_388_608,
        chunks,
        ...(runId ? { runId } : {}),
      }),
    );
    lines++;
    for (let c = 0; c < chunks && lines < totalLines; c++) {
      time += 10 + int(40);
      const node = nodes[int(nodes.length)];
      const chunkId = `${objectId}-${String(c).padStart(6, '0')}`;
      const ids = { objectId, chunkId, attempt: 1, ...(runId ? { runId } : {}) };
      emit(node, JSON.stringify({ ...base('INFO', 'chunk leased', time, node), ...ids, receiveCount: 1 }));
      lines++;
      const roll = rand();
      if (roll < 0.01) {
        emit(
          node,
          JSON.stringify({
            ...base('WARN', 'S3 throttled the chunk; backing off', time + 5, node),
            ...ids,
            errorKind: 'throttled',
            delayMs: 200 + int(800),
            error: { name: 'SlowDown', message: 'Please reduce your request rate.', location: 'lib/agent/chunk-processor.ts:108' },
          }),
        );
        lines++;
      }
      if (roll < 0.001) {
        emit(
          node,
          JSON.stringify({
            ...base('ERROR', 'chunk failed', time + 9, node),
            ...ids,
            errorKind: 'transform',
            error: {
              name: 'Error',
              message: 'record 1289: unexpected token',
              stack: 'Error: record 1289: unexpected token\n    at processChunk (lib/records/process-chunk.ts:88:11)\n    at async ChunkWorker.work (lib/agent/chunk-worker.ts:140:7)',
            },
          }),
        );
        emit(node, '(node:4127) Warning: a promise was rejected with a non-error: [object Object]');
        lines += 2;
      }
      emit(
        node,
        JSON.stringify({
          ...base('INFO', 'chunk processed', time + 30, node),
          ...ids,
          errorKind: undefined,
          queueWaitMs: int(5000),
          totalMs: 200 + int(3000),
          leaseMs: 4 + int(20),
          downloadMs: 50 + int(900),
          processMs: 100 + int(2000),
          uploadMs: 20 + int(400),
          commitMs: 5 + int(30),
          recordsIn: 8000 + int(2000),
          recordsOut: 7990 + int(10),
          recordsRejected: int(5),
          recordsFiltered: int(5),
          bytesIn: 8_388_608,
        }),
      );
      lines++;
      for (let r = 0; r < 2 && lines < totalLines; r++) {
        const replica = nodes[(nodes.indexOf(node) + 1 + r) % nodes.length];
        emit(
          replica,
          JSON.stringify({
            ...base('INFO', 'replica pulled', time + 35, replica),
            objectId,
            chunkId,
            bytes: 2_000_000 + int(500_000),
            sha256: createHash('sha256').update(`${chunkId}-${r}`).digest('hex'),
          }),
        );
        lines++;
      }
      if (objectIndex === 1234 && c === 7) sample = { chunkId, objectId, runId: runId || 'run-2026-11-02a' };
    }
    objectIndex++;
    await flush();
  }
  await Promise.all([...writers.values()].map((w) => new Promise<void>((r) => w.stream.end(w.buffer.length ? `${w.buffer.join('\n')}\n` : '', () => r()))));
  if (!sample.chunkId) sample = { chunkId: `${hex('object-0')}-000003`, objectId: hex('object-0'), runId: 'run-2026-11-02a' };
  return { ...sample, midRun: started + (time - started) / 2, files: writers.size };
}
