import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { defaultStageConfig } from '../../infra/config';
import { Shardline } from '../../infra/shardline';
import { createShardlineStack } from '../../infra/shardline-stack';
import { CONTROL_ACTIONS } from '../../lib/control/control-state';
import { NO_LEADER_POLLS } from '../../infra/state-machines/control';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errors: unknown[]; errorsText: () => string };

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = createShardlineStack(app, 'Test', defaultStageConfig('test'));
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);

/** The definition with every reference replaced by a placeholder string, as deployed values would be. */
function definitionOf(id: string): { States: Record<string, any>; StartAt: string } {
  const parts = resources[id].Properties.DefinitionString['Fn::Join'][1] as unknown[];
  const value = (p: unknown) => (typeof p === 'string' ? p : (p as { Ref?: string }).Ref === 'AWS::Partition' ? 'aws' : 'resolved-reference');
  return JSON.parse(parts.map(value).join(''));
}
const control = definitionOf(logicalId(stack.shardline.controlPlane.controlStateMachine));
const run = definitionOf(logicalId(stack.shardline.controlPlane.runStateMachine));
const taskResources = (d: { States: Record<string, any> }) =>
  Object.values(d.States)
    .filter((s) => s.Type === 'Task')
    .map((s) => s.Resource as string);

describe('control plane state machines', () => {
  it.each([
    ['control', control],
    ['run', run],
  ])('the %s definition passes asl-validator', (_name, definition) => {
    const result = aslValidator(definition);
    expect(result.errorsText()).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('control uses direct service integrations only (DynamoDB, the mapping API), no Lambda glue and no ECS (the agents are a daemon)', () => {
    const used = new Set(taskResources(control));
    expect([...used].sort()).toEqual([
      'arn:aws:states:::aws-sdk:lambda:updateEventSourceMapping',
      'arn:aws:states:::dynamodb:getItem',
      'arn:aws:states:::dynamodb:putItem',
      'arn:aws:states:::dynamodb:updateItem',
      // A long wait continues as a new execution of itself.
      'arn:aws:states:::states:startExecution',
    ]);
  });

  it('control accepts exactly the documented actions and fails on anything else or a missing reason', () => {
    const choose = control.States.ControlChooseTarget;
    expect(choose.Choices.map((c: any) => c.StringEquals).sort()).toEqual([...CONTROL_ACTIONS].sort());
    expect(control.States[choose.Default]).toMatchObject({ Type: 'Fail', Error: 'InvalidAction' });
    expect(control.States.ControlMissingReason).toMatchObject({ Type: 'Fail', Error: 'MissingReason' });
  });

  it('every wait of control gives up with NoLeaderAgent when no leader sees the action for a minute', () => {
    expect(control.States.ControlNoLeaderAgent).toMatchObject({ Type: 'Fail', Error: 'NoLeaderAgent' });
    const gates = Object.entries(control.States as Record<string, any>).filter(([name]) => name.endsWith('LeaderGone'));
    expect(gates.map(([name]) => name).sort()).toEqual(['ControlDrainedLeaderGone', 'ControlLeasesBackLeaderGone', 'ControlObeyedLeaderGone', 'ControlStopDrainedLeaderGone']);
    for (const [, gate] of gates) {
      expect(gate.Choices).toEqual([{ Variable: '$.polls.stale', NumericGreaterThanEquals: NO_LEADER_POLLS, Next: 'ControlNoLeaderAgent' }]);
    }
    // Pause and resume give up on acknowledgements only with an activity read to report; with none, NoLeaderAgent ends the wait.
    expect(control.States.ControlObeyedPace.Choices[0]).toEqual({
      And: [
        { Variable: '$.polls.count', NumericGreaterThanEquals: 30 },
        { Variable: '$.activity', IsPresent: true },
      ],
      Next: 'ControlNotAcknowledged',
    });
    // A snapshot that has not seen the action, or no snapshot at all, counts as a poll without a leader.
    expect(control.States.ControlDrainedHasItem.Default).toBe('ControlDrainedNoLeaderYet');
    expect(control.States.ControlDrainedCheck.Default).toBe('ControlDrainedNoLeaderYet');
  });

  it('control records who, why and when, and counts a generation', () => {
    const record = control.States.ControlRecordAction;
    expect(record.Parameters.UpdateExpression).toMatch(/requestedBy = :by/);
    expect(record.Parameters.UpdateExpression).toMatch(/reason = :reason/);
    expect(record.Parameters.UpdateExpression).toMatch(/updatedAt = :at/);
    expect(record.Parameters.UpdateExpression).toMatch(/ADD generation :one/);
  });

  it('stop records STOPPED only if no newer action came meanwhile, and says so when one did', () => {
    const markStopped = control.States.ControlRecordStopped;
    // ... and only a recorded stop: a continuation's input cannot stop the pipeline on its own.
    expect(markStopped.Parameters.ConditionExpression).toBe('generation = :gen AND #a = :stop');
    expect(markStopped.Parameters.ExpressionAttributeValues[':stop']).toEqual({ S: 'stop' });
    expect(markStopped.Catch[0]).toMatchObject({ ErrorEquals: ['DynamoDB.ConditionalCheckFailedException'], Next: 'ControlStopSuperseded' });
  });

  it('run lists the prefix, enqueues pages for the chunker, waits for the manifest and notifies SNS', () => {
    expect(new Set(taskResources(run))).toEqual(
      new Set([
        'arn:aws:states:::dynamodb:putItem',
        'arn:aws:states:::aws-sdk:s3:listObjectsV2',
        'arn:aws:states:::sqs:sendMessage',
        'arn:aws:states:::dynamodb:updateItem',
        'arn:aws:states:::dynamodb:getItem',
        'arn:aws:states:::sns:publish',
        'arn:aws:states:::states:startExecution',
      ]),
    );
    expect(run.States.RunChunksFailed).toMatchObject({ Type: 'Fail', Error: 'ChunksFailed' });
  });

  it('both machines log errors only, without execution data, to CloudWatch Logs, trace with X-Ray and time out', () => {
    for (const m of [stack.shardline.controlPlane.controlStateMachine, stack.shardline.controlPlane.runStateMachine]) {
      const props = resources[logicalId(m)].Properties;
      expect(props.TracingConfiguration).toEqual({ Enabled: true });
      expect(props.LoggingConfiguration.Level).toBe('ERROR');
      expect(props.LoggingConfiguration.IncludeExecutionData).toBe(false);
      expect(JSON.parse(JSON.stringify(definitionOf(logicalId(m)))).TimeoutSeconds).toBeGreaterThan(0);
    }
  });

  it('the control role may switch only the chunker mapping', () => {
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Action: 'lambda:UpdateEventSourceMapping', Resource: Match.not(Match.exact('*')) })]) },
    });
  });

  it('stop records STOPPED once drained, leaving the agent daemons running idle (they keep their caches)', () => {
    expect(control.States.ControlStopDrainedCheck.Choices[0].Next).toBe('ControlRecordStopped');
    expect(Object.keys(control.States).filter((name) => /Scale|HasService/.test(name))).toEqual([]);
  });

  it('run notices go to an encrypted SNS topic', () => {
    const topic = resources[logicalId(stack.shardline.controlPlane.runNotices)];
    expect(topic.Properties.KmsMasterKeyId).toBeDefined();
  });
});

