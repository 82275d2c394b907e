import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** What a generated dataset holds. */
export interface GeneratedDataset {
  path: string;
  bytes: number;
  records: number;
  validRecords: number;
  invalidRecords: number;
}

const UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, TB: 1e12, KIB: 1024, MIB: 1024 ** 2, GIB: 1024 ** 3, TIB: 1024 ** 4 };

/** Parses `24MB`, `1GB`, `500KiB` or a byte count (KB/MB/GB decimal, KiB/MiB/GiB binary). */
export function parseSize(size: string | number): number {
  if (typeof size === 'number' && Number.isFinite(size) && size >= 0) return Math.floor(size);
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(String(size));
  const unit = match && UNITS[(match[2] || 'B').toUpperCase()];
  if (!match || !unit) throw new Error(`invalid size '${size}': use e.g. 24MB, 1GB, 512KiB or a byte count`);
  return Math.floor(Number(match[1]) * unit);
}

/** Small deterministic PRNG (mulberry32), so a seed always gives the same dataset. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ('the model learns from data tokens gradient training batch layer attention embedding sequence ' +
  'loss optimizer weights naïve café résumé Zürich 東京 données señal обучение learning rate schedule warmup ' +
  'checkpoint shard replica node cluster throughput latency sample corpus vocabulary').split(' ');
const SOURCES = ['web', 'books', 'code', 'papers', 'forums', 'wiki'];
const LANGS = ['en', 'en', 'en', 'de', 'fr', 'ja', 'es'];
const INVALID = [
  (id: number) => `{"id": "bad-${id}", "text": "truncated`,
  (id: number) => `[${id}, "an array, not an object"]`,
  (id: number) => `garbage line ${id} <<not json>>`,
];

/**
 * Writes a realistic JSON Lines training dataset of about `sizeBytes` to `path`, streaming (never
 * held in memory), with an invalid line every `invalidEvery` records (at least 3 in any file
 * bigger than 100 KB). Deterministic for a seed.
 */
export async function generateJsonlDataset(opts: { path: string; sizeBytes: number; invalidEvery?: number; seed?: number }): Promise<GeneratedDataset> {
  const random = prng(opts.seed ?? 1);
  const invalidEvery = opts.invalidEvery ?? Math.max(50, Math.min(5000, Math.floor(opts.sizeBytes / 1000 / 4)));
  const out = createWriteStream(opts.path);
  let bytes = 0;
  let valid = 0;
  let invalid = 0;
  let batch: string[] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (!out.write(batch.join(''))) await once(out, 'drain');
    batch = [];
    batchBytes = 0;
  };
  for (let n = 0; bytes < opts.sizeBytes; n++) {
    let line: string;
    if (n > 0 && n % invalidEvery === 0) {
      line = INVALID[invalid % INVALID.length](n) + '\n';
      invalid++;
    } else {
      const words = 30 + Math.floor(random() * 300);
      const text: string[] = [];
      for (let w = 0; w < words; w++) text.push(WORDS[Math.floor(random() * WORDS.length)]);
      line =
        JSON.stringify({
          id: `doc-${String(n).padStart(9, '0')}`,
          source: SOURCES[Math.floor(random() * SOURCES.length)],
          lang: LANGS[Math.floor(random() * LANGS.length)],
          text: text.join(' '),
          tokens: words,
          split: random() < 0.95 ? 'train' : 'validation',
          meta: { quality: Math.round(random() * 1000) / 1000, crawl: `2026-${String(1 + Math.floor(random() * 12)).padStart(2, '0')}` },
        }) + '\n';
      valid++;
    }
    const size = Buffer.byteLength(line);
    bytes += size;
    batch.push(line);
    batchBytes += size;
    if (batchBytes > 1 << 20) await flush();
  }
  await flush();
  out.end();
  await once(out, 'finish');
  return { path: opts.path, bytes, records: valid + invalid, validRecords: valid, invalidRecords: invalid };
}
