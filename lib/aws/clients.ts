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
 */
import { CloudWatchClient } from '@aws-sdk/client-cloudwatch';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the clients send requests. */
export interface AwsClientOptions {
  /** An AWS-compatible endpoint (moto, LocalStack). @default process.env.AWS_ENDPOINT_URL, else AWS itself */
  readonly endpoint?: string;
  /** @default AWS_REGION, else AWS_DEFAULT_REGION, else 'us-east-1' */
  readonly region?: string;
}

/** The SDK clients shardline uses, all bound to one endpoint and region. */
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

const cache = new Map<string, AwsClients>();

/**
 * Returns the clients for `opts`, built once per resolved endpoint, region and credential mode
 * (the environment is read at each call, so a changed `AWS_ENDPOINT_URL` gives new clients).
 */
export function createAwsClients(opts: AwsClientOptions = {}, env: NodeJS.ProcessEnv = process.env): AwsClients {
  const endpoint = opts.endpoint || env.AWS_ENDPOINT_URL || undefined;
  const region = opts.region || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const dummyCredentials = Boolean(endpoint) && !hasConfiguredCredentials(env);
  const key = JSON.stringify([endpoint ?? null, region, dummyCredentials]);
  const cached = cache.get(key);
  if (cached) return cached;

  const base = {
    region,
    // Throttling (S3 SlowDown / 503, DynamoDB throughput exceeded) backs off with jitter and the
    // client rate-limits itself, instead of failing the chunk on the first refusal.
    retryMode: 'adaptive',
    maxAttempts: 8,
    ...(endpoint ? { endpoint } : {}),
    ...(dummyCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
  const s3 = new S3Client({
    ...base,
    ...(endpoint
      ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }
      : {}),
  });
  const sqs = new SQSClient({ ...base, ...(endpoint ? { useQueueUrlAsEndpoint: false } : {}) });
  const ddb = new DynamoDBClient(base);
  const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
  const ecs = new ECSClient(base);
  const sfn = new SFNClient(base);
  const sns = new SNSClient(base);
  const cloudwatch = new CloudWatchClient(base);
  const clients: AwsClients = { s3, sqs, ddb, doc, ecs, sfn, sns, cloudwatch, endpoint, region };
  cache.set(key, clients);
  return clients;
}

/**
 * Another SDK client bound to the same endpoint, region and credentials as `clients` (for
 * services and settings `createAwsClients` does not cover), so an emulator is reached the same way.
 */
export function clientOnSameEndpoint<C>(clients: AwsClients, Client: new (config: Record<string, unknown>) => C, extra: Record<string, unknown> = {}): C {
  return new Client({ region: clients.region, ...(clients.endpoint ? { endpoint: clients.endpoint } : {}), credentials: clients.sqs.config.credentials, ...extra });
}

/** Credentials the default provider chain would pick up from the environment. */
function hasConfiguredCredentials(env: NodeJS.ProcessEnv): boolean {
  return Boolean(
    (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) ||
      env.AWS_PROFILE ||
      env.AWS_WEB_IDENTITY_TOKEN_FILE ||
      env.AWS_CONTAINER_CREDENTIALS_FULL_URI ||
      env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI,
  );
}
