import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { classifyChunkError, InjectedFaultError, type ChunkErrorKind, type ChunkPhase } from '../../lib/agent/error-kind';
import { LeaseLostError } from '../../lib/ledger/chunk-ledger';

const meta = { $metadata: { httpStatusCode: 500 } };

describe('classifyChunkError', () => {
  it.each(
    (
      [
        ['a lost lease', new LeaseLostError('c-000001', 1), 'commit', 'lease-lost'],
        ['an injected fault', new InjectedFaultError('injected fault: key matches /poison/'), 'work', 'injected'],
        ['an S3 exception', new S3ServiceException({ name: 'NoSuchKey', $fault: 'client', ...meta }), 'work', 's3'],
        ['a DynamoDB exception while working', new DynamoDBServiceException({ name: 'InternalServerError', $fault: 'server', ...meta }), 'work', 'dynamodb'],
        ['an SQS exception', new SQSServiceException({ name: 'InvalidParameterValue', $fault: 'client', ...meta }), 'commit', 'sqs'],
        ['a connection reset while reading', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'work', 's3'],
        ['a connection reset while committing', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }), 'commit', 'dynamodb'],
        ['an unparsed AWS answer while committing', Object.assign(new Error('Unknown'), meta), 'commit', 'dynamodb'],
        ['a gzip error while working records', Object.assign(new Error('incorrect header check'), { code: 'Z_DATA_ERROR' }), 'work', 'transform'],
        ['a bug while committing', new TypeError('x is undefined'), 'commit', 'other'],
      ] as Array<[string, unknown, ChunkPhase, ChunkErrorKind]>
    ).map(([name, err, phase, kind]) => ({ name, err, phase, kind })),
  )('$name → $kind', ({ err, phase, kind }) => {
    expect(classifyChunkError(err, phase)).toBe(kind);
  });
});
