import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localLogSources, searchLocalLogs, searchLogFiles, type LogFileSource } from '../../../lib/logs/local-search';
import { matchesQuery } from '../../../lib/logs/match';
import { buildLogQuery, type LogQuery, type LogQueryOptions } from '../../../lib/logs/query';
import { compareRecords, parseJsonObject, timestampOf, toLogRecord, type LogRecord } from '../../../lib/logs/record';

const T0 = Date.UTC(2026, 10, 2, 10);
const iso = (ms: number) => new Date(ms).toISOString();
const json = (ms: number, fields: Record<string, unknown>) => JSON.stringify({ level: 'INFO', message: 'm', timestamp: iso(ms), service: 'shardline-agent', ...fields });

describe('searchLocalLogs', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shardline-logs-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  /** A state directory as `local up` leaves it: local.json, two agents' logs and the chunker's. */
  async function writeStateDir(): Promise<void> {
    const agentLog = (n: number) => join(dir, 'agents', `agent-${n}`, 'agent.log');
    await mkdir(join(dir, 'agents', 'agent-1'), { recursive: true });
    await mkdir(join(dir, 'agents', 'agent-2'), { recursive: true });
    const agents = [1, 2].map((n) => ({ nodeId: `agent-${n}`, failureDomain: 'local-a', cacheDir: '/tmp/x', logFile: agentLog(n) }));
    await writeFile(join(dir, 'local.json'), JSON.stringify({ endpoint: 'http://127.0.0.1:1', region: 'us-east-1', agents, stateDir: dir, chunkerLogFile: join(dir, 'chunker.log') }));
    await writeFile(
      agentLog(1),
      [
        json(T0 + 1000, { nodeId: 'agent-1', message: 'agent started' }),
        json(T0 + 3000, { nodeId: 'agent-1', level: 'WARN', message: 'chunk failed', objectId: 'o1', chunkId: 'o1-000000', attempt: 1 }),
        'Error: unhandled rejection',
        '    at Object.<anonymous> (agent.ts:1:1)',
        json(T0 + 3000, { nodeId: 'agent-1', message: 'chunk processed', objectId: 'o1', chunkId: 'o1-000000', attempt: 2 }),
        '',
      ].join('\n'),
    );
    await writeFile(
      agentLog(2),
      [
        json(T0 + 2000, { nodeId: 'agent-2', message: 'chunk processed', objectId: 'o1', chunkId: 'o1-000001', attempt: 1 }),
        json(T0 + 4000, { nodeId: 'agent-2', level: 'ERROR', message: 'commit refused', objectId: 'o2', chunkId: 'o2-000000', attempt: 1 }) + '\r',
        json(T0 + 5000, { nodeId: 'agent-2', message: 'still being written' }).slice(0, -10), // cut mid-write
      ].join('\n'),
    );
    await writeFile(join(dir, 'chunker.log'), json(T0, { service: 'shardline-chunker', message: 'planned', objectId: 'o1', chunks: 2 }) + '\n');
  }

  const search = async (opts: LogQueryOptions) => (await searchLocalLogs(dir, buildLogQuery(opts))).records.map((r) => `${r.node} ${r.message}`);

  it('merges the agents and the chunker in time order when no filter is given', async () => {
    await writeStateDir();

    expect(await search({})).toEqual([
      'chunker planned',
      'agent-1 agent started',
      'agent-2 chunk processed',
      'agent-1 chunk failed',
      'agent-1 Error: unhandled rejection',
      'agent-1     at Object.<anonymous> (agent.ts:1:1)',
      'agent-1 chunk processed',
      'agent-2 commit refused',
    ]);
  });

  it('returns the most recent records, oldest first, when the limit cuts', async () => {
    await writeStateDir();
    const result = await searchLocalLogs(dir, buildLogQuery({ limit: 2 }));

    expect(result.records.map((r) => r.message)).toEqual(['chunk processed', 'commit refused']);
    expect(result.truncated).toBe(true);
  });

  it('finds the records of an object, its chunks included, on every node and the chunker', async () => {
    await writeStateDir();

    expect(await search({ object: 'o1' })).toEqual(['chunker planned', 'agent-2 chunk processed', 'agent-1 chunk failed', 'agent-1 chunk processed']);
    expect(await search({ chunk: 'o1-000000', level: 'warn' })).toEqual(['agent-1 chunk failed']);
    expect(await search({ level: 'error' })).toEqual(['agent-2 commit refused']);
    expect(await search({ node: 'chunker' })).toEqual(['chunker planned']);
  });

  it('finds plain-text lines (stderr) by text and node, with the time of the record before them', async () => {
    await writeStateDir();
    const { records } = await searchLocalLogs(dir, buildLogQuery({ grep: 'unhandled', node: 'agent-1' }));

    expect(records.map((r) => [r.json, r.raw, iso(r.time)])).toEqual([[false, 'Error: unhandled rejection', iso(T0 + 3000)]]);
  });

  it('keeps records inside --from/--to only', async () => {
    await writeStateDir();

    expect(await search({ from: iso(T0 + 2000), to: iso(T0 + 3000), grep: 'chunk' })).toEqual(['agent-2 chunk processed', 'agent-1 chunk failed', 'agent-1 chunk processed']);
  });

  it('returns the newest records by time when lines were written a little out of order', async () => {
    const path = join(dir, 'agent.log');
    await writeFile(path, [json(T0 + 2000, { message: 'x' }), json(T0, { message: 'y' }), json(T0 + 5000, { message: 'z' })].join('\n') + '\n');
    const { records } = await searchLogFiles([{ path, label: path, node: 'agent-1' }], buildLogQuery({ limit: 2 }));

    expect(records.map((r) => r.message)).toEqual(['x', 'z']);
  });

  it('lists agent logs that local.json no longer names, and no chunker log when there is none', async () => {
    await mkdir(join(dir, 'agents', 'agent-7'), { recursive: true });
    await writeFile(join(dir, 'agents', 'agent-7', 'agent.log'), json(T0, { nodeId: 'agent-7' }) + '\n');

    expect((await localLogSources(dir)).map((s) => [s.node, s.path])).toEqual([['agent-7', join(dir, 'agents', 'agent-7', 'agent.log')]]);
  });

  it('says where it looked when the state directory has no logs', async () => {
    await expect(searchLocalLogs(dir, buildLogQuery({}))).rejects.toThrow(`no log files under ${dir}`);
  });

  // Reading backwards in blocks must give what reading every line would give, whatever the block size.
  describe('against a line-by-line reference', () => {
    let sources: LogFileSource[];
    let refDir: string;

    beforeAll(async () => {
      refDir = await mkdtemp(join(tmpdir(), 'shardline-logs-ref-'));
      sources = [];
      for (const [i, node] of ['agent-1', 'agent-2', 'agent-3', 'chunker'].entries()) {
        const path = join(refDir, `${node}.log`);
        await writeFile(path, generateLog(node, 1000 + i, 200));
        sources.push({ path, label: path, node });
      }
    });
    afterAll(() => rm(refDir, { recursive: true, force: true }));

    const queries: LogQueryOptions[] = [
      {},
      { object: 'o2' },
      { chunk: 'o1-000003' },
      { node: 'agent-2' },
      { node: 'chunker' },
      { run: 'r1' },
      { level: 'warn' },
      { level: 'trace' },
      { grep: 'SlowDown' },
      { grep: 'key "a' },
      { grep: 'Traceback' },
      { object: 'o3', level: 'error', node: 'agent-1' },
      { from: iso(T0 + 60_000), to: iso(T0 + 120_000) },
      { from: iso(T0 + 150_000) },
      { to: iso(T0 + 30_000), level: 'info' },
      { chunk: 'nope' },
    ];
    const cases = queries.flatMap((q) => [1, 7, 100000].map((limit) => ({ ...q, limit })));

    it.each([53, 331, 65536])('returns the reference answer for every query when blocks are %i bytes', async (blockSize) => {
      for (const opts of cases) {
        const query = buildLogQuery(opts);
        const expected = await referenceSearch(sources, query);
        const actual = (await searchLogFiles(sources, query, { blockSize, probeBytes: 3 * blockSize })).records;

        expect({ opts, records: actual.map(describeRecord) }).toEqual({ opts, records: expected.map(describeRecord) });
      }
    });

    it('finds something for most queries, so the comparison means something', async () => {
      const found = await Promise.all(queries.map(async (q) => (await referenceSearch(sources, buildLogQuery({ ...q, limit: 100000 }))).length));

      expect(found.filter((n) => n > 0).length).toBeGreaterThanOrEqual(queries.length - 1);
    });
  });
});