describe('what the machines log and record of the caller', () => {
  it('logs at the level and with the execution data the props ask for', () => {
    const s = new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Logs');
    new Shardline(s, 'Default', { stageName: 'test', stateMachineLogs: { level: 'ALL', includeExecutionData: true } });
    const machines = Object.values(Template.fromStack(s).findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.map((m) => [m.Properties.LoggingConfiguration.Level, m.Properties.LoggingConfiguration.IncludeExecutionData])).toEqual([
      ['ALL', true],
      ['ALL', true],
    ]);
  });

  it("records the caller's IAM identity from the CLI apart from the typed requestedBy, and the execution's role", () => {
    const item = control.States.ControlRecordHistory.Parameters.Item;
    expect(item).toMatchObject({
      requestedBy: { 'S.$': '$.requestedBy' },
      callerArn: { 'S.$': '$.caller.arn' },
      executionRoleArn: { 'S.$': '$.caller.executionRoleArn' },
      executionId: { 'S.$': '$$.Execution.Id' },
    });
    expect(control.States.ControlRecordAction.Parameters.UpdateExpression).toMatch(/callerArn = :caller/);
    expect(control.States.ControlCaller.Choices[0].Next).toBe('ControlCallerFromCli');
    expect(control.States.ControlCallerFromCli.Parameters).toMatchObject({ 'arn.$': '$.callerArn', 'executionRoleArn.$': '$$.Execution.RoleArn' });
    expect(control.States.ControlCallerNotGiven.Parameters).toMatchObject({ arn: 'not given', 'executionRoleArn.$': '$$.Execution.RoleArn' });
  });

  it('lets each machine start only itself again (to continue a long wait as a new execution)', () => {
    for (const m of [stack.shardline.controlPlane.controlStateMachine, stack.shardline.controlPlane.runStateMachine]) {
      template.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: { Statement: [{ Action: 'states:StartExecution', Effect: 'Allow', Resource: { Ref: logicalId(m) } }] },
        Roles: [{ Ref: stack.getLogicalId(m.role.node.defaultChild as never) }],
      });
    }
  });
});

