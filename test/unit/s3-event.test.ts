import { decodeS3EventBody, decodeS3Key, MalformedEventError } from '../../lib/chunking/s3-event';

const event = (records: unknown[]) => JSON.stringify({ Records: records });
const created = (key: string, eventName = 'ObjectCreated:Put') => ({
  eventName,
  s3: { bucket: { name: 'ingest' }, object: { key, size: 10, versionId: 'v1' } },
});

describe('decodeS3Key', () => {
  it('turns + into a space and decodes percent-encoded UTF-8 including slashes', () => {
    expect(decodeS3Key('in%2Fmy+file%C3%A9+%2B1.jsonl')).toBe('in/my fileé +1.jsonl');
  });
});

describe('decodeS3EventBody', () => {
  it('recognises the s3:TestEvent sent when notifications are configured', () => {
    expect(decodeS3EventBody(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))).toEqual({ kind: 'test' });
  });

  it('returns created objects with decoded keys and versions', () => {
    const decoded = decodeS3EventBody(event([created('a+b%2F%E2%9C%93.csv')]));
    expect(decoded).toEqual({
      kind: 'objects',
      objects: [{ bucket: 'ingest', key: 'a b/✓.csv', versionId: 'v1', size: 10, eventName: 'ObjectCreated:Put' }],
      ignored: [],
    });
  });

  it('ignores non-create events but reports them', () => {
    const decoded = decodeS3EventBody(event([created('k', 'ObjectRemoved:Delete')]));
    expect(decoded).toEqual({ kind: 'objects', objects: [], ignored: ['ObjectRemoved:Delete'] });
  });

  it.each([
    ['not json', 'body is not JSON'],
    ['{"foo":1}', 'no Records array'],
    [event([{ eventName: 'ObjectCreated:Put', s3: {} }]), 'without bucket name'],
    [event([created('%E0%A4%A')]), 'not valid percent-encoding'],
  ])('throws MalformedEventError for %s', (body, reason) => {
    expect(() => decodeS3EventBody(body)).toThrow(MalformedEventError);
    expect(() => decodeS3EventBody(body)).toThrow(reason);
  });
});
