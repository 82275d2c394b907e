import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { controlDefinition } from '../../infra/state-machines/control';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { callerArn } from '../../lib/control/caller-identity';
import { ControlTable, controlKeys } from '../../lib/control/control-state';
import { awaitExecution, startExecution } from '../../lib/control/executions';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { waitFor } from '../support/wait';

const TABLE = 'control-continuation';
const ROLE = 'arn:aws:iam::123456789012:role/control-states';

/** The control definition with a pace that continues as new after every 2 polls, resolved as deployed. */
function definition(): string {
  const stack = new Stack(new App(), 'Continuation');
  const definitionBody = sfn.DefinitionBody.fromChainable(
    controlDefinition(stack, {
      controlTable: dynamodb.Table.fromTableName(stack, 'Control', TABLE),
      eventSourceMappingId: 'none',
      eventSourceMappingArn: 'arn:aws:lambda:us-east-1:123456789012:event-source-mapping:none',
      pacing: { phases: [{ seconds: 1, polls: 100 }], thenSeconds: 1, roundsPerExecution: 2 },
    }),
  );
  new sfn.StateMachine(stack, 'Machine', { definitionBody });
  const machine = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'))[0];
  const parts = machine.Properties.DefinitionString['Fn::Join'][1] as unknown[];
  return parts
    .map((p) => {
      if (typeof p === 'string') return p;
      if ((p as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
      throw new Error(`unresolved reference ${JSON.stringify(p)}`);
    })
    .join('');
}

/**
 * A drain that outlasts one execution, on the emulator's Step Functions: it continues as a new
 * execution with its state carried over, the CLI's waiter follows the chain to the effect, and
 * the history records the caller's IAM identity apart from the free-text requestedBy.
 */
describe('control: a long wait continues as a new execution', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let machineArn: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
    await clients.ddb.send(
      new CreateTableCommand({
        TableName: TABLE,
        BillingMode: 'PAY_PER_REQUEST',
        KeySchema: [
          { AttributeName: 'pk', KeyType: 'HASH' },
          { AttributeName: 'sk', KeyType: 'RANGE' },
        ],
        AttributeDefinitions: [
          { AttributeName: 'pk', AttributeType: 'S' },
          { AttributeName: 'sk', AttributeType: 'S' },
        ],
      }),
    );
    const created = await clients.sfn.send(new CreateStateMachineCommand({ name: 'control', definition: definition(), roleArn: ROLE, type: 'STANDARD' }));
    machineArn = created.stateMachineArn!;
  }, 60_000);
  afterAll(async () => {
    await moto?.stop();
  });

  /** The leader's snapshot, as if it had seen and every node obeyed `generation`. */
  const activity = (quiescent: boolean, generation: number) =>
    clients.doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...controlKeys.activity,
          observedGeneration: generation,
          ackedGeneration: generation,
          healthyNodes: 1,
          inFlight: quiescent ? 0 : 1,
          leasedChunks: quiescent ? 0 : 1,
          workQueueVisible: 0,
          ingestQueueVisible: 0,
          quiescent,
          noLeases: quiescent,
          leader: 'node-test',
        },
      }),
    );

  it('drains across executions and records who asked', async () => {
    const caller = await callerArn({ credentials: clients.sfn.config.credentials, region: clients.region, endpoint: clients.endpoint });
    expect(caller).toMatch(/^arn:aws:(sts|iam)::\d{12}:/);
    await activity(false, 1);
    const started = await startExecution(clients.sfn, machineArn, { action: 'drain', reason: 'long drain', requestedBy: 'typed by anyone', callerArn: caller }, { wait: false });
    // Two polls per execution: the drain goes on in a second execution, still waiting.
    await waitFor(async () => ((await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: machineArn }))).executions?.length ?? 0) >= 2 || undefined, 60_000);
    await activity(true, 1);
    const result = await awaitExecution(clients.sfn, started.executionArn, { timeoutMs: 60_000 });
    console.log(`drain: ${result.status} after ${result.continuations?.length ?? 0} continuation(s) in ${(result.tookMs / 1000).toFixed(1)} s`);

    expect(result.status).toBe('SUCCEEDED');
    expect(result.continuations?.length).toBeGreaterThanOrEqual(1);
    expect(result.output).toMatchObject({ action: 'drain', desired: 'DRAINING', generation: 1, tookEffect: true, requestedBy: 'typed by anyone', caller: { arn: caller, executionRoleArn: ROLE } });
    const [entry] = await new ControlTable(clients.doc, TABLE).history();
    expect(entry).toMatchObject({ action: 'drain', requestedBy: 'typed by anyone', callerArn: caller, executionRoleArn: ROLE });
    expect(entry.executionId).toBe(started.executionArn);
  }, 120_000);

  it('records the caller as not given when the input has none', async () => {
    await activity(true, 2);
    const result = await startExecution(clients.sfn, machineArn, { action: 'pause', reason: 'no caller', requestedBy: 'someone' }, { timeoutMs: 60_000 });
    expect(result.output).toMatchObject({ caller: { arn: 'not given', executionRoleArn: ROLE } });
    const [entry] = await new ControlTable(clients.doc, TABLE).history();
    expect(entry).toMatchObject({ action: 'pause', callerArn: 'not given' });
  }, 90_000);
});
