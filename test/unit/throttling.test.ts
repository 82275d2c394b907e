import { DynamoDBClient, DynamoDBServiceException, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { GetObjectCommand, S3Client, S3ServiceException } from '@aws-sdk/client-s3';
import { Readable } from 'node:stream';
import { countThrottles } from '../../lib/aws/throttle-counter';
import { isThrottle, throttleService, type ThrottleService } from '../../lib/aws/throttling';

const awsError = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });
const s3Error = (name: string, status: number) => new S3ServiceException({ name, $fault: 'server', $metadata: { httpStatusCode: status } });
const ddbError = (name: string, status: number) => new DynamoDBServiceException({ name, $fault: 'client', $metadata: { httpStatusCode: status } });

describe('isThrottle', () => {
  it.each(
    [
      ['S3 SlowDown', awsError('SlowDown', 503), true],
      ['a bare S3 503', s3Error('ServiceUnavailable', 503), true],
      ['a 503 with no name at all', Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }), true],
      ['DynamoDB ProvisionedThroughputExceededException', ddbError('ProvisionedThroughputExceededException', 400), true],
      ['DynamoDB ThrottlingException', ddbError('ThrottlingException', 400), true],
      ['DynamoDB RequestLimitExceeded', awsError('RequestLimitExceeded', 400), true],
      ['a 429', awsError('TooManyRequests', 429), true],
      ['an error the SDK marked as throttling', Object.assign(new Error('x'), { $retryable: { throttling: true } }), true],
      ['a missing key', s3Error('NoSuchKey', 404), false],
      ['a conditional check', ddbError('ConditionalCheckFailedException', 400), false],
      ['an internal error', awsError('InternalError', 500), false],
      ['a plain error', new Error('boom'), false],
      ['a string', 'SlowDown', false],
      ['undefined', undefined, false],
    ].map(([name, err, expected]) => ({ name, err, expected })),
  )('$name → $expected', ({ err, expected }) => expect(isThrottle(err)).toBe(expected));
});

describe('throttleService', () => {
  it.each(
    (
      [
        ['S3 SlowDown by name', awsError('SlowDown', 503), 'S3'],
        ['an S3 exception (503)', s3Error('ServiceUnavailable', 503), 'S3'],
        ['a DynamoDB exception', ddbError('ThrottlingException', 400), 'DynamoDB'],
        ['throughput exceeded by name', awsError('ProvisionedThroughputExceededException', 400), 'DynamoDB'],
        ['request limit by name', awsError('RequestLimitExceeded', 400), 'DynamoDB'],
        ['a bare 503 of unknown origin', awsError('Unknown', 503), 'S3'],
        ['a generic ThrottlingException of unknown origin', awsError('ThrottlingException', 400), 'Other'],
        ['not a throttle', s3Error('NoSuchKey', 404), undefined],
      ] as Array<[string, unknown, ThrottleService | undefined]>
    ).map(([name, err, expected]) => ({ name, err, expected })),
  )('$name → $expected', ({ err, expected }) => expect(throttleService(err)).toBe(expected));

  it('uses the caller hint for a throttle that names no service', () => {
    expect(throttleService(awsError('ThrottlingException', 400), 'DynamoDB')).toBe('DynamoDB');
    expect(throttleService(awsError('SlowDown', 503), 'DynamoDB')).toBe('S3'); // the name wins
    expect(throttleService(new Error('boom'), 'S3')).toBeUndefined();
  });
});

/** An HTTP handler that answers every request with `responses` in turn (the last one repeats). */
function scriptedHandler(responses: Array<{ status: number; body: string; headers?: Record<string, string> }>) {
  let i = 0;
  return {
    calls: () => i,
    handler: {
      handle: async () => {
        const r = responses[Math.min(i++, responses.length - 1)];
        // The shape of an HttpResponse (the SDK checks the shape, not the class).
        return { response: { statusCode: r.status, headers: { 'content-type': 'application/xml', ...r.headers }, body: Readable.from([Buffer.from(r.body)]) } };
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
    },
  };
}

const base = { region: 'us-east-1', endpoint: 'http://127.0.0.1:9', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3, retryMode: 'standard' };

describe('countThrottles (SDK middleware inside the retry loop)', () => {
  it('counts every throttled S3 attempt, including those the SDK retried away', async () => {
    const slowDown = { status: 503, body: '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>' };
    const ok = { status: 200, body: 'hello', headers: { 'content-type': 'text/plain', 'content-length': '5' } };
    const script = scriptedHandler([slowDown, slowDown, ok]);
    const s3 = new S3Client({ ...base, forcePathStyle: true, requestHandler: script.handler });
    const seen: Array<{ service: ThrottleService; name: string }> = [];
    countThrottles(s3, 'S3', (service, err) => seen.push({ service, name: (err as Error).name }));

    const out = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' }));

    expect(await out.Body?.transformToString()).toBe('hello');
    expect(script.calls()).toBe(3);
    expect(seen).toEqual([
      { service: 'S3', name: 'SlowDown' },
      { service: 'S3', name: 'SlowDown' },
    ]);
  }, 30_000);

  it('counts DynamoDB throughput-exceeded attempts and lets the final error through unchanged', async () => {
    const exceeded = {
      status: 400,
      body: JSON.stringify({ __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException', message: 'slow down' }),
      headers: { 'content-type': 'application/x-amz-json-1.0' },
    };
    const script = scriptedHandler([exceeded]);
    const ddb = new DynamoDBClient({ ...base, requestHandler: script.handler });
    const seen: ThrottleService[] = [];
    countThrottles(ddb, 'DynamoDB', (service) => seen.push(service));

    const err = await ddb.send(new GetItemCommand({ TableName: 't', Key: { pk: { S: 'a' } } })).catch((e) => e);

    expect(err.name).toBe('ProvisionedThroughputExceededException');
    expect(script.calls()).toBe(3);
    expect(seen).toEqual(['DynamoDB', 'DynamoDB', 'DynamoDB']);
  }, 30_000);

  it('does not count errors that are not throttling, and a failing counter never changes the result', async () => {
    const missing = { status: 404, body: '<Error><Code>NoSuchKey</Code><Message>nope</Message></Error>' };
    const s3 = new S3Client({ ...base, forcePathStyle: true, requestHandler: scriptedHandler([missing]).handler });
    const seen: unknown[] = [];
    countThrottles(s3, 'S3', () => {
      seen.push(1);
      throw new Error('counter broke');
    });
    const err = await s3.send(new GetObjectCommand({ Bucket: 'b', Key: 'k' })).catch((e) => e);
    expect(err.name).toBe('NoSuchKey');
    expect(seen).toEqual([]);
  });
});
