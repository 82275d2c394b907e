import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetBucketEncryptionCommand, GetBucketVersioningCommand, GetPublicAccessBlockCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { GetTopicAttributesCommand } from '@aws-sdk/client-sns';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { App, CfnOutput, Duration, Stack } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { createAwsClients, type AwsClients } from '../../../lib/aws/clients';
import { startMotoServer, type MotoServer } from '../../../local/emulator/moto-server';
import { cloudWatchLogsFor } from '../../../lib/logs/cloudwatch-logs-client';
import { provisionFromTemplate, synthesizeTemplate, type CloudFormationTemplateJson, type ProvisionResult } from '../../../local/provision';
import { RESOURCES, resourcesFromOutputs, type ResourceNames } from '../../../lib/resources';

/** A small stand-in for the real stack (infra/ is written elsewhere), with the same outputs. */
function buildTestStack(app: App): Stack {
  const stack = new Stack(app, 'ProvisionTest');
  const queueWithDlq = (id: string, maxReceiveCount: number) => {
    const dlq = new sqs.Queue(stack, `${id}Dlq`, { encryption: sqs.QueueEncryption.SQS_MANAGED, retentionPeriod: Duration.days(14) });
    const queue = new sqs.Queue(stack, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      visibilityTimeout: Duration.seconds(30),
      deadLetterQueue: { queue: dlq, maxReceiveCount },
    });
    return { queue, dlq };
  };
  const ingestEvents = queueWithDlq('IngestEvents', 5);
  const work = queueWithDlq('Work', 3);
  const bucketProps = { versioned: true, encryption: s3.BucketEncryption.S3_MANAGED, blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL, enforceSSL: true };
  const ingest = new s3.Bucket(stack, 'IngestBucket', bucketProps);
  ingest.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(ingestEvents.queue));
  const processed = new s3.Bucket(stack, 'ProcessedBucket', bucketProps);
  const key = (name: string) => ({ name, type: dynamodb.AttributeType.STRING });
  const ledger = new dynamodb.Table(stack, 'Ledger', { partitionKey: key('pk'), sortKey: key('sk'), billingMode: dynamodb.BillingMode.PAY_PER_REQUEST, timeToLiveAttribute: 'ttl' });
  ledger.addGlobalSecondaryIndex({ indexName: 'byStatus', partitionKey: key('status'), sortKey: key('pk') });
  const nodes = new dynamodb.TableV2(stack, 'Nodes', { partitionKey: key('nodeId') });
  const control = new dynamodb.Table(stack, 'Control', { partitionKey: key('pk'), billingMode: dynamodb.BillingMode.PAY_PER_REQUEST });
  const machine = (id: string) => new sfn.StateMachine(stack, id, { definitionBody: sfn.DefinitionBody.fromChainable(new sfn.Pass(stack, `${id}Start`)) });
  const runNotices = new sns.Topic(stack, 'RunNotices');
  // Encrypted and TLS-only like the real operator topic: neither setting has a local counterpart.
  const operatorTopic = new sns.Topic(stack, 'OperatorTopic', { masterKey: new kms.Key(stack, 'OperatorTopicKey'), enforceSSL: true });
  const chunker = new lambda.Function(stack, 'Chunker', { runtime: lambda.Runtime.NODEJS_22_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => {}') });

  const outputs: Record<string, string> = {
    [RESOURCES.ingestBucket.outputName]: ingest.bucketName,
    [RESOURCES.processedBucket.outputName]: processed.bucketName,
    [RESOURCES.ingestEventsQueueUrl.outputName]: ingestEvents.queue.queueUrl,
    [RESOURCES.ingestEventsDlqUrl.outputName]: ingestEvents.dlq.queueUrl,
    [RESOURCES.workQueueUrl.outputName]: work.queue.queueUrl,
    [RESOURCES.workDlqUrl.outputName]: work.dlq.queueUrl,
    [RESOURCES.ledgerTable.outputName]: ledger.tableName,
    [RESOURCES.nodesTable.outputName]: nodes.tableName,
    [RESOURCES.controlTable.outputName]: control.tableName,
    [RESOURCES.controlStateMachineArn.outputName]: machine('ControlMachine').stateMachineArn,
    [RESOURCES.runStateMachineArn.outputName]: machine('RunMachine').stateMachineArn,
    [RESOURCES.runNoticesTopicArn.outputName]: runNotices.topicArn,
    [RESOURCES.operatorTopicArn.outputName]: operatorTopic.topicArn,
    [RESOURCES.agentLogGroup.outputName]: new logs.LogGroup(stack, 'AgentLogs', { retention: logs.RetentionDays.ONE_MONTH }).logGroupName,
    [RESOURCES.chunkerLogGroup.outputName]: new logs.LogGroup(stack, 'ChunkerLogs').logGroupName,
    WorkQueueArn: work.queue.queueArn,
    LedgerTableArn: ledger.tableArn,
    ChunkerFunctionName: chunker.functionName,
  };
  for (const [id, value] of Object.entries(outputs)) new CfnOutput(stack, id, { value });
  return stack;
}

describe('provisionFromTemplate', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let template: CloudFormationTemplateJson;
  let result: ProvisionResult;
  let names: ResourceNames;
  const logs: string[] = [];

  beforeAll(async () => {
    template = synthesizeTemplate(buildTestStack);
    moto = await startMotoServer();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
    result = await provisionFromTemplate(template, clients, { namePrefix: 'shardline-test', log: (message) => logs.push(message) });
    names = resourcesFromOutputs(result.outputs);
  });
  afterAll(() => moto?.stop());

  it('resolves every shardline output when the stack is provisioned', () => {
    expect(Object.keys(result.outputs).sort()).toEqual([...Object.values(RESOURCES).map((r) => r.outputName), 'LedgerTableArn', 'WorkQueueArn'].sort());
    expect(names.ingestBucket).toMatch(/^shardline-test-ingestbucket[0-9a-f]{8}$/);
    expect(names.workQueueUrl).toMatch(new RegExp(`^${moto.endpoint}/\\d{12}/shardline-test-work[0-9a-f]{8}$`));
    expect(result.outputs.WorkQueueArn).toMatch(/^arn:aws:sqs:us-east-1:\d{12}:shardline-test-work[0-9a-f]{8}$/);
    expect(result.outputs.LedgerTableArn).toBe(`arn:aws:dynamodb:us-east-1:123456789012:table/${names.ledgerTable}`);
  });

  it('reports what it did not create when the template has Lambda and IAM resources', () => {
    expect(result.skippedTypes).toEqual(expect.arrayContaining(['AWS::Lambda::Function', 'AWS::IAM::Role', 'AWS::SQS::QueuePolicy', 'AWS::S3::BucketPolicy']));
    expect(result.skippedTypes).not.toContain('Custom::S3BucketNotifications');
    expect(Object.keys(result.unresolvedOutputs)).toEqual(['ChunkerFunctionName']);
    expect(logs.filter((m) => /not applied|ignored locally/.test(m))).toEqual([]);
  });

  it('versions, encrypts and blocks public access to the bucket when the template says so', async () => {
    const versioning = await clients.s3.send(new GetBucketVersioningCommand({ Bucket: names.ingestBucket }));
    const encryption = await clients.s3.send(new GetBucketEncryptionCommand({ Bucket: names.ingestBucket }));
    const publicAccess = await clients.s3.send(new GetPublicAccessBlockCommand({ Bucket: names.ingestBucket }));

    expect(versioning.Status).toBe('Enabled');
    expect(encryption.ServerSideEncryptionConfiguration?.Rules?.[0]?.ApplyServerSideEncryptionByDefault?.SSEAlgorithm).toBe('AES256');
    expect(publicAccess.PublicAccessBlockConfiguration?.BlockPublicAcls).toBe(true);
  });

  it('sends an ObjectCreated event to the ingest events queue when an object is put', async () => {
    await clients.s3.send(new PutObjectCommand({ Bucket: names.ingestBucket, Key: 'in/file 1.jsonl', Body: '{"a":1}\n' }));

    const created = await receiveObjectCreated(names.ingestEventsQueueUrl);

    expect(created).toHaveLength(1);
    expect(created[0].s3.bucket.name).toBe(names.ingestBucket);
    expect(decodeURIComponent(created[0].s3.object.key.replace(/\+/g, ' '))).toBe('in/file 1.jsonl');
  });

  it('dead-letters a work message when it is received more than maxReceiveCount times', async () => {
    const attrs = await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: names.workQueueUrl, AttributeNames: ['RedrivePolicy'] }));
    const dlqArn = (await clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: names.workDlqUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
    expect(JSON.parse(attrs.Attributes?.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: dlqArn, maxReceiveCount: 3 });
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: names.workQueueUrl, MessageBody: 'poison' }));

    for (let i = 0; i < 3; i++) {
      const got = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: names.workQueueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
      expect(got.Messages?.[0]?.Body).toBe('poison');
    }
    const fourth = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: names.workQueueUrl, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
    const dead = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: names.workDlqUrl, WaitTimeSeconds: 1 }));

    expect(fourth.Messages ?? []).toHaveLength(0);
    expect(dead.Messages?.[0]?.Body).toBe('poison');
  });

  it('refuses a conditional put when the item already exists, and indexes items by status', async () => {
    const item = { pk: 'obj#1', sk: 'chunk#0', status: 'PLANNED' };
    const putIfAbsent = () => clients.doc.send(new PutCommand({ TableName: names.ledgerTable, Item: item, ConditionExpression: 'attribute_not_exists(pk)' }));

    await putIfAbsent();

    await expect(putIfAbsent()).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const byStatus = await clients.doc.send(
      new QueryCommand({
        TableName: names.ledgerTable,
        IndexName: 'byStatus',
        KeyConditionExpression: '#s = :s',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':s': 'PLANNED' },
      }),
    );
    expect(byStatus.Items).toEqual([item]);
  });

  it('creates the operator alarm topic, leaving its KMS key to AWS', async () => {
    const attrs = await clients.sns.send(new GetTopicAttributesCommand({ TopicArn: names.operatorTopicArn }));

    expect(names.operatorTopicArn).toMatch(/^arn:aws:sns:us-east-1:\d{12}:shardline-test-OperatorTopic/);
    expect(attrs.Attributes?.TopicArn).toBe(names.operatorTopicArn);
    expect(result.skippedTypes).toEqual(expect.arrayContaining(['AWS::KMS::Key', 'AWS::SNS::TopicPolicy']));
  });

  it('creates the log groups that agents and the chunker write to, with their retention', async () => {
    const out = await cloudWatchLogsFor(clients).send(new DescribeLogGroupsCommand({ logGroupNamePrefix: '/shardline-test/' }));
    const groups = Object.fromEntries((out.logGroups ?? []).map((g) => [g.logGroupName, g.retentionInDays]));

    expect(names.agentLogGroup).toMatch(/^\/shardline-test\/AgentLogs[0-9A-F]{8}$/);
    expect(groups).toEqual({ [names.agentLogGroup]: 30, [names.chunkerLogGroup]: 731 }); // CDK's default: two years
  });

  it('finds the same resources, keeping their data, when provisioned twice', async () => {
    const again = await provisionFromTemplate(template, clients, { namePrefix: 'shardline-test' });

    expect(again.outputs).toEqual(result.outputs);
    expect(again.physicalIds).toEqual(result.physicalIds);
    const kept = await clients.doc.send(new QueryCommand({ TableName: names.ledgerTable, KeyConditionExpression: 'pk = :pk', ExpressionAttributeValues: { ':pk': 'obj#1' } }));
    expect(kept.Items).toHaveLength(1);
  });

  /** The ObjectCreated records of the first event that has any (the queue's first message is s3:TestEvent). */
  async function receiveObjectCreated(queueUrl: string): Promise<any[]> {
    for (let polls = 0; polls < 5; polls++) {
      const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      const records = (out.Messages ?? []).flatMap((m) => JSON.parse(m.Body ?? '{}').Records ?? []);
      const created = records.filter((r: any) => String(r.eventName).startsWith('ObjectCreated'));
      if (created.length > 0) return created;
    }
    return [];
  }
});
