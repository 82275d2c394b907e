import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ECSClient } from '@aws-sdk/client-ecs';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/** Where the clients point: AWS itself, or an AWS-compatible endpoint (LocalStack, moto). */
export interface AwsClientOptions {
  /** Endpoint URL; defaults to AWS_ENDPOINT_URL when set. */
  endpoint?: string;
  /** Region; defaults to AWS_REGION / AWS_DEFAULT_REGION, else us-east-1. */
  region?: string;
}

/** The SDK v3 clients shardline uses, all pointed at one place. */
export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  ddb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  ecs: ECSClient;
  endpoint?: string;
  region: string;
}

const cache = new Map<string, AwsClients>();

/**
 * Creates (once per endpoint and region) the SDK clients. Against a local endpoint: path-style
 * S3 (emulators do not serve virtual-host buckets), checksums only when required (streams of
 * unknown length fail otherwise), dummy credentials when none are configured, and an explicit
 * endpoint for SQS so a QueueUrl naming another host cannot redirect requests.
 */
export function createAwsClients(opts: AwsClientOptions = {}): AwsClients {
  const endpoint = opts.endpoint ?? process.env.AWS_ENDPOINT_URL ?? undefined;
  const region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
  const cacheKey = `${endpoint ?? 'aws'}|${region}`;
  const cached = cache.get(cacheKey);
  if (cached) return cached;
  const hasCredentials = Boolean(process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE || process.env.AWS_CONTAINER_CREDENTIALS_RELATIVE_URI);
  const common = {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(endpoint && !hasCredentials ? { credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {}),
  };
  const ddb = new DynamoDBClient(common);
  const clients: AwsClients = {
    s3: new S3Client({
      ...common,
      ...(endpoint ? { forcePathStyle: true, requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' } : {}),
    }),
    sqs: new SQSClient({ ...common, ...(endpoint ? { useQueueUrlAsEndpoint: false } : {}) }),
    ddb,
    doc: DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } }),
    ecs: new ECSClient(common),
    endpoint,
    region,
  };
  cache.set(cacheKey, clients);
  return clients;
}
