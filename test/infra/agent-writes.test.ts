import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { PutCommand } from '@aws-sdk/lib-dynamodb';
import { defaultStageConfig } from '../../infra/config';
import { createShardlineStack } from '../../infra/shardline-stack';
import { LeaderLease } from '../../lib/cluster/leader-lease';
import { NodeRegistry, type NodeIdentity } from '../../lib/cluster/registry';
import { ControlTable, controlKeys } from '../../lib/control/control-state';
import { buildRunManifest, RunLedger, type RunItem } from '../../lib/ledger/run-ledger';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { idOf, like, statementsOf, type Statement } from './iam-support';

// The agent's own writes to the nodes and control tables, made by the real lib code through the
// real SDK against a local endpoint (which enforces no IAM), each checked against the agent task
// role's statements in the synthesized template: every write the agent makes there must be one
// its dynamodb:LeadingKeys conditions allow on AWS.

type TableKey = 'nodesTable' | 'controlTable' | 'ledgerTable';
interface Write {
  action: string;
  table: string;
  pk: string;
}

const stack = createShardlineStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test', { ...defaultStageConfig('test') });
const template = Template.fromStack(stack);
const agentStatements = statementsOf(template, stack.shardline.fleet.taskDefinition.taskRole);

/** Whether the agent role may make `write` on the table `key`, as IAM would decide from the synthesized statements (for these actions and conditions). */
function allowed(write: { action: string; pk: string }, key: TableKey): boolean {
  const tableArn = JSON.stringify({ 'Fn::GetAtt': [idOf(stack.shardline[key]), 'Arn'] });
  const applies = (s: Statement) =>
    [s.Action].flat().some((a) => like(a, `dynamodb:${write.action}`)) && [s.Resource].flat().some((r) => JSON.stringify(r) === tableArn || JSON.stringify(r) === '"*"');
  const conditionHolds = (s: Statement) =>
    Object.entries(s.Condition ?? {}).every(([op, keys]) =>
      Object.entries(keys).every(([name, values]) => {
        if (op === 'ForAllValues:StringLike' && name === 'dynamodb:LeadingKeys') return [values].flat().some((p) => like(p, write.pk));
        if (op === 'Null' && name === 'dynamodb:LeadingKeys') return values === 'false';
        throw new Error(`condition ${op} ${name} is not understood by this test`);
      }),
    );
  const matching = agentStatements.filter((s) => applies(s) && conditionHolds(s));
  return matching.some((s) => s.Effect === 'Allow') && !matching.some((s) => s.Effect === 'Deny');
}

const pkOf = (v: unknown): string => (typeof v === 'string' ? v : String((v as { S?: string } | undefined)?.S));

/** The item writes of one DynamoDB request, as IAM authorizes them (a transaction per item). */
function writesOf(command: string, input: Record<string, any>): Write[] {
  const name = command.replace(/Command$/, '');
  const one = (action: string, table: string, keyOrItem: Record<string, unknown>) => ({ action, table, pk: pkOf(keyOrItem.pk) });
  if (name === 'Put' || name === 'PutItem') return [one('PutItem', input.TableName, input.Item)];
  if (name === 'Update' || name === 'UpdateItem') return [one('UpdateItem', input.TableName, input.Key)];
  if (name === 'Delete' || name === 'DeleteItem') return [one('DeleteItem', input.TableName, input.Key)];
  if (name === 'TransactWrite' || name === 'TransactWriteItems') {
    return (input.TransactItems as Record<string, any>[]).flatMap((t) =>
      t.Put
        ? [one('PutItem', t.Put.TableName, t.Put.Item)]
        : t.Update
          ? [one('UpdateItem', t.Update.TableName, t.Update.Key)]
          : t.Delete
            ? [one('DeleteItem', t.Delete.TableName, t.Delete.Key)]
            : [one('ConditionCheckItem', t.ConditionCheck.TableName, t.ConditionCheck.Key)],
    );
  }
  if (name === 'BatchWrite' || name === 'BatchWriteItem') {
    return Object.entries(input.RequestItems as Record<string, Record<string, any>[]>).flatMap(([table, requests]) =>
      requests.map((r) => one('BatchWriteItem', table, r.PutRequest?.Item ?? r.DeleteRequest?.Key)),
    );
  }
  return [];
}

