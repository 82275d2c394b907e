/**
 * Recognises throttling responses of the services shardline leans on hardest: S3 (`SlowDown`,
 * HTTP 503) and DynamoDB (`ProvisionedThroughputExceededException`, `ThrottlingException`,
 * `RequestLimitExceeded`). Throttling is back pressure, not failure: callers back off and count
 * it (metric `Throttles`, dimension `Service`) rather than failing work.
 */
import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';

/** The `Service` dimension value of a throttle. */
export type ThrottleService = 'S3' | 'DynamoDB' | 'Other';

/** Error names that mean "slow down" (S3 first, DynamoDB next, generic AWS last). */
const S3_NAMES = new Set(['SlowDown']);
const DYNAMODB_NAMES = new Set(['ProvisionedThroughputExceededException', 'RequestLimitExceeded']);
const GENERIC_NAMES = new Set(['ThrottlingException', 'Throttling', 'ThrottledException', 'TooManyRequestsException', 'RequestThrottled', 'RequestThrottledException']);

interface AwsErrorShape {
  name?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: { throttling?: boolean };
}

function shape(err: unknown): AwsErrorShape | undefined {
  return err && typeof err === 'object' ? (err as AwsErrorShape) : undefined;
}

function nameOf(e: AwsErrorShape): string {
  return e.name && e.name !== 'Error' ? e.name : (e.Code ?? '');
}

/**
 * Whether `err` is a throttling response: by error name (`SlowDown`,
 * `ProvisionedThroughputExceededException`, `ThrottlingException`, `RequestLimitExceeded`, …),
 * by HTTP status (503 — S3's SlowDown is sometimes only a bare 503 — or 429), or because the SDK
 * itself classified it as throttling.
 */
export function isThrottle(err: unknown): boolean {
  const e = shape(err);
  if (!e) return false;
  const name = nameOf(e);
  if (S3_NAMES.has(name) || DYNAMODB_NAMES.has(name) || GENERIC_NAMES.has(name)) return true;
  const status = e.$metadata?.httpStatusCode;
  return status === 503 || status === 429 || Boolean(e.$retryable?.throttling);
}

/**
 * Which service throttled: from the SDK's exception class, then from the error name, then from
 * `hint` (the client the error came from, when the caller knows it). `undefined` when `err` is not
 * a throttle at all.
 */
export function throttleService(err: unknown, hint?: ThrottleService): ThrottleService | undefined {
  if (!isThrottle(err)) return undefined;
  if (err instanceof S3ServiceException) return 'S3';
  if (err instanceof DynamoDBServiceException) return 'DynamoDB';
  const name = nameOf(shape(err) as AwsErrorShape);
  if (S3_NAMES.has(name)) return 'S3';
  if (DYNAMODB_NAMES.has(name)) return 'DynamoDB';
  if (hint) return hint;
  // A bare 503 is how S3 throttles; DynamoDB answers 400 with a named exception.
  return (shape(err) as AwsErrorShape).$metadata?.httpStatusCode === 503 ? 'S3' : 'Other';
}
