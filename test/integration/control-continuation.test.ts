import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { controlDefinition } from '../../infra/state-machines/control';
import { createAwsClients, type AwsClients } from '../../lib/aws/clients';
import { callerArn } from '../../lib/control/caller-identity';
import { ControlTable, controlKeys } from '../../lib/control/control-state';
import { awaitExecution, startExecution } from '../../lib/control/executions';
import { startMotoServer, type MotoServer } from '../../local/emulator/moto-server';
import { worstCaseHistory } from '../support/asl-history';
import { createEmulatedMachine, createKeyedTable, historyLengths, emulatedRoleArn } from '../support/emulated-machine';
import { waitFor } from '../support/wait';

const TABLE = 'control-continuation';
const ROLE = emulatedRoleArn('control');

/**
 * A drain that outlasts one execution, on the emulator's Step Functions: it continues as a new
 * execution with its state carried over, the CLI's waiter follows the chain to the effect, and
 * the history records the caller's IAM identity apart from the free-text requestedBy.
 */
describe('control: a long wait continues as a new execution', () => {
  let moto: MotoServer;
  let clients: AwsClients;
  let machineArn: string;
  let definition: string;

  beforeAll(async () => {
    moto = await startMotoServer();
    clients = createAwsClients({ endpoint: moto.endpoint, region: 'us-east-1' });
    await createKeyedTable(clients.ddb, TABLE);
    // The control definition with a pace that continues as new after every 2 polls.
    ({ arn: machineArn, definition } = await createEmulatedMachine(clients.sfn, 'control', (scope) =>
      controlDefinition(scope, {
        controlTable: dynamodb.Table.fromTableName(scope, 'Control', TABLE),
        eventSourceMappingId: 'none',
        eventSourceMappingArn: 'arn:aws:lambda:us-east-1:123456789012:event-source-mapping:none',
        pacing: { phases: [{ seconds: 1, polls: 100 }], thenSeconds: 1, roundsPerExecution: 2 },
      }),
    ));
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
    // Each execution's history, as the emulator counts it, stays within the bound derived from the definition.
    const lengths = await historyLengths(clients.sfn, [started.executionArn, ...(result.continuations ?? [])]);
    const bound = worstCaseHistory(JSON.parse(definition), { mode: { execution: true } });
    console.log(`history events per execution: ${lengths.join(', ')} (derived bound ${bound})`);
    for (const n of lengths) expect(n).toBeLessThanOrEqual(bound);
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