const describeRecord = (r: LogRecord) => `${iso(r.time)} ${r.source}@${r.seq} ${r.raw}`;

/** Every line read and parsed, in file order: the obviously correct (and slow) search. */
async function referenceSearch(sources: LogFileSource[], query: LogQuery): Promise<LogRecord[]> {
  const all: LogRecord[] = [];
  for (const source of sources) {
    const text = await readFile(source.path, 'utf8');
    const lines: Array<{ line: string; offset: number }> = [];
    let offset = 0;
    for (const raw of text.split('\n')) {
      lines.push({ line: raw.replace(/\r$/, ''), offset });
      offset += Buffer.byteLength(raw) + 1;
    }
    if (!text.endsWith('\n')) lines.pop(); // an unfinished last line is not a record yet
    const times = lines.map(({ line }) => {
      const f = parseJsonObject(line);
      return f && timestampOf(f);
    });
    lines.forEach(({ line, offset: at }, i) => {
      if (line === '') return;
      // Plain lines sit between two records of equal time (see generateLog): either neighbour's time is right.
      const time = times[i] ?? times.slice(i + 1).find((t) => t !== undefined) ?? 0;
      const record = toLogRecord(line, source, at, time);
      if (matchesQuery(record, query)) all.push(record);
    });
  }
  return all.sort(compareRecords).slice(-query.limit);
}

