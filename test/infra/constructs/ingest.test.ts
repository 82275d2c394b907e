import { Template } from 'aws-cdk-lib/assertions';
import { Ingest } from '../../../infra/constructs/ingest';
import { acknowledgeIngestFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, dataFixtures, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const { storage, state, workQueues } = dataFixtures(stack);
const ingest = new Ingest(stack, 'Ingest', {
  processedBucket: storage.processedBucket,
  accessLogsBucket: storage.accessLogsBucket,
  workQueue: workQueues.workQueue,
  ledgerTable: state.ledgerTable,
  controlTable: state.controlTable,
  pipeline: { chunkSizeBytes: 8 * 1024 * 1024 },
  memorySize: 1024,
  batchSize: 5,
  maxConcurrency: 3,
  retainData: false,
  logRetentionDays: 14,
});
acknowledgeIngestFindings(ingest, { buckets: [storage.processedBucket], ledgerTable: state.ledgerTable });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any>; DeletionPolicy?: string }>;
const chunkerPolicy = () =>
  JSON.stringify(Object.values(template.findResources('AWS::IAM::Policy')).find((p) => JSON.stringify(p.Properties.Roles).includes(logicalIdOf(ingest.chunker.role!)))!.Properties.PolicyDocument);

describe('Ingest bucket', () => {
  it('encrypts and versions it, blocks public access and logs access under ingest/', () => {
    const { Properties, DeletionPolicy } = resources[logicalIdOf(ingest.ingestBucket)];
    expect(Properties).toMatchObject({
      BucketEncryption: { ServerSideEncryptionConfiguration: [{ ServerSideEncryptionByDefault: { SSEAlgorithm: 'AES256' } }] },
      VersioningConfiguration: { Status: 'Enabled' },
      PublicAccessBlockConfiguration: { BlockPublicAcls: true, BlockPublicPolicy: true, IgnorePublicAcls: true, RestrictPublicBuckets: true },
      LoggingConfiguration: { DestinationBucketName: { Ref: logicalIdOf(storage.accessLogsBucket) }, LogFilePrefix: 'ingest/' },
    });
    expect(DeletionPolicy).toBe('Delete');
  });

  it('sends ObjectCreated notifications to the ingest-events queue, not to the Lambda', () => {
    template.hasResourceProperties('Custom::S3BucketNotifications', {
      BucketName: { Ref: logicalIdOf(ingest.ingestBucket) },
      NotificationConfiguration: { QueueConfigurations: [{ Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [logicalIdOf(ingest.eventsQueue), 'Arn'] } }] },
    });
  });
});

describe('Ingest-events queue', () => {
  it('is encrypted, keeps an event invisible six chunker timeouts and dead-letters it after 5 receives', () => {
    expect(resources[logicalIdOf(ingest.eventsQueue)].Properties).toMatchObject({
      SqsManagedSseEnabled: true,
      VisibilityTimeout: 1800,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(ingest.eventsDlq), 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(resources[logicalIdOf(ingest.eventsDlq)].Properties.SqsManagedSseEnabled).toBe(true);
  });
});

describe('Chunker', () => {
  it("is the one Lambda of the construct besides CDK's notifications helper", () => {
    const functions = Object.keys(template.findResources('AWS::Lambda::Function'));
    expect(functions).toHaveLength(2);
    expect(functions).toContain(logicalIdOf(ingest.chunker));
  });

  it('runs Node.js 24 on ARM64, traced, with the memory and timeout it needs and the resources in its environment', () => {
    expect(resources[logicalIdOf(ingest.chunker)].Properties).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 300,
      TracingConfig: { Mode: 'Active' },
      Environment: {
        Variables: {
          [RESOURCES.processedBucket.envVar]: { Ref: logicalIdOf(storage.processedBucket) },
          [RESOURCES.workQueueUrl.envVar]: { Ref: logicalIdOf(workQueues.workQueue) },
          [RESOURCES.ledgerTable.envVar]: { Ref: logicalIdOf(state.ledgerTable) },
          [RESOURCES.controlTable.envVar]: { Ref: logicalIdOf(state.controlTable) },
          SHARDLINE_CONFIG: JSON.stringify({ chunkSizeBytes: 8 * 1024 * 1024 }),
          POWERTOOLS_SERVICE_NAME: 'shardline-chunker',
        },
      },
    });
  });

  it('consumes the ingest-events queue in batches, bounded in concurrency, with partial batch responses', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', {
      EventSourceArn: { 'Fn::GetAtt': [logicalIdOf(ingest.eventsQueue), 'Arn'] },
      FunctionName: { Ref: logicalIdOf(ingest.chunker) },
      BatchSize: 5,
      ScalingConfig: { MaximumConcurrency: 3 },
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
  });

  it('keeps its logs for the configured days', () => {
    const logGroupId = logicalIdOf(ingest.chunker.logGroup);
    expect(resources[logGroupId].Properties.RetentionInDays).toBe(14);
    expect(resources[logicalIdOf(ingest.chunker)].Properties.LoggingConfig).toEqual({ LogGroup: { Ref: logGroupId } });
  });

  it('may read ingested objects, put into the processed bucket, send chunks, write the ledger and only read the control table', () => {
    const policy = chunkerPolicy();
    expect(policy).toContain('"s3:GetObject*"');
    expect(policy).toContain('"s3:PutObject"');
    expect(policy).toContain('"sqs:SendMessage"');
    expect(policy).toContain('"dynamodb:PutItem"');
    const controlStatement = JSON.parse(policy).Statement.find((s: { Resource: unknown }) => JSON.stringify(s.Resource).includes(logicalIdOf(state.controlTable)));
    expect(controlStatement.Action).not.toEqual(expect.arrayContaining(['dynamodb:PutItem']));
    expect(controlStatement.Action).toEqual(expect.arrayContaining(['dynamodb:GetItem', 'dynamodb:Query']));
  });

  it('may not delete objects', () => {
    expect(chunkerPolicy()).not.toMatch(/s3:Delete/);
  });
});

describe('Ingest and cdk-nag', () => {
  it("passes the AwsSolutions checks with its acknowledgements (CDK's notifications helper included)", () => {
    expect(nagFindings(stack)).toEqual([]);
  });
});
