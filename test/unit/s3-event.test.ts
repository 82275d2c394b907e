import { decodeS3EventBody, decodeS3Key, ingestEventLogFields, MalformedEventError } from '../../lib/chunking/s3-event';

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

describe('ingestEventLogFields', () => {
  /** An S3 notification record as AWS sends it, with who sent the object and from where. */
  const notified = (key: string) => ({
    ...created(key),
    userIdentity: { principalId: 'AWS:AIDASECRETPRINCIPAL' },
    requestParameters: { sourceIPAddress: '203.0.113.7' },
    responseElements: { 'x-amz-request-id': 'REQ', 'x-amz-id-2': 'HOSTID' },
  });
  const leaks = /AIDASECRETPRINCIPAL|203\.0\.113\.7|HOSTID|userIdentity|sourceIPAddress/;

  it('names the event, bucket and decoded key of each record, and nothing about the requester', () => {
    const fields = ingestEventLogFields(event([notified('in/my+file.jsonl'), notified('in/b.jsonl')]));
    expect(fields).toEqual({
      records: 2,
      objects: [
        { eventName: 'ObjectCreated:Put', bucket: 'ingest', key: 'in/my file.jsonl' },
        { eventName: 'ObjectCreated:Put', bucket: 'ingest', key: 'in/b.jsonl' },
      ],
    });
    expect(JSON.stringify(fields)).not.toMatch(leaks);
  });

  it('reads any shape leniently: missing parts, bad percent-encoding, non-object records, at most 10 objects', () => {
    const fields = ingestEventLogFields(event([null, 7, { eventName: 'ObjectRemoved:Delete' }, { ...notified('%E0%A4%A'), eventName: 3 }, ...Array(20).fill(notified('k'))]));
    expect(fields).toMatchObject({ records: 24 });
    expect((fields as { objects: unknown[] }).objects).toHaveLength(10);
    expect((fields as { objects: unknown[] }).objects.slice(0, 4)).toEqual([
      { eventName: '(no eventName)' },
      { eventName: '(no eventName)' },
      { eventName: 'ObjectRemoved:Delete' },
      { eventName: '(no eventName)', bucket: 'ingest', key: '%E0%A4%A' },
    ]);
    expect(ingestEventLogFields(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'ingest' }))).toEqual({ eventName: 's3:TestEvent', bucket: 'ingest' });
    expect(ingestEventLogFields(JSON.stringify({ shardlineRun: { runId: 'r1', bucket: 'ingest', keys: ['a', 'b'] } }))).toEqual({ eventName: 'shardline:Run', runId: 'r1', bucket: 'ingest', keys: 2 });
    expect(ingestEventLogFields(JSON.stringify({ userIdentity: { principalId: 'AWS:AIDASECRETPRINCIPAL' } }))).toEqual({ records: 0, objects: [] });
  });

  it('gives only the length and the parse error of a body that is not JSON, without the text JSON.parse quotes', () => {
    const body = `{"userIdentity":{"principalId":"AWS:AIDASECRETPRINCIPAL"},"sourceIPAddress":"203.0.113.7"} trailing`;
    expect(ingestEventLogFields(body)).toEqual({ bodyBytes: body.length, parseError: expect.stringMatching(/position \d+/) });
    const quoted = ingestEventLogFields('AIDASECRETPRINCIPAL 203.0.113.7 is not json');
    expect(quoted).toEqual({ bodyBytes: 43, parseError: expect.stringContaining('not valid JSON') });
    expect(JSON.stringify(quoted)).not.toMatch(leaks);
    expect(ingestEventLogFields('[1,2]')).toEqual({ bodyBytes: 5, parseError: 'body is not a JSON object' });
  });
});
