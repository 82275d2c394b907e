import { canonicalJson, recordDigest } from '../../../lib/records/canonical-json';

describe('canonicalJson', () => {
  it('sorts keys at every depth when objects are nested', () => {
    const text = canonicalJson({ b: [{ y: 1, x: 2 }], a: { d: null, c: 'é' } });

    expect(text).toBe('{"a":{"c":"é","d":null},"b":[{"x":2,"y":1}]}');
  });

  it('drops undefined fields the way JSON.stringify does', () => {
    expect(canonicalJson({ a: undefined, b: [undefined] })).toBe('{"b":[null]}');
  });
});

describe('recordDigest', () => {
  it('is equal when records differ only in key order', () => {
    expect(recordDigest({ a: 1, b: 2 })).toBe(recordDigest({ b: 2, a: 1 }));
  });

  it('differs when values differ', () => {
    expect(recordDigest({ a: 1 })).not.toBe(recordDigest({ a: '1' }));
  });
});
