/**
 * The JSON Lines file of `bench:processing`: realistic training records (text of a few hundred
 * words, some non-ASCII, nested metadata) with the edge cases the record path must survive: a
 * 2 MB record every ~32 MiB, CRLF line ends (10% of lines), invalid JSON (0.5%), JSON that is not
 * an object (0.2%), blank lines (0.2%) and a few lines of invalid UTF-8. Deterministic: the same
 * size always gives the same bytes, so a file left from an earlier run is reused.
 */
import { createWriteStream, existsSync, statSync } from 'node:fs';
import { rename } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';

const FIXTURE_VERSION = 1;
const WORDS = (
  'the of and to in is was for on that with as by at from his her which an be this are it or had not but were they one ' +
  'model data training token layer gradient batch epoch shard record chunk stream cache node host replica ledger queue'
).split(' ');
const NON_ASCII = ['café', 'naïve', 'über', 'Straße', '東京', '日本語', 'данные', 'ελληνικά', '😀', '🚀', 'año', 'façade'];
const BIG_RECORD_EVERY = 32 * 1024 * 1024;

/** A small, fast, seeded PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function words(rand: () => number, n: number, unicode: boolean): string {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(unicode && rand() < 0.08 ? NON_ASCII[Math.floor(rand() * NON_ASCII.length)] : WORDS[Math.floor(rand() * WORDS.length)]);
  return out.join(' ');
}

/** One line (without its terminator) of the file. */
function line(rand: () => number, id: number): string | Buffer {
  const r = rand();
  if (r < 0.005) return `{"id":${id},"text":"${words(rand, 20, false)}`; // invalid JSON: cut short
  if (r < 0.007) return ['[1,2,3]', '42', '"just a string"', 'null', 'true'][Math.floor(rand() * 5)];
  if (r < 0.009) return '';
  if (r < 0.0093) return Buffer.concat([Buffer.from(`{"id":${id},"text":"`), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from('"}')]);
  const unicode = rand() < 0.2;
  return JSON.stringify({
    id,
    text: words(rand, 40 + Math.floor(rand() * 360), unicode),
    lang: unicode ? 'mul' : 'en',
    source: `web/crawl-${Math.floor(rand() * 100)}`,
    score: Math.round(rand() * 1e6) / 1e6,
    tags: ['pretrain', rand() < 0.5 ? 'filtered' : 'raw'],
    meta: { url: `https://example.com/page/${id}`, ts: 1_700_000_000 + id, quality: { ppl: Math.round(rand() * 1000) / 10 } },
  });
}

/**
 * Writes (or reuses) the fixture of `bytes` bytes (about: it ends with a whole line) and returns
 * its path, under the system temporary directory.
 */
export async function processingFixture(bytes: number): Promise<string> {
  const path = join(tmpdir(), `shardline-bench-processing-v${FIXTURE_VERSION}-${bytes}.jsonl`);
  if (existsSync(path) && statSync(path).size >= bytes) return path;
  const partial = `${path}.${process.pid}.partial`;
  const out = createWriteStream(partial, { highWaterMark: 1024 * 1024 });
  const rand = prng(12);
  let written = 0;
  let nextBig = BIG_RECORD_EVERY / 2;
  for (let id = 0; written < bytes; id++) {
    let text: string | Buffer = line(rand, id);
    if (written >= nextBig) {
      text = JSON.stringify({ id, text: words(rand, 330_000, true).slice(0, 2_000_000), lang: 'mul', source: 'book/long', big: true });
      nextBig += BIG_RECORD_EVERY;
    }
    const piece = Buffer.concat([typeof text === 'string' ? Buffer.from(text) : text, Buffer.from(rand() < 0.1 ? '\r\n' : '\n')]);
    written += piece.length;
    if (!out.write(piece)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  await rename(partial, path);
  return path;
}
