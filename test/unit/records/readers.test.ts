import { createCsvReader } from '../../../lib/records/readers/csv';
import { createJsonlReader } from '../../../lib/records/readers/jsonl';
import { createTextReader } from '../../../lib/records/readers/text';
import { createLineReader } from '../../../lib/records/readers';

describe('jsonl reader', () => {
  it('returns the object when the line is a JSON object', () => {
    const parsed = createJsonlReader().read('{"a":1,"b":[true,null]}');

    expect(parsed).toEqual({ kind: 'record', value: { a: 1, b: [true, null] } });
  });

  it('rejects with the parser message when the line is malformed JSON', () => {
    const parsed = createJsonlReader().read('{"a":');

    expect(parsed).toMatchObject({ kind: 'rejected', code: 'invalid-json', reason: expect.stringMatching(/^invalid JSON: /) });
  });

  it.each([
    ['[1,2]', 'an array'],
    ['42', 'a number'],
    ['"s"', 'a string'],
    ['null', 'null'],
  ])('rejects as not an object when the line is %s', (line, what) => {
    const parsed = createJsonlReader().read(line);

    expect(parsed).toEqual({ kind: 'rejected', code: 'not-an-object', reason: `not a JSON object: the line is ${what}` });
  });

  it('keeps a __proto__ field as data when a record has one', () => {
    const parsed = createJsonlReader().read('{"__proto__":{"x":1}}');

    expect(parsed.kind === 'record' && JSON.stringify(parsed.value)).toBe('{"__proto__":{"x":1}}');
  });
});

describe('csv reader', () => {
  it('takes the first line as the header when no header is given', () => {
    const reader = createCsvReader();

    const results = ['id,name', '1,ann'].map((l) => reader.read(l));

    expect(results).toEqual([{ kind: 'header' }, { kind: 'record', value: { id: '1', name: 'ann' } }]);
  });

  it('keys every line by the given header when the chunk does not start at 0', () => {
    const reader = createCsvReader({ header: 'id,name' });

    const parsed = reader.read('2,bob');

    expect(parsed).toEqual({ kind: 'record', value: { id: '2', name: 'bob' } });
  });

  it('handles quoted fields when they contain delimiters and quotes', () => {
    const reader = createCsvReader({ header: 'id,text' });

    const parsed = reader.read('3,"hello, ""world"""');

    expect(parsed).toEqual({ kind: 'record', value: { id: '3', text: 'hello, "world"' } });
  });

  it('rejects when the column count differs from the header', () => {
    const reader = createCsvReader({ header: 'a,b,c' });

    const parsed = reader.read('1,2');

    expect(parsed).toEqual({ kind: 'rejected', code: 'csv-column-count', reason: 'expected 3 columns, found 2' });
  });

  it('rejects when a quote is not closed on its line', () => {
    const reader = createCsvReader({ header: 'a,b' });

    const parsed = reader.read('1,"open');

    expect(parsed).toMatchObject({ kind: 'rejected', code: 'csv-parse', reason: expect.stringMatching(/^invalid CSV: /) });
  });

  it('splits on tabs when the header is tab-separated', () => {
    const reader = createCsvReader({ header: 'a\tb' });

    const parsed = reader.read('x, y\tz');

    expect(parsed).toEqual({ kind: 'record', value: { a: 'x, y', b: 'z' } });
  });

  it('throws when the header names a column twice', () => {
    const reader = createCsvReader({ header: 'a,a' });

    expect(() => reader.read('1,2')).toThrow('column "a" appears twice');
  });
});

describe('text reader', () => {
  it('wraps the line as a text field', () => {
    const parsed = createTextReader().read('  any line, even {"json"}');

    expect(parsed).toEqual({ kind: 'record', value: { text: '  any line, even {"json"}' } });
  });
});

describe('createLineReader', () => {
  it('refuses binary when asked for a line reader', () => {
    expect(() => createLineReader('binary' as never)).toThrow('no line reader for format "binary"');
  });
});
