import { formatOfKey } from '../../lib/chunking/chunk';
import { planChunks } from '../../lib/chunking/plan';

describe('formatOfKey', () => {
  it.each([
    ['x/a.jsonl', 'jsonl', 'none'],
    ['x/a.NDJSON.ZST', 'jsonl', 'zstd'],
    ['x/a.json.zstd', 'jsonl', 'zstd'],
    ['x/a.tsv.gz', 'csv', 'gzip'],
    ['x/a.log.gzip', 'text', 'gzip'],
    ['x/v1.2/a.bin', 'binary', 'none'],
    ['x/.hidden.jsonl', 'jsonl', 'none'],
  ])('reads %s as %s + %s', (key, format, compression) => {
    expect(formatOfKey(key)).toEqual({ format, compression });
  });

  it.each([
    ['a.jsonl.bz2', /unsupported compression: bzip2/],
    ['a.txt.xz', /unsupported compression: xz/],
    ['a.jsonl.snappy', /unsupported compression: snappy/],
    ['a.jsonl.br', /unsupported compression: brotli/],
    ['a.7z', /unsupported format: a 7-Zip archive/],
    ['a.tar', /unsupported format: a tar archive/],
    ['a.tgz', /unsupported format: a tar archive/],
    ['a.orc', /unsupported format: ORC/],
    ['a.avro', /unsupported format: Avro/],
    ['a.parquet.gz', /unsupported format: Parquet/],
    ['a.gz', /unknown format: no extension/],
    ['dir.v2/data', /unknown format: no extension/],
    ['a.xml', /unknown format: unknown extension \.xml/],
  ])('refuses %s with the reason', (key, reason) => {
    expect(formatOfKey(key).refused).toMatch(reason);
  });

  it('takes the format from the dataset config, the compression still from the key', () => {
    expect(formatOfKey('a.data.zst', 'jsonl')).toEqual({ format: 'jsonl', compression: 'zstd' });
    expect(formatOfKey('a.data.bz2', 'jsonl').refused).toMatch(/unsupported compression: bzip2/);
  });

  it('passes anything through, compressed or not, when the dataset config says binary', () => {
    expect(formatOfKey('a.parquet', 'binary')).toEqual({ format: 'binary', compression: 'none' });
    expect(formatOfKey('a.tar.bz2', 'binary')).toEqual({ format: 'binary', compression: 'none' });
    expect(formatOfKey('a.bin.gz', 'binary')).toEqual({ format: 'binary', compression: 'gzip' });
  });
});

describe('planChunks of a refused object', () => {
  it('plans no chunks and says why', () => {
    const plan = planChunks({ bucket: 'b', key: 'a.zip', etag: 'e', size: 10_000_000 }, 1024 * 1024);

    expect(plan.chunks).toEqual([]);
    expect(plan.refused).toMatch(/zip archive/);
  });

  it('makes a zstd object one chunk', () => {
    expect(planChunks({ bucket: 'b', key: 'a.jsonl.zst', etag: 'e', size: 10_000_000 }, 1024 * 1024).chunks).toHaveLength(1);
  });
});
