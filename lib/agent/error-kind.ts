import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { S3ServiceException } from '@aws-sdk/client-s3';
import { SQSServiceException } from '@aws-sdk/client-sqs';
import { LeaseLostError } from '../ledger/chunk-ledger';
import { isObjectInputError } from '../records/input-limits';

/**
 * Why a chunk attempt failed: the `ErrorKind` dimension of the `ChunkErrors` metric and the
 * `errorKind` of a chunk's report and log line. `input` is an object that cannot be used at all
 * (an `ObjectInputError`: a decompression bomb, broken gzip or zstd, a bad CSV header), which
 * fails alike on every attempt.
 */
export type ChunkErrorKind = 's3' | 'dynamodb' | 'sqs' | 'transform' | 'input' | 'lease-lost' | 'malformed' | 'injected' | 'other';

/** Where in a chunk's life an error was thrown: `work` reads S3 and writes S3, `lease` and `commit` talk to DynamoDB and SQS. */
export type ChunkPhase = 'lease' | 'work' | 'commit';

/** A failure injected on purpose (`--fail-keys`): chaos runs and poison-work tests. */
export class InjectedFaultError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InjectedFaultError';
  }
}

/** Node's network error codes: the request never got an AWS answer. */
const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'ECONNABORTED']);
const NETWORK_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'AbortError']);

/**
 * Classifies a chunk error. AWS exceptions name their service through their class; errors without
 * one (network failures, an exception the SDK could not parse) are blamed on the service the phase
 * talks to; anything else thrown while working records is a transform or validation failure.
 * An unusable object is recognised also when its error crossed a record worker thread as a
 * plain `Error` (see `isObjectInputError`).
 */
export function classifyChunkError(err: unknown, phase: ChunkPhase): ChunkErrorKind {
  if (err instanceof LeaseLostError) return 'lease-lost';
  if (err instanceof InjectedFaultError) return 'injected';
  if (isObjectInputError(err)) return 'input';
  if (err instanceof S3ServiceException) return 's3';
  if (err instanceof DynamoDBServiceException) return 'dynamodb';
  if (err instanceof SQSServiceException) return 'sqs';
  const e = (err && typeof err === 'object' ? err : {}) as { name?: string; code?: string; $metadata?: unknown };
  const fromService = e.$metadata !== undefined || NETWORK_CODES.has(e.code ?? '') || NETWORK_NAMES.has(e.name ?? '');
  if (fromService) return phase === 'work' ? 's3' : 'dynamodb';
  return phase === 'work' ? 'transform' : 'other';
}
