/**
 * The one place that builds AWS SDK v3 clients, so every part of shardline talks to AWS or to a
 * local endpoint (moto, LocalStack) the same way.
 *
 * Why the local branch exists (see /work/shared/LOCAL-AWS.md):
 * - S3 on an emulator needs path-style URLs (`127.0.0.1:port/bucket`), and PutObject with a
 *   stream of unknown length fails on `x-amz-decoded-content-length` unless checksums are only
 *   computed when an operation requires them.
 * - SQS sends a request to the host named in its QueueUrl unless the endpoint is given to the
 *   client explicitly (`AWS_ENDPOINT_URL` alone is not enough), so it is always passed.
 * - Emulators accept any credentials; dummy ones keep the SDK from searching for real ones.
 *
 * Each client is built, and its SDK package required, the first time it is used: loading all of
 * them costs about half a second, which a CLI command or a Lambda cold start that needs one or
 * two should not pay. Only types are imported at the top.
 */
import type { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { SNSClient } from '@aws-sdk/client-sns';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the clients send requests. */
export interface AwsClientOptions {
  /** An AWS-compatible endpoint (moto, LocalStack). @default process.env.AWS_ENDPOINT_URL, else AWS itself */
  readonly endpoint?: string;
  /** @default AWS_REGION, else AWS_DEFAULT_REGION, else 'us-east-1' */
  readonly region?: string;
}

/** The SDK clients shardline uses, all bound to one endpoint and region; each is built on first use. */
export interface AwsClients {
  readonly s3: S3Client;
  readonly sqs: SQSClient;
  readonly ddb: DynamoDBClient;
  /** DynamoDB with native JS values; `undefined` attributes are dropped. */
  readonly doc: DynamoDBDocumentClient;
  readonly ecs: ECSClient;
  readonly sfn: SFNClient;
  readonly sns: SNSClient;
  /** Metrics (PutMetricData from agents, reads from the CLI). */
  readonly cloudwatch: CloudWatchClient;
  /** The endpoint in use, or undefined for AWS itself. */
  readonly endpoint?: string;
  readonly region: string;
}

/** The configuration every client of one `AwsClients` shares. */
interface BaseConfig {
  region: string;
  retryMode: string;
  maxAttempts: number;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
}

const cache = new Map<string, AwsClients>();
const baseConfigOf = new WeakMap<AwsClients, BaseConfig>();

/**
 * Returns the clients for `opts`, built once per resolved endpoint, region and credential mode
 * (the environment is read at each call, so a changed `AWS_ENDPOINT_URL` gives new clients).
 * Each client is created once, when it is first read.
 */
export function createAwsClients(opts: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const endpoint = opts.endpoint || env.AWS_ENDPOINT_URL || undefined;
  const region = opts.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const dummyCredentials = Boolean(endpoint) && !hasConfiguredCredentials(env);
  const key = JSON.stringify([endpoint ?? null, region, dummyCredentials]);
  const cached = cache.get(key);
  if (cached) return cached;

  const base: BaseConfig = {
    region,
    // Throttling (S3 SlowDown / 503, DynamoDB throughput exceeded) backs off with jitter and the
    // client rate-limits itself, instead of failing the chunk on the first refusal.
    retryMode: 'adaptive',
    maxAttempts: 8,
    ...(endpoint ? { endpoint } : {}),
    ...(dummyCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
  /* eslint-disable @typescript-eslint/no-require-imports -- each SDK package is loaded when its client is first used */
  const s3 = once(() => {
    const { S3Client } = require('@aws-sdk/client-s3') as typeof import('@aws-sdk/client-s3');
    return new S3Client({
      ...base,
      ...(endpoint ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    });
  });
  const sqs = once(() => {
    const { SQSClient } = require('@aws-sdk/client-sqs') as typeof import('@aws-sdk/client-sqs');
    return new SQSClient({ ...base, ...(endpoint ? { useQueueUrlAsEndpoint: false } : {}) });
  });
  const ddb = once(() => new (require('@aws-sdk/client-dynamodb') as typeof import('@aws-sdk/client-dynamodb')).DynamoDBClient(base));
  const doc = once(() => {
    const { DynamoDBDocumentClient } = require('@aws-sdk/lib-dynamodb') as typeof import('@aws-sdk/lib-dynamodb');
    return DynamoDBDocumentClient.from(ddb(), { marshallOptions: { removeUndefinedValues: true } });
  });
  const ecs = once(() => new (require('@aws-sdk/client-ecs') as typeof import('@aws-sdk/client-ecs')).ECSClient(base));
  const sfn = once(() => new (require('@aws-sdk/client-sfn') as typeof import('@aws-sdk/client-sfn')).SFNClient(base));
  const sns = once(() => new (require('@aws-sdk/client-sns') as typeof import('@aws-sdk/client-sns')).SNSClient(base));
  const cloudwatch = once(() => new (require('@aws-sdk/client-cloudwatch') as typeof import('@aws-sdk/client-cloudwatch')).CloudWatchClient(base));
  /* eslint-enable @typescript-eslint/no-require-imports */
  const clients: AwsClients = {
    get s3() {
      return s3();
    },
    get sqs() {
      return sqs();
    },
    get ddb() {
      return ddb();
    },
    get doc() {
      return doc();
    },
    get ecs() {
      return ecs();
    },
    get sfn() {
      return sfn();
    },
    get sns() {
      return sns();
    },
    get cloudwatch() {
      return cloudwatch();
    },
    endpoint,
    region,
  };
  baseConfigOf.set(clients, base);
  cache.set(key, clients);
  return clients;
}

/**
 * Another SDK client bound to the same endpoint, region and credentials as `clients` (for
 * services and settings `createAwsClients` does not cover), so an emulator is reached the same way.
 */
export function clientOnSameEndpoint<C>(clients: AwsClients, Client: new (config: Record<string, unknown>) => C, extra: Record<string, unknown> = {}): C {
  // Known clients give their configured credentials (undefined: the default chain) without building one.
  const base = baseConfigOf.get(clients);
  const credentials = base ? base.credentials : clients.sqs.config.credentials;
  return new Client({ region: clients.region, ...(clients.endpoint ? { endpoint: clients.endpoint } : {}), ...(credentials ? { credentials } : {}), ...extra });
}

/** `build()` on the first call, the same value after. */
function once<T>(build: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= build());
}

/** Credentials the default provider chain would pick up from the environment. */
function hasConfiguredCredentials(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) || env.AWS_PROFILE || env.AWS_WEB_IDENTITY_TOKEN_FILE || env.AWS_CONTAINER_CREDENTIALS_FULL_URI || env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  );
}
