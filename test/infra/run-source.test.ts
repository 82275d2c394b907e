import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultStageConfig } from '../../infra/config';
import type { DataSourceConfig } from '../../infra/data-source-config';
import { createShardlineStack } from '../../infra/shardline-stack';
import { SOURCE_PACING } from '../../infra/state-machines/run';
import { startExecution } from '../../lib/control/executions';
import { startProvisionedEndpoint, type ProvisionedEndpoint } from '../support/local-aws';
import { nagFindings } from './constructs/support';
import { statementsOf } from './iam-support';

// `{"source": "<name>"}` as the run state machine's input: it starts that DataSync source's task
// and follows the copy. DataSync has no local endpoint, so the definition and its IAM are checked
// on the synthesized template; the path that calls no DataSync (an unknown source) runs on the
// emulator.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: () => string };

const AGENT = 'arn:aws:datasync:us-east-1:111122223333:agent/agent-0123456789abcdef0';
const SOURCES: DataSourceConfig[] = [
  { kind: 'nfs', name: 'filer', server: 'filer.corp.example', path: '/exports', agentArns: [AGENT] },
  { kind: 'hdfs', name: 'hdfs-main', prefix: 'raw/hdfs', nameNode: { host: 'namenode.corp.example', port: 8020 }, path: '/data', agentArns: [AGENT], authentication: { type: 'SIMPLE', user: 'hdfs' } },
];

const synth = (sources: DataSourceConfig[]) => {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = createShardlineStack(app, 'RunSource', { ...defaultStageConfig('test'), dataSources: sources });
  const template = Template.fromStack(stack);
  const resources = template.toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
  const machine = stack.shardline.controlPlane.runStateMachine;
  const parts = resources[stack.getLogicalId(machine.node.defaultChild as never)].Properties.DefinitionString['Fn::Join'][1] as unknown[];
  // References kept readable: a task ARN as <LogicalId.TaskArn>.
  const asl = JSON.parse(
    parts
      .map((p) => {
        if (typeof p === 'string') return p;
        const ref = p as { Ref?: string; 'Fn::GetAtt'?: [string, string] };
        if (ref.Ref === 'AWS::Partition') return 'aws';
        return ref['Fn::GetAtt'] ? `<${ref['Fn::GetAtt'].join('.')}>` : 'resolved-reference';
      })
      .join(''),
  ) as { States: Record<string, any> };
  return { stack, template, asl };
};

