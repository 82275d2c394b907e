import { DatasetConfig } from '../../../lib/config/pipeline-config';
import { buildRecordPipeline } from '../../../lib/records/transforms';

const build = (dataset: Record<string, unknown>) => buildRecordPipeline(DatasetConfig.parse(dataset));

describe('buildRecordPipeline', () => {
  it('passes records through unchanged when the config is empty', () => {
    const run = build({}).forChunk();

    expect(run.apply({ a: 1, b: ' x ' })).toEqual({ kind: 'out', value: { a: 1, b: ' x ' } });
  });

  it('rejects with ajv error text when a record violates the schema', () => {
    const run = build({ schema: { type: 'object', required: ['text'], properties: { text: { type: 'string' } } } }).forChunk();

    const outcome = run.apply({ text: 5 });

    expect(outcome).toEqual({ kind: 'rejected', code: 'schema:#/properties/text/type', reason: 'schema: record/text must be string' });
  });

  it('accepts a record when it satisfies a draft-07 schema', () => {
    const run = build({ schema: { $schema: 'http://json-schema.org/draft-07/schema#', type: 'object', required: ['id'] } }).forChunk();

    expect(run.apply({ id: 1 }).kind).toBe('out');
  });

  it('throws a clear error when the schema is invalid', () => {
    expect(() => build({ schema: { type: 'object', properties: { a: { type: 'strang' } } } })).toThrow(/^invalid dataset schema: /);
  });

  it('throws when the schema has an unknown keyword', () => {
    expect(() => build({ schema: { type: 'object', propertees: {} } })).toThrow('invalid dataset schema: strict mode: unknown keyword: "propertees"');
  });

  it('throws a clear error when the schema uses an unsupported draft', () => {
    expect(() => build({ schema: { $schema: 'http://json-schema.org/draft-04/schema#' } })).toThrow(/unsupported \$schema/);
  });

  it('throws a clear error when the dataset config itself is invalid', () => {
    const bad = { lengthFilter: { field: 'text', min: 9, max: 2 }, dedupe: false } as unknown as DatasetConfig;

    expect(() => buildRecordPipeline(bad)).toThrow('invalid dataset config: lengthFilter: min must not exceed max');
  });

  it('keeps only the selected fields when selectFields is set', () => {
    const run = build({ selectFields: ['b', 'missing'] }).forChunk();

    expect(run.apply({ a: 1, b: 2, c: 3 })).toEqual({ kind: 'out', value: { b: 2 } });
  });

  it('renames fields at once when renames swap names', () => {
    const run = build({ renameFields: { a: 'b', b: 'a' } }).forChunk();

    const outcome = run.apply({ a: 1, b: 2, c: 3 });

    expect(outcome).toEqual({ kind: 'out', value: { b: 1, a: 2, c: 3 } });
  });

  it('lets the renamed field win when it lands on an existing name', () => {
    const run = build({ renameFields: { body: 'text' } }).forChunk();

    expect(run.apply({ text: 'old', body: 'new' })).toEqual({ kind: 'out', value: { text: 'new' } });
  });

  it('applies selection before renaming when both are set', () => {
    const run = build({ selectFields: ['body'], renameFields: { body: 'text' } }).forChunk();

    expect(run.apply({ body: 'x', other: 1 })).toEqual({ kind: 'out', value: { text: 'x' } });
  });

  it('normalizes every string field to NFC with collapsed whitespace when no fields are listed', () => {
    const run = build({ normalize: {} }).forChunk();

    const outcome = run.apply({ a: '  cafe\u0301 \t\n au   lait ', b: 'x  y', n: 1 });

    expect(outcome).toEqual({ kind: 'out', value: { a: 'caf\u00e9 au lait', b: 'x y', n: 1 } });
  });

  it('normalizes only the listed fields when fields are given', () => {
    const run = build({ normalize: { fields: ['a'] } }).forChunk();

    expect(run.apply({ a: ' x  y ', b: ' x  y ' })).toEqual({ kind: 'out', value: { a: 'x y', b: ' x  y ' } });
  });

  it('only applies NFC when whitespace collapsing is off', () => {
    const run = build({ normalize: { collapseWhitespace: false } }).forChunk();

    expect(run.apply({ a: ' e\u0301  ' })).toEqual({ kind: 'out', value: { a: ' \u00e9  ' } });
  });

  it.each([
    [{ text: 'ab' }, 'length:below-min'],
    [{ text: 'abcdef' }, 'length:above-max'],
    [{ text: 7 }, 'length:not-a-string'],
    [{}, 'length:not-a-string'],
  ])('filters %j with %s when its length is out of bounds', (record, code) => {
    const run = build({ lengthFilter: { field: 'text', min: 3, max: 5 } }).forChunk();

    expect(run.apply(record)).toMatchObject({ kind: 'filtered', code });
  });

  it('counts characters as code points when the filtered field has emoji', () => {
    const run = build({ lengthFilter: { field: 'text', max: 3 } }).forChunk();

    expect(run.apply({ text: '😀😀😀' }).kind).toBe('out');
  });

  it('measures length after normalization when both are set', () => {
    const run = build({ normalize: {}, lengthFilter: { field: 'text', max: 3 } }).forChunk();

    expect(run.apply({ text: '   abc   ' })).toEqual({ kind: 'out', value: { text: 'abc' } });
  });

  it('filters exact duplicates after transforms when dedupe is on, whatever the key order', () => {
    const run = build({ dedupe: true, normalize: {} }).forChunk();

    const outcomes = [run.apply({ a: 'x', b: { c: 1, d: 2 } }), run.apply({ b: { d: 2, c: 1 }, a: ' x ' }), run.apply({ a: 'y' })];

    expect(outcomes.map((o) => o.kind)).toEqual(['out', 'filtered', 'out']);
    expect(outcomes[1]).toMatchObject({ code: 'duplicate' });
  });

  it('forgets earlier records when a new chunk starts', () => {
    const pipeline = build({ dedupe: true });
    pipeline.forChunk().apply({ a: 1 });

    expect(pipeline.forChunk().apply({ a: 1 }).kind).toBe('out');
  });

  it('checks the schema against the record as read when fields are renamed', () => {
    const run = build({ schema: { type: 'object', required: ['body'] }, renameFields: { body: 'text' } }).forChunk();

    expect(run.apply({ body: 'x' })).toEqual({ kind: 'out', value: { text: 'x' } });
  });

  it.each([
    ['selectFields', { selectFields: ['a', 'b'] }],
    ['renameFields', { renameFields: { c: 'd' } }],
    ['normalize', { normalize: {} }],
  ])('returns the record itself when %s changes nothing, so its original bytes can be written', (_step, dataset) => {
    const record = { a: 1, b: 'already normal' };

    const outcome = build(dataset).perRecord.apply(record);

    expect(outcome.kind === 'out' && outcome.value).toBe(record);
  });

  it('returns a new record when a step changes it', () => {
    const record = { a: 1, b: '  spaced  ' };

    const outcome = build({ normalize: {} }).perRecord.apply(record);

    expect(outcome).toEqual({ kind: 'out', value: { a: 1, b: 'spaced' } });
    expect(outcome.kind === 'out' && outcome.value).not.toBe(record);
  });
});
