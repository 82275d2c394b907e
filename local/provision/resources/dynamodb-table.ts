/**
 * AWS::DynamoDB::Table (and AWS::DynamoDB::GlobalTable, what CDK's TableV2 writes) locally: keys,
 * GSIs/LSIs, billing mode, stream and TTL. Point-in-time recovery, SSE and replicas mean nothing
 * on an emulator and are left out. An existing table is kept as it is.
 */
import {
  CreateTableCommand,
  DescribeTableCommand,
  UpdateTimeToLiveCommand,
  type BillingMode,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type GlobalSecondaryIndex,
  type ProvisionedThroughput,
  type StreamViewType,
} from '@aws-sdk/client-dynamodb';
import { tableName } from '../names';
import { errorName, optionalProperty, requiredProperty, type HandlerContext, type ResourceHandler } from './types';

export const provisionTable: ResourceHandler = async (logicalId, resource, ctx) => {
  const { ddb } = ctx.clients;
  const name = (optionalProperty(logicalId, resource, 'TableName', ctx) as string | undefined) ?? tableName(ctx.namePrefix, logicalId);
  // The template's properties have the shapes of CreateTable's input (CloudFormation mirrors the API).
  const prop = <T>(key: string) => requiredProperty(logicalId, resource, key, ctx) as T | undefined;
  const billingMode = prop<BillingMode>('BillingMode') ?? (prop('ProvisionedThroughput') ? 'PROVISIONED' : 'PAY_PER_REQUEST');
  const throughput = (t: ProvisionedThroughput | undefined) => (billingMode === 'PROVISIONED' ? { ProvisionedThroughput: t ?? { ReadCapacityUnits: 5, WriteCapacityUnits: 5 } } : {});
  const stream = prop<{ StreamViewType?: StreamViewType }>('StreamSpecification');
  const input: CreateTableCommandInput = {
    TableName: name,
    KeySchema: prop<CreateTableCommandInput['KeySchema']>('KeySchema'),
    AttributeDefinitions: prop<CreateTableCommandInput['AttributeDefinitions']>('AttributeDefinitions'),
    BillingMode: billingMode,
    ...throughput(prop('ProvisionedThroughput')),
    GlobalSecondaryIndexes: prop<GlobalSecondaryIndex[]>('GlobalSecondaryIndexes')?.map((gsi) => ({
      IndexName: gsi.IndexName,
      KeySchema: gsi.KeySchema,
      Projection: gsi.Projection,
      ...throughput(gsi.ProvisionedThroughput),
    })),
    LocalSecondaryIndexes: prop<CreateTableCommandInput['LocalSecondaryIndexes']>('LocalSecondaryIndexes'),
    ...(stream?.StreamViewType ? { StreamSpecification: { StreamEnabled: true, StreamViewType: stream.StreamViewType } } : {}),
  };

  try {
    await ddb.send(new CreateTableCommand(input));
  } catch (err) {
    if (errorName(err) !== 'ResourceInUseException') throw err;
  }
  const table = await waitUntilActive(ddb, name);
  const ttl = prop<{ AttributeName: string; Enabled?: boolean }>('TimeToLiveSpecification');
  if (ttl?.AttributeName) await setTtl(ctx, logicalId, name, ttl);

  return {
    ref: name,
    attributes: { Arn: table.TableArn as string, ...(table.LatestStreamArn ? { StreamArn: table.LatestStreamArn } : {}) },
  };
};

async function waitUntilActive(ddb: DynamoDBClient, name: string) {
  for (let attempt = 0; ; attempt++) {
    const { Table } = await ddb.send(new DescribeTableCommand({ TableName: name }));
    if (Table?.TableStatus === 'ACTIVE' || attempt >= 100) return Table ?? {};
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** TTL is accepted by the emulators (moto never deletes); enabling it twice is an error there. */
async function setTtl(ctx: HandlerContext, logicalId: string, name: string, ttl: { AttributeName: string; Enabled?: boolean }) {
  try {
    await ctx.clients.ddb.send(new UpdateTimeToLiveCommand({ TableName: name, TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: ttl.Enabled ?? true } }));
  } catch (err) {
    ctx.log(`${logicalId} TTL not changed`, { error: (err as Error).message, code: errorName(err) });
  }
}