describe('run state machine: {"source": "<name>"} starts a DataSync copy', () => {
  const { stack, template, asl } = synth(SOURCES);
  const { dataSources } = stack.shardline;
  const taskId = (name: string) => stack.getLogicalId(dataSources!.sources[name].task);

  it('passes asl-validator', () => {
    expect(aslValidator(asl).errorsText()).toBe('');
  });

  it('routes a source input before anything else: a continuation of a copy, a new copy, a source that is not a string', () => {
    const choices = asl.States.RunValidate.Choices;
    expect(choices.slice(0, 3).map((c: { Next: string }) => c.Next)).toEqual(['RunSourceCopyPace', 'RunSourceKnown', 'RunInvalidInput']);
    const sourceName = {
      And: [
        { Variable: '$.source', IsPresent: true },
        { Variable: '$.source', IsString: true },
      ],
    };
    expect(choices[0].And).toEqual([
      sourceName,
      { Variable: '$.continued', IsPresent: true },
      { Variable: '$.sync.TaskExecutionArn', IsPresent: true },
      { Variable: '$.syncPolls.count', IsPresent: true },
    ]);
    // A continuation without what it must carry is not a new copy: it is invalid.
    expect(choices[1].And).toEqual([sourceName, { Not: { Variable: '$.continued', IsPresent: true } }]);
    expect(choices[2]).toEqual({ Variable: '$.source', IsPresent: true, Next: 'RunInvalidInput' });
  });

  it('has one branch per source, each starting that source’s task, and fails any other name as UnknownSource', () => {
    expect(asl.States.RunSourceKnown.Choices).toEqual(SOURCES.map((s) => ({ Variable: '$.source', StringEquals: s.name, Next: `RunSourceStart-${s.name}` })));
    expect(asl.States.RunSourceKnown.Default).toBe('RunSourceUnknown');
    for (const [s, prefix] of [
      [SOURCES[0], 'sources/filer'],
      [SOURCES[1], 'raw/hdfs'],
    ] as const) {
      expect(asl.States[`RunSourceStart-${s.name}`]).toMatchObject({
        Type: 'Task',
        Resource: 'arn:aws:states:::aws-sdk:datasync:startTaskExecution',
        Parameters: { TaskArn: `<${taskId(s.name)}.TaskArn>` },
        ResultSelector: { 'TaskExecutionArn.$': '$.TaskExecutionArn', prefix },
        ResultPath: '$.sync',
        Next: 'RunSourceStarted',
      });
      // Never retried: a retry could start a second copy.
      expect(asl.States[`RunSourceStart-${s.name}`].Retry).toBeUndefined();
    }
    expect(asl.States.RunSourceUnknown).toMatchObject({ Type: 'Fail', Error: 'UnknownSource', CausePath: expect.stringMatching(/^States\.Format\('unknown source \{\}: .*', \$\.source\)$/) });
  });

  it('follows the copy at the source pace until SUCCESS (output: source, prefix, execution) or ERROR (SourceCopyFailed)', () => {
    expect(asl.States.RunSourceStarted).toMatchObject({ Type: 'Pass', Parameters: { count: 0, rounds: 0 }, ResultPath: '$.syncPolls', Next: 'RunSourceCopyPace' });
    expect(asl.States.RunSourceCopyWait0).toMatchObject({ Type: 'Wait', Seconds: SOURCE_PACING.phases[0].seconds, Next: 'RunSourceDescribe' });
    expect(asl.States.RunSourceCopyWaitLong).toMatchObject({ Type: 'Wait', Seconds: SOURCE_PACING.thenSeconds, Next: 'RunSourceDescribe' });
    expect(SOURCE_PACING.thenSeconds).toBeGreaterThanOrEqual(300);
    expect(asl.States.RunSourceDescribe).toMatchObject({
      Resource: 'arn:aws:states:::aws-sdk:datasync:describeTaskExecution',
      Parameters: { 'TaskExecutionArn.$': '$.sync.TaskExecutionArn' },
      ResultPath: '$.syncStatus',
      Next: 'RunSourceEnded',
    });
    expect(asl.States.RunSourceEnded).toMatchObject({
      Type: 'Choice',
      Choices: [
        { Variable: '$.syncStatus.Status', StringEquals: 'SUCCESS', Next: 'RunSourceCopied' },
        { Variable: '$.syncStatus.Status', StringEquals: 'ERROR', Next: 'RunSourceCopyFailed' },
      ],
      Default: 'RunSourcePolled',
    });
    expect(asl.States.RunSourceCopied).toMatchObject({
      Type: 'Pass',
      Parameters: { 'source.$': '$.source', 'prefix.$': '$.sync.prefix', 'taskExecutionArn.$': '$.sync.TaskExecutionArn', 'status.$': '$.syncStatus.Status' },
      End: true,
    });
    expect(asl.States.RunSourceCopyFailed).toMatchObject({ Type: 'Fail', Error: 'SourceCopyFailed' });
    expect(asl.States.RunSourcePolled.Next).toBe('RunSourceCopyPace');
  });

  it('lists nothing after the copy: the S3 events process what it wrote', () => {
    const reachable = new Set<string>();
    const visit = (name: string) => {
      if (reachable.has(name)) return;
      reachable.add(name);
      const s = asl.States[name];
      for (const next of [s.Next, s.Default, ...(s.Choices ?? []).map((c: { Next: string }) => c.Next)]) if (next) visit(next);
    };
    visit('RunSourceKnown');
    expect([...reachable].filter((n) => n.startsWith('RunList') || n === 'RunEnqueuePage')).toEqual([]);
  });

  it('continues a long copy as a new execution carrying the source, the task execution and the pace', () => {
    const start = asl.States.RunSourceCopyContinueAsNew;
    expect(asl.States.RunSourceCopyPace.Choices[0]).toEqual({ Variable: '$.syncPolls.rounds', NumericGreaterThanEquals: SOURCE_PACING.roundsPerExecution, Next: 'RunSourceCopyContinueAsNew' });
    expect(start.Parameters.Input).toEqual({
      'source.$': '$.source',
      sync: { 'TaskExecutionArn.$': '$.sync.TaskExecutionArn', 'prefix.$': '$.sync.prefix' },
      syncPolls: { 'count.$': '$.syncPolls.count', rounds: 0 },
      continued: { phase: 'source', 'from.$': '$$.Execution.Id' },
      'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id',
    });
  });

  it('lets the run role start only these tasks and describe only their executions', () => {
    const statements = statementsOf(template, stack.shardline.controlPlane.runStateMachine.role);
    const datasync = statements.filter((s) => [s.Action].flat().some((a) => String(a).startsWith('datasync:')));
    const arn = (name: string) => ({ 'Fn::GetAtt': [taskId(name), 'TaskArn'] });
    const executions = (name: string) => ({ 'Fn::Join': ['', [arn(name), '/execution/*']] });
    const resourcesFor = (action: string) => [
      ...new Set(
        datasync
          .filter((s) => s.Effect === 'Allow' && [s.Action].flat().includes(action))
          .flatMap((s) => [s.Resource].flat())
          .map((r) => JSON.stringify(r)),
      ),
    ];
    const names = SOURCES.map((s) => s.name);
    expect(resourcesFor('datasync:StartTaskExecution').sort()).toEqual(names.map((n) => JSON.stringify(arn(n))).sort());
    expect(resourcesFor('datasync:DescribeTaskExecution').sort()).toEqual(names.map((n) => JSON.stringify(executions(n))).sort());
    expect(datasync.flatMap((s) => [s.Action].flat()).filter((a) => !['datasync:StartTaskExecution', 'datasync:DescribeTask', 'datasync:DescribeTaskExecution'].includes(String(a)))).toEqual([]);
  });

  it('leaves cdk-nag with no finding on the run state machine (the execution wildcard is acknowledged per task)', () => {
    expect(nagFindings(stack, stack.shardline.controlPlane.runStateMachine.node.path)).toEqual([]);
  });
});

