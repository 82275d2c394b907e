import { CreateTableCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { ListBucketsCommand, CreateBucketCommand } from '@aws-sdk/client-s3';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetCommand, PutCommand, TransactWriteCommand } from '@aws-sdk/lib-dynamodb';
import { createAwsClients } from '../../../lib/aws/clients';
import { startMotoServer, type MotoServer } from '../../../local/emulator/moto-server';
import { sfn, waitForExecution } from './sfn-client';

const ROLE = 'arn:aws:iam::123456789012:role/sfn';

describe('startMotoServer', () => {
  let moto: MotoServer;
  let startedInMs: number;

  beforeAll(async () => {
    const t0 = Date.now();
    moto = await startMotoServer();
    startedInMs = Date.now() - t0;
  });
  afterAll(() => moto?.stop());

  async function createStateMachine(name: string, definition: object): Promise<string> {
    const out = await sfn(moto.endpoint, 'CreateStateMachine', { name, definition: JSON.stringify(definition), roleArn: ROLE });
    return out.stateMachineArn;
  }

  it('answers on a free port of 127.0.0.1 when started without options', async () => {
    expect(moto.endpoint).toBe(`http://127.0.0.1:${moto.port}`);
    expect((await fetch(`${moto.endpoint}/moto-api/`)).ok).toBe(true);
    expect(startedInMs).toBeLessThan(10000);
  });

  it('applies concurrent transactions that add to one counter atomically, as DynamoDB does (no lost update)', async () => {
    const { ddb, doc } = createAwsClients({ endpoint: moto.endpoint });
    await ddb.send(
      new CreateTableCommand({
        TableName: 'counters',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const counts: number[] = [];
    for (let round = 0; round < 20; round++) {
      await doc.send(new PutCommand({ TableName: 'counters', Item: { pk: `object-${round}`, chunksDone: 0 } }));
      // Like chunk commits: each transaction writes its own item and adds 1 to the shared one.
      await Promise.all(
        Array.from({ length: 16 }, (_, i) =>
          doc.send(
            new TransactWriteCommand({
              TransactItems: [
                { Put: { TableName: 'counters', Item: { pk: `chunk-${round}-${i}` } } },
                { Update: { TableName: 'counters', Key: { pk: `object-${round}` }, UpdateExpression: 'SET lastCommitAt = :t ADD chunksDone :one', ExpressionAttributeValues: { ':one': 1, ':t': i } } },
              ],
            }),
          ),
        ),
      );
      counts.push((await doc.send(new GetCommand({ TableName: 'counters', Key: { pk: `object-${round}` }, ConsistentRead: true }))).Item?.chunksDone);
    }
    expect(counts).toEqual(Array(20).fill(16));
  }, 60_000);

  it('runs every execution of a state machine when StartExecution is called twice, the second time without a name', async () => {
    const { ddb } = createAwsClients({ endpoint: moto.endpoint });
    await ddb.send(
      new CreateTableCommand({
        TableName: 'sfn-runs',
        KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
        BillingMode: 'PAY_PER_REQUEST',
      }),
    );
    const arn = await createStateMachine('put-run', {
      StartAt: 'Prepare',
      States: {
        Prepare: { Type: 'Pass', Parameters: { 'run.$': '$$.Execution.Name' }, Next: 'Record' },
        Record: {
          Type: 'Task',
          Resource: 'arn:aws:states:::dynamodb:putItem',
          Parameters: { TableName: 'sfn-runs', Item: { pk: { 'S.$': '$.run' } } },
          End: true,
        },
      },
    });

    const first = await sfn(moto.endpoint, 'StartExecution', { stateMachineArn: arn, name: 'first' });
    const second = await sfn(moto.endpoint, 'StartExecution', { stateMachineArn: arn });

    expect(second.executionArn).not.toMatch(/:None$/);
    expect((await waitForExecution(moto.endpoint, first.executionArn)).status).toBe('SUCCEEDED');
    expect((await waitForExecution(moto.endpoint, second.executionArn)).status).toBe('SUCCEEDED');
    const items = await ddb.send(new ScanCommand({ TableName: 'sfn-runs' }));
    expect(items.Items?.map((i) => i.pk.S).sort()).toEqual(['first', second.executionArn.split(':').pop()].sort());
  });

  it('passes PascalCase parameters to a lowerCamel API when a task calls aws-sdk:ecs', async () => {
    const { ecs } = createAwsClients({ endpoint: moto.endpoint });
    await ecs.send(new CreateClusterCommand({ clusterName: 'sfn-cluster' }));
    const arn = await createStateMachine('ecs-describe', {
      StartAt: 'List',
      States: {
        List: { Type: 'Task', Resource: 'arn:aws:states:::aws-sdk:ecs:listClusters', Next: 'Describe' },
        Describe: {
          Type: 'Task',
          Resource: 'arn:aws:states:::aws-sdk:ecs:describeClusters',
          Parameters: { 'Clusters.$': '$.ClusterArns' },
          End: true,
        },
      },
    });

    const run = await sfn(moto.endpoint, 'StartExecution', { stateMachineArn: arn, name: 'ecs' });
    const execution = await waitForExecution(moto.endpoint, run.executionArn);

    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output).Clusters.map((c: { ClusterName: string }) => c.ClusterName)).toEqual(['sfn-cluster']);
  });

  it('starts a child execution when a task calls states:startExecution', async () => {
    const child = await createStateMachine('child', { StartAt: 'Done', States: { Done: { Type: 'Pass', End: true } } });
    const parent = await createStateMachine('parent', {
      StartAt: 'Start',
      States: {
        Start: {
          Type: 'Task',
          Resource: 'arn:aws:states:::states:startExecution',
          Parameters: { StateMachineArn: child, Input: { from: 'parent' } },
          End: true,
        },
      },
    });

    const run = await sfn(moto.endpoint, 'StartExecution', { stateMachineArn: parent, name: 'parent-1' });
    const execution = await waitForExecution(moto.endpoint, run.executionArn);

    expect(execution.status).toBe('SUCCEEDED');
    const childArn = JSON.parse(execution.output).ExecutionArn as string;
    expect(childArn).toContain(':execution:child:');
    expect((await waitForExecution(moto.endpoint, childArn)).status).toBe('SUCCEEDED');
  });

  it('drops every resource but keeps executing state machines when reset', async () => {
    const { s3 } = createAwsClients({ endpoint: moto.endpoint });
    await s3.send(new CreateBucketCommand({ Bucket: 'before-reset' }));

    await moto.reset();

    expect((await s3.send(new ListBucketsCommand({}))).Buckets ?? []).toEqual([]);
    const arn = await createStateMachine('after-reset', { StartAt: 'P', States: { P: { Type: 'Pass', Result: { ok: true }, End: true } } });
    const run = await sfn(moto.endpoint, 'StartExecution', { stateMachineArn: arn });
    const execution = await waitForExecution(moto.endpoint, run.executionArn);
    expect(execution.status).toBe('SUCCEEDED');
    expect(JSON.parse(execution.output)).toEqual({ ok: true });
  });
});

describe('startMotoServer failures', () => {
  it('stops the server and frees its port when stopped', async () => {
    const logFile = join(mkdtempSync(join(tmpdir(), 'moto-log-')), 'moto.log');
    const moto = await startMotoServer({ logFile });

    await moto.stop();

    await expect(fetch(`${moto.endpoint}/moto-api/`)).rejects.toThrow();
    expect(readFileSync(logFile, 'utf8')).toContain(`Running on ${moto.endpoint}`);
  });

  it('rejects with the server output when it does not answer in time', async () => {
    await expect(startMotoServer({ startTimeoutMs: 1 })).rejects.toThrow(/no answer from GET \/moto-api\/ within 1 ms\n--- server output \(tail\) ---/);
  });

  it('names the requirement when python3 has no moto', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'no-moto-'));
    const python = join(dir, 'python-without-site-packages');
    writeFileSync(python, '#!/bin/sh\nexec python3 -I -S "$@"\n');
    chmodSync(python, 0o755);

    await expect(startMotoServer({ python })).rejects.toThrow(/python3 with moto 5\.x is required; or pass --endpoint for LocalStack/);
  });

  it('names the requirement when python3 cannot be found', async () => {
    await expect(startMotoServer({ python: '/nonexistent/python3' })).rejects.toThrow(/moto 5\.x is required/);
  });
});