/** A seeded log of `lines` lines: JSON records in time order (give or take 20 s), single plain lines, CRLF, blanks, a very long line. */
function generateLog(node: string, seed: number, lines: number): string {
  let s = seed;
  const rand = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const out: string[] = [];
  let t = T0;
  for (let i = 0; i < lines; i++) {
    t += Math.floor(rand() * 2000);
    const object = pick(['o1', 'o2', 'o3']);
    const fields: Record<string, unknown> = {
      level: pick(['DEBUG', 'INFO', 'INFO', 'INFO', 'WARN', 'warning', 'ERROR', 'Critical']),
      message: pick(['chunk processed', 'lease taken', 'S3 SlowDown, backing off', 'bad key "a b"', 'x'.repeat(rand() < 0.01 ? 3000 : 5)]),
      timestamp: iso(rand() < 0.1 ? t - Math.floor(rand() * 20_000) : t), // a little out of order, well within the slack
      ...(node === 'chunker' ? {} : { nodeId: rand() < 0.95 ? node : pick(['agent-1', 'agent-2', 'agent-3']) }),
      ...(rand() < 0.8 ? { chunkId: `${object}-00000${Math.floor(rand() * 6)}` } : {}),
      ...(rand() < 0.5 ? { objectId: object } : {}),
      ...(rand() < 0.3 ? { runId: pick(['r1', 'r2']) } : {}),
    };
    // Most lines as Powertools writes them (level, message, timestamp first); some in another order.
    const { timestamp, ...rest } = fields;
    out.push(JSON.stringify(rand() < 0.2 ? { timestamp, ...rest } : fields) + (rand() < 0.05 ? '\r' : ''));
    if (rand() < 0.05) {
      out.push(pick(['Traceback: boom', '(node:1) Warning: SlowDown', '{not json', '']));
      out.push(JSON.stringify({ ...fields, message: 'after' })); // same time on both sides of the plain line
    }
  }
  return `${out.join('\n')}\n`;
}
