import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateJsonlDataset } from '../../local/dataset';
import { parseSize } from '../../lib/units';
import { createJsonlReader } from '../../lib/records/readers/jsonl';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shardline-dataset-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The file's lines (without the final empty string after the last newline). */
async function linesOf(path: string): Promise<string[]> {
  const text = await readFile(path, 'utf8');
  expect(text.endsWith('\n')).toBe(true);
  return text.slice(0, -1).split('\n');
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value);
  } catch {
    return false;
  }
}

describe('parseSize', () => {
  it('reads KB/MB/GB as decimal and KiB/MiB/GiB as binary', () => {
    expect(parseSize('64MB')).toBe(64_000_000);
    expect(parseSize('1GB')).toBe(1_000_000_000);
    expect(parseSize('500KiB')).toBe(512_000);
    expect(parseSize('2GiB')).toBe(2 * 1024 ** 3);
    expect(parseSize('1.5mib')).toBe(1.5 * 1024 ** 2);
  });

  it('takes a byte count as a number or a bare string', () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize(' 12 B ')).toBe(12);
  });

  it('throws a clear error when the input is not a size', () => {
    for (const bad of ['', 'lots', '12XB', '-5MB', 'MB', '1e3', '5 M B']) expect(() => parseSize(bad)).toThrow(/invalid size/);
    for (const bad of [-1, NaN, Infinity]) expect(() => parseSize(bad)).toThrow(/invalid size/);
  });
});

describe('generateJsonlDataset', () => {
  it('reports exactly the lines it wrote, valid and invalid', async () => {
    const data = await generateJsonlDataset({ path: join(dir, 'counts.jsonl'), sizeBytes: 300_000, seed: 3 });
    const lines = await linesOf(data.path);
    const valid = lines.filter(isJsonObject).length;
    expect(data.records).toBe(lines.length);
    expect(data.validRecords).toBe(valid);
    expect(data.invalidRecords).toBe(lines.length - valid);
    expect(data.invalidRecords).toBeGreaterThanOrEqual(3);
  });

  it('ends within one line of the requested size', async () => {
    for (const sizeBytes of [1, 999, 50_000, 123_457]) {
      const data = await generateJsonlDataset({ path: join(dir, `size-${sizeBytes}.jsonl`), sizeBytes });
      const content = await readFile(data.path);
      const lastLine = Buffer.byteLength((await linesOf(data.path)).at(-1)!) + 1;
      expect(content.length).toBe(data.bytes);
      expect(data.bytes).toBeGreaterThanOrEqual(sizeBytes);
      expect(data.bytes - lastLine).toBeLessThan(sizeBytes);
    }
  });

  it('writes an empty file when the size is 0', async () => {
    const data = await generateJsonlDataset({ path: join(dir, 'empty.jsonl'), sizeBytes: 0 });
    expect(data).toMatchObject({ bytes: 0, records: 0 });
    expect((await readFile(data.path)).length).toBe(0);
  });

  it('writes the same bytes for the same seed and different bytes for another', async () => {
    const digest = async (name: string, seed: number) => {
      const data = await generateJsonlDataset({ path: join(dir, name), sizeBytes: 200_000, seed });
      return createHash('sha256')
        .update(await readFile(data.path))
        .digest('hex');
    };
    expect(await digest('a.jsonl', 11)).toBe(await digest('b.jsonl', 11));
    expect(await digest('c.jsonl', 12)).not.toBe(await digest('a.jsonl', 11));
  });

  it('makes every invalid line one the JSON Lines reader rejects, of several kinds', async () => {
    const data = await generateJsonlDataset({ path: join(dir, 'invalid.jsonl'), sizeBytes: 400_000, invalidEvery: 50, seed: 5 });
    const reader = createJsonlReader();
    const invalid = (await linesOf(data.path)).filter((line) => !isJsonObject(line));
    expect(invalid).toHaveLength(data.invalidRecords);
    for (const line of invalid) expect(reader.read(line).kind).toBe('rejected');
    expect(invalid.some((l) => l.startsWith('{'))).toBe(true); // truncated record
    expect(invalid.some((l) => l.startsWith('['))).toBe(true); // array
    expect(invalid.some((l) => l.startsWith('<'))).toBe(true); // plain text
  });

  it('puts at least 3 invalid lines in any file over 100 KB', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const data = await generateJsonlDataset({ path: join(dir, `small-${seed}.jsonl`), sizeBytes: 100_001, seed });
      expect(data.invalidRecords).toBeGreaterThanOrEqual(3);
    }
  });

  it('writes no invalid lines when invalidEvery is 0', async () => {
    const data = await generateJsonlDataset({ path: join(dir, 'clean.jsonl'), sizeBytes: 100_000, invalidEvery: 0 });
    expect(data.invalidRecords).toBe(0);
    expect((await linesOf(data.path)).every(isJsonObject)).toBe(true);
  });

  it('writes training records of varied length with the expected fields and some unicode', async () => {
    const data = await generateJsonlDataset({ path: join(dir, 'records.jsonl'), sizeBytes: 500_000, invalidEvery: 0, seed: 9 });
    const lines = await linesOf(data.path);
    const sizes = lines.map((l) => Buffer.byteLength(l));
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(200);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(2600);
    expect(new Set(sizes).size).toBeGreaterThan(lines.length / 2);
    for (const line of lines) {
      const r = JSON.parse(line);
      expect(r).toEqual({
        id: expect.stringMatching(/^doc-\d+$/),
        source: expect.any(String),
        lang: expect.any(String),
        text: expect.any(String),
        tokens: expect.any(Number),
        split: expect.stringMatching(/^(train|validation|test)$/),
        meta: expect.objectContaining({ url: expect.any(String), quality: expect.any(Number) }),
      });
    }
    expect(lines.some((l) => /[^\p{ASCII}]/u.test(l))).toBe(true);
  });

  it('rejects a negative invalidEvery', async () => {
    await expect(generateJsonlDataset({ path: join(dir, 'x.jsonl'), sizeBytes: 10, invalidEvery: -1 })).rejects.toThrow(/invalidEvery/);
  });
});