const identity = (nodeId: string): NodeIdentity => ({ nodeId, failureDomain: 'a', instanceType: 'g5.xlarge', gpus: 1, cpus: 4, memoryMiB: 16000, cacheDir: '/c', cacheCapacityBytes: 1e9 });
const load = { inFlight: 0, chunksDone: 0, concurrency: 1 };

describe("the agent's writes to the nodes and control tables (real SDK clients, local endpoint)", () => {
  let env: ProvisionedEndpoint;
  const writes: Write[] = [];
  let tableKeyOf: (name: string) => TableKey;

  beforeAll(async () => {
    env = await startProvisionedEndpoint();
    const byName = new Map<string, TableKey>((['nodesTable', 'controlTable', 'ledgerTable'] as const).map((k) => [env.resources[k], k]));
    tableKeyOf = (name) =>
      byName.get(name) ??
      (() => {
        throw new Error(`unknown table ${name}`);
      })();
    env.clients.doc.middlewareStack.add(
      (next, context) => async (args) => {
        writes.push(...writesOf(String(context.commandName), args.input as Record<string, any>));
        return next(args);
      },
      { step: 'initialize', name: 'recordWrites' },
    );
  }, 60_000);
  afterAll(async () => env?.server.stop());

  it('are all allowed by its LeadingKeys conditions: membership, nudges, failure detection, the leader lease, activity, run settlement', async () => {
    const { doc } = env.clients;
    const { nodesTable, controlTable, ledgerTable } = env.resources;
    const registry = new NodeRegistry(doc, nodesTable);
    await registry.join(identity('i-a'));
    await registry.join(identity('i-b'));
    await registry.heartbeat('i-a', load);
    await registry.nudge(['i-b']);
    const [b] = (await registry.list()).filter((n) => n.nodeId === 'i-b');
    await registry.markDead(b, 'i-a');
    await registry.markRecovered('i-b', { replicas: 1 });
    await registry.leave('i-a');

    const lease = new LeaderLease(doc, controlTable, 'i-a', 10_000);
    expect(await lease.tryAcquire()).toBe(true);
    expect(await lease.tryAcquire()).toBe(true); // the renewal
    await new ControlTable(doc, controlTable).writeActivity({
      observedGeneration: 1,
      ackedGeneration: 1,
      healthyNodes: 1,
      inFlight: 0,
      workQueueVisible: 0,
      workQueueInFlight: 0,
      ingestQueueVisible: 0,
      ingestQueueInFlight: 0,
      quiescent: true,
      leasedChunks: 0,
      noLeases: true,
      leader: 'i-a',
      updatedAt: Date.now(),
    });
    const run: RunItem = { pk: 'RUN', sk: 'r-1', runId: 'r-1', bucket: 'b', prefix: 'p/', status: 'RUNNING', objectsListed: 0, listingComplete: true };
    // The run state machine records the run (not the agent: recorded apart).
    const recorded = writes.length;
    await doc.send(new PutCommand({ TableName: controlTable, Item: run }));
    writes.splice(recorded);
    expect(await new RunLedger(doc, ledgerTable, controlTable).settle(run, buildRunManifest(run, [], new Map())!, 'runs/r-1/manifest.json')).toBe(true);
    await lease.release();

    const mine = writes.filter((w) => tableKeyOf(w.table) !== 'ledgerTable');
    // Every partition these writers use was exercised (others may join them: they are checked too).
    expect([...new Set(mine.map((w) => `${tableKeyOf(w.table)} ${w.pk}`))]).toEqual(
      expect.arrayContaining(['nodesTable NODE#i-a', 'nodesTable NODE#i-b', 'controlTable LEADER', `controlTable ${controlKeys.activity.pk}`, 'controlTable RUN']),
    );
    expect(mine.filter((w) => !allowed(w, tableKeyOf(w.table)))).toEqual([]);
  });

  it('would refuse the agent the desired state, the config and their histories, which the state machines write', () => {
    for (const pk of [controlKeys.state.pk, controlKeys.config.pk, controlKeys.historyPk, controlKeys.configHistoryPk]) {
      for (const action of ['PutItem', 'UpdateItem', 'DeleteItem']) expect(allowed({ action, pk }, 'controlTable')).toBe(false);
    }
    expect(allowed({ action: 'PutItem', pk: 'NODE#i-a' }, 'controlTable')).toBe(false);
    expect(allowed({ action: 'UpdateItem', pk: 'LEADER' }, 'nodesTable')).toBe(false);
  });
});