describe('run state machine without DataSync sources', () => {
  const { asl } = synth([]);

  it('fails a source input as UnknownSource, and has no DataSync state', () => {
    expect(asl.States.RunValidate.Choices.slice(0, 2).map((c: { Next: string }) => c.Next)).toEqual(['RunSourceUnknown', 'RunSourceUnknown']);
    expect(Object.keys(asl.States).filter((n) => n.startsWith('RunSource'))).toEqual(['RunSourceUnknown']);
  });
});

describe('run state machine on the emulator: {"source": "<unknown>"}', () => {
  let env: ProvisionedEndpoint;
  beforeAll(async () => {
    env = await startProvisionedEndpoint();
  }, 120_000);
  afterAll(async () => {
    await env?.server.stop();
  });

  it('fails with UnknownSource naming the source', async () => {
    const result = await startExecution(env.clients.sfn, env.resources.runStateMachineArn, { source: 'no-such-source' }, { pollMs: 200, timeoutMs: 60_000 });
    expect(result.status).toBe('FAILED');
    expect(result.error).toBe('UnknownSource');
    expect(result.cause).toMatch(/^unknown source no-such-source: /);
  }, 90_000);

  it('fails a source that is not a string, or a continuation that carries no task execution, as InvalidInput', async () => {
    for (const input of [{ source: 42 }, { source: 'no-such-source', continued: { phase: 'source' } }]) {
      const result = await startExecution(env.clients.sfn, env.resources.runStateMachineArn, input, { pollMs: 200, timeoutMs: 60_000 });
      expect([JSON.stringify(input), result.status, result.error]).toEqual([JSON.stringify(input), 'FAILED', 'InvalidInput']);
    }
  }, 120_000);
});
