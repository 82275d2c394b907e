import { BY_KEY_SOURCE_BYTES, cutToBytes, layout, MAX_S3_KEY_BYTES, parseByKeyEntry } from '../../../lib/storage/layout';
import { parseManifestKey } from '../../../lib/dataset/select-objects';

const id = '0123456789abcdef0123456789abcdef';
const bytes = (s: string) => Buffer.byteLength(s);

describe('processed-bucket layout', () => {
  it('names a manifest by object id alone', () => {
    expect(layout.manifestKey(id)).toBe(`manifests/${id}.json`);
  });

  it('keeps a short source key whole in the by-key entry, and parses it back', () => {
    const entry = layout.byKeyEntry('in/a b+c/naïve ✓.jsonl', id);
    expect(entry).toBe(`manifests/by-key/in/a b+c/naïve ✓.jsonl/${id}`);
    expect(parseByKeyEntry(entry)).toEqual({ sourceKey: 'in/a b+c/naïve ✓.jsonl', objectId: id, cut: false });
  });

  it.each([
    ['ASCII', 'a'],
    ['2-byte characters', 'ü'],
    ['3-byte characters', '✓'],
    ['4-byte characters', '𝄞'],
  ])('cuts a 1,024-byte key of %s on a whole character so the entry fits S3', (_what, ch) => {
    let key = '';
    while (bytes(key + ch) <= MAX_S3_KEY_BYTES) key += ch;
    const entry = layout.byKeyEntry(key, id);
    expect(bytes(entry)).toBeLessThanOrEqual(MAX_S3_KEY_BYTES);
    expect(bytes(entry)).toBeGreaterThan(MAX_S3_KEY_BYTES - 4);
    const parsed = parseByKeyEntry(entry)!;
    expect(parsed).toMatchObject({ objectId: id, cut: true });
    expect(key.startsWith(parsed.sourceKey)).toBe(true);
    expect(parsed.sourceKey).not.toContain('\ufffd');
  });

  it('cuts strings to at most the given bytes without splitting a character', () => {
    expect(cutToBytes('abc', 10)).toBe('abc');
    expect(cutToBytes('aü✓', 3)).toBe('aü');
    expect(cutToBytes('aü✓', 5)).toBe('aü');
    expect(cutToBytes('aü✓', 6)).toBe('aü✓');
    expect(cutToBytes('𝄞𝄞', 5)).toBe('𝄞');
  });

  it('lists by a prefix longer than an entry keeps through the cut prefix', () => {
    const long = 'p/'.padEnd(2000, 'x');
    expect(layout.byKeyPrefix(long)).toBe(`manifests/by-key/${long.slice(0, BY_KEY_SOURCE_BYTES)}`);
    expect(layout.byKeyEntry(long, id).startsWith(layout.byKeyPrefix(long))).toBe(true);
  });

  it('tells by-key entries, new manifests and manifests under their source key apart', () => {
    expect(parseByKeyEntry(`manifests/${id}.json`)).toBeUndefined();
    expect(parseByKeyEntry(`manifests/by-key/a/${id}.json`)).toBeUndefined();
    expect(parseManifestKey(`manifests/${id}.json`)).toBeUndefined();
    expect(parseManifestKey(`manifests/by-key/a/${id}`)).toBeUndefined();
    // A manifest written under its source key before (the source key itself began with by-key/).
    expect(parseManifestKey(`manifests/by-key/a/${id}.json`)).toEqual({ sourceKey: 'by-key/a', objectId: id });
  });
});
