import { CreateBucketCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { CreateTopicCommand } from '@aws-sdk/client-sns';
import { CreateQueueCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { RUN_PAGE_SIZE, runDefinition } from '../../infra/state-machines/run';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { awaitExecution, startExecution } from '../../lib/control/executions';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { worstCaseHistory } from '../support/asl-history';
import { createEmulatedMachine, createKeyedTable, historyLengths } from '../support/emulated-machine';
import { waitFor } from '../support/wait';

const TABLE = 'run-continuation';
const BUCKET = 'run-continuation-source';
const OBJECTS = 2 * RUN_PAGE_SIZE + 50; // three pages

/**
 * A run whose listing and wait outlast one execution each, on the emulator's Step Functions:
 * every page reaches the chunker's queue under the first execution's name (the run id), the
 * listed count adds up across executions, and the waiter follows the chain to the run's end.
 */
describe('run: a long listing and a long wait continue as new executions', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let machineArn: string;
  let definition: string;
  let queueUrl: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
    await createKeyedTable(clients.ddb, TABLE);
    await clients.s3.send(new CreateBucketCommand({ Bucket: BUCKET }));
    for (let i = 0; i < OBJECTS; i += 25) {
      await Promise.all(
        Array.from({ length: Math.min(25, OBJECTS - i) }, (_, j) => clients.s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `data/${String(i + j).padStart(4, '0')}.jsonl`, Body: '{}' }))),
      );
    }
    queueUrl = (await clients.sqs.send(new CreateQueueCommand({ QueueName: 'run-continuation-events' }))).QueueUrl!;
    const topicArn = (await clients.sns.send(new CreateTopicCommand({ Name: 'run-continuation-notices' }))).TopicArn!;
    const queueArn = 'arn:aws:sqs:us-east-1:123456789012:run-continuation-events';
    // The run definition with one page and two polls per execution.
    ({ arn: machineArn, definition } = await createEmulatedMachine(clients.sfn, 'run', (scope) =>
      runDefinition(scope, {
        controlTable: dynamodb.Table.fromTableName(scope, 'Control', TABLE),
        ingestEventsQueue: sqs.Queue.fromQueueAttributes(scope, 'Events', { queueArn, queueUrl }),
        sourceBuckets: [s3.Bucket.fromBucketName(scope, 'Source', BUCKET)],
        processedBucketName: 'processed',
        topic: sns.Topic.fromTopicArn(scope, 'Notices', topicArn),
        pacing: { phases: [{ seconds: 1, polls: 100 }], thenSeconds: 1, roundsPerExecution: 2 },
        pagesPerExecution: 1,
      }),
    ));
  }, 90_000);
  afterAll(async () => {
    await moto?.stop();
  });

  it('lists every page under the run id, waits across executions, and ends with the run', async () => {
    const started = await startExecution(clients.sfn, machineArn, { bucket: BUCKET, prefix: 'data/' }, { name: 'run-long', wait: false });
    const runKey = { pk: 'RUN', sk: 'run-long' };
    // The listing is done once every page is counted; then the wait goes on past two polls.
    await waitFor(async () => ((await clients.doc.send(new GetCommand({ TableName: TABLE, Key: runKey, ConsistentRead: true }))).Item?.listingComplete === true ? true : undefined), 90_000);
    await waitFor(async () => ((await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }))).executions?.length ?? 0) >= 3 || undefined, 60_000);
    // What the leader writes when it settles the run.
    await clients.doc.send(
      new UpdateCommand({
        TableName: TABLE,
        Key: runKey,
        UpdateExpression: 'SET #s = :c, manifestKey = :m, recordsIn = :n, recordsOut = :n, recordsRejected = :z, objectsFailed = :z, failedChunks = :z',
        ExpressionAttributeNames: { '#s': 'status' },
        ExpressionAttributeValues: { ':c': 'COMPLETE', ':m': 'runs/run-long/manifest.json', ':n': OBJECTS, ':z': 0 },
      }),
    );
    const result = await awaitExecution(clients.sfn, started.executionArn, { timeoutMs: 60_000 });
    console.log(`run: ${result.status} after ${result.continuations?.length ?? 0} continuation(s) in ${(result.tookMs / 1000).toFixed(1)} s`);

    expect(result.status).toBe('SUCCEEDED');
    // One for the listing (the first execution lists two pages, the next one the third), at least one for the wait.
    expect(result.continuations?.length).toBeGreaterThanOrEqual(2);
    expect(result.output).toMatchObject({ runId: 'run-long', status: 'COMPLETE', objectsListed: OBJECTS, recordsOut: OBJECTS });
    // Each execution's history, as the emulator counts it, stays within the bound derived from the definition.
    const lengths = await historyLengths(clients.sfn, [started.executionArn, ...(result.continuations ?? [])]);
    const bound = worstCaseHistory(JSON.parse(definition), { mode: { execution: true } });
    console.log(`history events per execution: ${lengths.join(', ')} (derived bound ${bound})`);
    for (const n of lengths) expect(n).toBeLessThanOrEqual(bound);
    const keys: string[] = [];
    for (;;) {
      const out = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!out.Messages?.length) break;
      for (const m of out.Messages) {
        const body = JSON.parse(m.Body!) as { shardlineRun: { runId: string; keys: string[] } };
        expect(body.shardlineRun.runId).toBe('run-long');
        keys.push(...body.shardlineRun.keys);
      }
    }
    expect(new Set(keys).size).toBe(OBJECTS);
  }, 180_000);
});
