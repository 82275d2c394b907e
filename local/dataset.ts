import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseSize } from '../lib/units';

/** What a generated dataset holds: `records = validRecords + invalidRecords`, one per line. */
export interface GeneratedDataset {
  path: string;
  /** Bytes written: at least the requested size, and over it by less than one line. */
  bytes: number;
  records: number;
  validRecords: number;
  invalidRecords: number;
}

/** Options of {@link generateJsonlDataset}. */
export interface DatasetOptions {
  path: string;
  /** Target size in bytes; the file ends with the first line that reaches it. */
  sizeBytes: number;
  /** One line in this many is invalid; 0 for none. @default about a sixth of the expected lines, at most 5000 */
  invalidEvery?: number;
  /** Same seed, same bytes. @default 1 */
  seed?: number;
}

/** mulberry32: tiny and fast, and unlike Math.random it can be seeded. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const OPENERS = ['The', 'A', 'Every', 'Our', 'This', 'That', 'One'];
const ADJECTIVES = ['noisy', 'multilingual', 'small', 'curious', 'naïve', 'well-tuned', 'sparse', 'quantized', 'late', 'crème-brûlée-loving'];
const NOUNS = ['model', 'tokenizer', 'gradient', 'dataset', 'checkpoint', 'researcher', 'café owner', 'cluster', 'optimizer', 'corpus', 'encoder', 'student'];
const VERBS = ['learns from', 'reads', 'compresses', 'describes', 'predicts', 'ignores', 'improves', 'visits', 'translates', 'summarizes'];
const TAILS = [
  'in Zürich',
  'near 東京 station',
  'after warmup',
  'during the night shift',
  'with señal processing',
  'for обучение',
  'à la française',
  'before the deadline 🚀',
  'without données manquantes',
  'on a rainy Tuesday',
  'at three in the morning',
  'using 8 GPUs',
];
const JOINERS = [', and', ', because', ', while', ' — although', '; meanwhile'];
const SOURCES = ['common-crawl', 'wikipedia', 'books', 'arxiv', 'github', 'stackexchange'];
const DOMAINS = ['example.com', 'blog.example.org', 'docs.example.net', 'forum.example.io'];
const LANGS = ['en', 'en', 'en', 'en', 'en', 'en', 'en', 'de', 'fr', 'es'];
const POOL_SIZE = 4096;
/** Mean line length in bytes, measured; only used to spread the invalid lines over a file. */
const MEAN_LINE_BYTES = 960;
const CHUNK_BYTES = 4 * 1024 * 1024;

/** Sentences are built once per dataset and reused: building text word by word caps the write rate. */
function sentencePool(random: () => number): { text: string; words: number }[] {
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const clause = () => `${pick(ADJECTIVES)} ${pick(NOUNS)} ${pick(VERBS)} the ${pick(ADJECTIVES)} ${pick(NOUNS)} ${pick(TAILS)}`;
  return Array.from({ length: POOL_SIZE }, () => {
    let text = `${pick(OPENERS)} ${clause()}`;
    if (random() < 0.5) text += `${pick(JOINERS)} the ${clause()}`;
    text += random() < 0.9 ? '.' : '?';
    return { text, words: text.split(' ').length };
  });
}

/** Lines that a JSON Lines reader must reject, of every kind we see in real dumps. */
const INVALID: ((n: number, record: string) => string)[] = [
  (_, record) => record.slice(0, Math.floor(record.length / 2)).replace(/[\ud800-\udbff]$/, ''), // truncated write
  (n) => `["doc-${n}", "an array where an object belongs", ${n}]`,
  (n) => `<html><body>502 Bad Gateway (request ${n})</body></html>`,
  (n) => `"a bare JSON string where record ${n} belongs"`,
];

/**
 * Writes a realistic JSON Lines training dataset of about `sizeBytes` to `path`: one record per
 * line (`id, source, lang, text, tokens, split, meta`), about 200 B to 2 KB each, with an invalid
 * line (truncated JSON, an array, plain text, a bare string) every `invalidEvery` lines — at least
 * three in any file over 100 KB. Streams in 4 MiB chunks, so memory stays flat for any size, and
 * writes well over 100 MB/s. Deterministic for a seed.
 */
export async function generateJsonlDataset(opts: DatasetOptions): Promise<GeneratedDataset> {
  const target = parseSize(opts.sizeBytes);
  const every = opts.invalidEvery ?? Math.max(1, Math.min(5000, Math.floor(target / MEAN_LINE_BYTES / 6)));
  if (!Number.isInteger(every) || every < 0) throw new Error(`invalidEvery must be an integer >= 0, got ${opts.invalidEvery}`);
  const random = prng(opts.seed ?? 1);
  const pool = sentencePool(random);
  const pick = <T>(list: T[]): T => list[Math.floor(random() * list.length)];
  const counts = { bytes: 0, valid: 0, invalid: 0 };

  const record = (n: number): string => {
    const sentences = 1 + Math.floor(random() * 12);
    let text = '';
    let words = 0;
    for (let s = 0; s < sentences; s++) {
      const sentence = pool[Math.floor(random() * POOL_SIZE)];
      text += s === 0 ? sentence.text : ` ${sentence.text}`;
      words += sentence.words;
    }
    const id = n.toString().padStart(10, '0');
    const r = random();
    const split = r < 0.95 ? 'train' : r < 0.99 ? 'validation' : 'test';
    const month = String(1 + Math.floor(random() * 12)).padStart(2, '0');
    const quality = Math.floor(random() * 1000) / 1000;
    // A template rather than JSON.stringify: every part is already valid JSON string content.
    return (
      `{"id":"doc-${id}","source":"${pick(SOURCES)}","lang":"${pick(LANGS)}","text":"${text}","tokens":${Math.round(words * 1.3)},` +
      `"split":"${split}","meta":{"url":"https://${pick(DOMAINS)}/p/${id}","crawl":"2025-${month}","quality":${quality},"license":"cc-by-4.0"}}`
    );
  };

  function* chunks(): Generator<Buffer> {
    let buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let offset = 0;
    for (let n = 0; counts.bytes < target; n++) {
      let line = record(n);
      if (every > 0 && n % every === every - 1) {
        line = INVALID[counts.invalid % INVALID.length](n, line);
        counts.invalid++;
      } else counts.valid++;
      // A UTF-16 code unit never takes more than 3 UTF-8 bytes, so this guarantees the line fits.
      if (offset + line.length * 3 + 1 > buf.length) {
        yield buf.subarray(0, offset);
        buf = Buffer.allocUnsafe(CHUNK_BYTES);
        offset = 0;
      }
      const written = buf.write(line, offset);
      buf[offset + written] = 0x0a;
      offset += written + 1;
      counts.bytes += written + 1;
    }
    if (offset > 0) yield buf.subarray(0, offset);
  }

  await pipeline(Readable.from(chunks(), { objectMode: true, highWaterMark: 2 }), createWriteStream(opts.path));
  return { path: opts.path, bytes: counts.bytes, records: counts.valid + counts.invalid, validRecords: counts.valid, invalidRecords: counts.invalid };
}