describe('circuit breaker', () => {
  it('an alarm of the circuit breaker going to ALARM starts the control state machine with pause', () => {
    const alarms = stack.shardline.observability.circuitBreakerAlarms;
    expect(alarms.length).toBeGreaterThanOrEqual(1);
    const rule = resources[logicalId(stack.shardline.controlPlane.circuitBreakerRule!)].Properties;
    expect(rule.EventPattern).toMatchObject({ source: ['aws.cloudwatch'], 'detail-type': ['CloudWatch Alarm State Change'], detail: { state: { value: ['ALARM'] } } });
    expect(rule.EventPattern.resources).toHaveLength(alarms.length);
    const target = rule.Targets[0];
    expect(target.Arn).toEqual({ Ref: logicalId(stack.shardline.controlPlane.controlStateMachine) });
    expect(JSON.stringify(target.InputTransformer.InputTemplate)).toMatch(/pause/);
    expect(JSON.stringify(target.InputTransformer.InputTemplate)).toMatch(/circuit breaker/);
  });
});

describe('updates of the agent daemon', () => {
  it('replace the agent on each host in place (a daemon takes no extra capacity)', () => {
    template.hasResourceProperties('AWS::ECS::Service', { SchedulingStrategy: 'DAEMON', DeploymentConfiguration: { MinimumHealthyPercent: 0, MaximumPercent: 100 } });
  });
});

describe('runs over existing source buckets', () => {
  const withSources = createShardlineStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Sources', { ...defaultStageConfig('test'), sourceBuckets: ['datasets-archive'] });
  const t = Template.fromStack(withSources);
  const bucketArn = { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::datasets-archive']] };

  it('lets the run state machine list the bucket and the chunker and agents read it, and nothing more', () => {
    const policies = Object.values(t.findResources('AWS::IAM::Policy')).map((p) => JSON.stringify(p.Properties.PolicyDocument));
    expect(policies.some((p) => p.includes('s3:ListBucket') && p.includes(JSON.stringify(bucketArn)))).toBe(true);
    const readers = policies.filter((p) => p.includes('s3:GetObject*') && p.includes(':s3:::datasets-archive/*'));
    expect(readers).toHaveLength(2); // chunker and agent task role
    expect(policies.some((p) => /s3:(Put|Delete)Object[^"]*"[^\]]*datasets-archive/.test(p))).toBe(false);
  });

  it('keeps cdk-nag clean (the read grant is acknowledged with its reason)', () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { AwsSolutionsChecks } = require('cdk-nag') as typeof import('cdk-nag');
    const result = new AwsSolutionsChecks().validateScope(withSources) as { success: boolean; violations: unknown[] };
    expect(result.violations).toEqual([]);
  });

  it('refuses a source bucket that is not a bucket name', () => {
    expect(() => createShardlineStack(new App(), 'Bad', { ...defaultStageConfig('test'), sourceBuckets: ['Not_A_Bucket'] })).toThrow(/sourceBuckets: 'Not_A_Bucket' is not a bucket name/);
  });
});
