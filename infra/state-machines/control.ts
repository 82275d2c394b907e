import { Duration } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { continueAsNew, pacingChoice, type Pacing } from './pacing';
import { CONTROL_ACTIONS, STATE_OF_ACTION, controlKeys, type ControlAction } from '../../lib/control/control-state';

/** What the control state machine acts on besides the control table. */
export interface ControlTargets {
  readonly controlTable: dynamodb.ITable;
  /** The chunker's SQS event source mapping (UUID); `none` where there is none (local mode). */
  readonly eventSourceMappingId: string;
  readonly eventSourceMappingArn: string;
  /** How the waits poll and when they continue as a new execution. @default CONTROL_PACING */
  readonly pacing?: Pacing;
}

/** Where a value named by the local provisioner as "not created here" lands: the step is skipped. */
export const NOT_DEPLOYED = 'none';

const S = tasks.DynamoAttributeValue.fromString;
const path = sfn.JsonPath.stringAt;
/** How many 1 s polls pause and resume wait for every node to acknowledge. */
const ACK_POLLS = 30;
/** How many 1 s polls any wait accepts without a leader having seen the action (no agent running). */
export const NO_LEADER_POLLS = 60;
/**
 * How control waits for the effect: every second for the first minute (covering the
 * {@link NO_LEADER_POLLS} and {@link ACK_POLLS} give-ups), every 10 s to the tenth minute, then
 * every 2 minutes: a 24 h drain stays under 25,000 history events in one execution, and after
 * 600 polls (at most about 20 h, within the 24 h timeout) the execution continues as a new one,
 * so a drain of any length does too.
 */
export const CONTROL_PACING: Pacing = {
  phases: [
    { seconds: 1, polls: NO_LEADER_POLLS },
    { seconds: 10, polls: 54 },
  ],
  thenSeconds: 120,
  roundsPerExecution: 600,
};

/**
 * The control state machine. Input `{ action, reason, requestedBy? }`. Records the action (who,
 * why, when) in the control table, switches the chunker's event source mapping, then waits for
 * the effect that the action promises, reading the activity the leader agent publishes:
 * pause/resume until every node obeys, drain until nothing is queued or in flight, stop until
 * drained and then records STOPPED, emergency-stop until no lease is held. The agents are an ECS
 * daemon (one per GPU host, no desired count): a stop leaves them running idle, obeying STOPPED
 * from the control table and keeping their caches for training reads; a resume sets them to work
 * again. Direct service integrations only (DynamoDB, Lambda's mapping API): no Lambda glue.
 */
export function controlDefinition(scope: Construct, t: ControlTargets): sfn.IChainable {
  const table = t.controlTable;
  const id = (name: string) => `Control${name}`;

  const invalidAction = new sfn.Fail(scope, id('InvalidAction'), {
    error: 'InvalidAction',
    cause: `action must be one of: ${CONTROL_ACTIONS.join(', ')}`,
  });
  const noLeader = new sfn.Fail(scope, id('NoLeaderAgent'), {
    error: 'NoLeaderAgent',
    cause: `no agent saw this action within ${NO_LEADER_POLLS} s (is any agent running?); the desired state stays recorded and agents obey it when they start`,
  });
  const missingReason = new sfn.Fail(scope, id('MissingReason'), { error: 'MissingReason', cause: 'every control action needs a "reason" (it is recorded with who and when)' });

  const withTargets = new sfn.Pass(scope, id('Targets'), {
    parameters: {
      eventSourceMappingId: t.eventSourceMappingId,
      none: NOT_DEPLOYED,
    },
    resultPath: '$.targets',
  });

  const record = new tasks.DynamoUpdateItem(scope, id('RecordAction'), {
    table,
    key: { pk: S(controlKeys.state.pk), sk: S(controlKeys.state.sk) },
    updateExpression:
      'SET desired = :desired, emergency = :emergency, #a = :action, reason = :reason, requestedBy = :by, callerArn = :caller, callerSource = :source, executionRoleArn = :role, executionId = :exec, updatedAt = :at ADD generation :one',
    expressionAttributeNames: { '#a': 'action' },
    expressionAttributeValues: {
      ':desired': S(path('$.target.desired')),
      ':emergency': S(path('$.target.emergency')),
      ':action': S(path('$.action')),
      ':reason': S(path('$.reason')),
      ':by': S(path('$.requestedBy')),
      ':caller': S(path('$.caller.arn')),
      ':source': S(path('$.caller.source')),
      ':role': S(path('$.caller.executionRoleArn')),
      ':exec': S(path('$$.Execution.Id')),
      ':at': S(path('$$.State.EnteredTime')),
      ':one': tasks.DynamoAttributeValue.fromNumber(1),
    },
    returnValues: tasks.DynamoReturnValues.UPDATED_NEW,
    resultSelector: { 'generation.$': 'States.StringToJson($.Attributes.generation.N)' },
    resultPath: '$.recorded',
  });

  const history = new tasks.DynamoPutItem(scope, id('RecordHistory'), {
    table,
    item: {
      pk: S(controlKeys.historyPk),
      sk: S(sfn.JsonPath.format('{}#{}', path('$$.State.EnteredTime'), path('$$.Execution.Name'))),
      action: S(path('$.action')),
      desired: S(path('$.target.desired')),
      reason: S(path('$.reason')),
      requestedBy: S(path('$.requestedBy')),
      callerArn: S(path('$.caller.arn')),
      callerSource: S(path('$.caller.source')),
      executionRoleArn: S(path('$.caller.executionRoleArn')),
      executionId: S(path('$$.Execution.Id')),
      updatedAt: S(path('$$.State.EnteredTime')),
      generation: tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.format('{}', path('$.recorded.generation'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });

  const switchIngest = new tasks.CallAwsService(scope, id('SwitchIngest'), {
    service: 'lambda',
    action: 'updateEventSourceMapping',
    parameters: { UUID: path('$.targets.eventSourceMappingId'), Enabled: path('$.target.ingestEnabled') },
    iamResources: [t.eventSourceMappingArn],
    iamAction: 'lambda:UpdateEventSourceMapping',
    resultPath: sfn.JsonPath.DISCARD,
  });
  switchIngest.addRetry({ errors: ['Lambda.ResourceInUseException', 'Lambda.TooManyRequestsException'], interval: Duration.seconds(2), maxAttempts: 6, backoffRate: 2 });

  // What a continuation carries: the action as recorded and the pace (not the activity: it is read again).
  const carried = {
    'action.$': '$.action',
    'reason.$': '$.reason',
    'requestedBy.$': '$.requestedBy',
    'caller.$': '$.caller',
    'target.$': '$.target',
    'targets.$': '$.targets',
    'recorded.$': '$.recorded',
    polls: { 'count.$': '$.polls.count', 'stale.$': '$.polls.stale', rounds: 0 },
    continued: { 'from.$': '$$.Execution.Id' },
  };

  // Waiting on the leader's activity snapshot: only one taken after this action counts.
  const waitLoop = (name: string, done: sfn.Condition, next: sfn.IChainable, giveUp?: { afterPolls: number; then: sfn.IChainable }) => {
    const read = new tasks.DynamoGetItem(scope, id(`${name}Read`), {
      table,
      key: { pk: S(controlKeys.activity.pk), sk: S(controlKeys.activity.sk) },
      consistentRead: true,
      resultPath: '$.activityItem',
    });
    const fresh = sfn.Condition.and(sfn.Condition.isPresent('$.activityItem.Item'), sfn.Condition.numberGreaterThanEqualsJsonPath('$.activity.observedGeneration', '$.recorded.generation'));
    const parse = new sfn.Pass(scope, id(`${name}Parse`), {
      parameters: {
        'observedGeneration.$': 'States.StringToJson($.activityItem.Item.observedGeneration.N)',
        'ackedGeneration.$': 'States.StringToJson($.activityItem.Item.ackedGeneration.N)',
        'healthyNodes.$': 'States.StringToJson($.activityItem.Item.healthyNodes.N)',
        'inFlight.$': 'States.StringToJson($.activityItem.Item.inFlight.N)',
        'leasedChunks.$': 'States.StringToJson($.activityItem.Item.leasedChunks.N)',
        'workQueueVisible.$': 'States.StringToJson($.activityItem.Item.workQueueVisible.N)',
        'ingestQueueVisible.$': 'States.StringToJson($.activityItem.Item.ingestQueueVisible.N)',
        'quiescent.$': '$.activityItem.Item.quiescent.BOOL',
        'noLeases.$': '$.activityItem.Item.noLeases.BOOL',
        'leader.$': '$.activityItem.Item.leader.S',
      },
      resultPath: '$.activity',
    });
    const check = new sfn.Choice(scope, id(`${name}Check`));
    const polls = new sfn.Pass(scope, id(`${name}Polls`), {
      parameters: { 'count.$': 'States.MathAdd($.polls.count, 1)', 'stale.$': '$.polls.stale', 'rounds.$': 'States.MathAdd($.polls.rounds, 1)' },
      resultPath: '$.polls',
    });
    const pace = pacingChoice(scope, id(name), {
      pacing: t.pacing ?? CONTROL_PACING,
      counters: '$.polls',
      poll: read,
      continueAsNew: continueAsNew(scope, id(name), carried, { 'action.$': '$.action', 'generation.$': '$.recorded.generation' }),
      // Giving up reports the last activity read; with none read yet, NoLeaderAgent ends the wait instead.
      before: giveUp ? [[sfn.Condition.and(sfn.Condition.numberGreaterThanEquals('$.polls.count', giveUp.afterPolls), sfn.Condition.isPresent('$.activity')), giveUp.then]] : [],
    });
    // Polls on which no leader has seen this action yet: too many, and no agent is running.
    const stale = new sfn.Pass(scope, id(`${name}NoLeaderYet`), {
      parameters: { 'count.$': '$.polls.count', 'stale.$': 'States.MathAdd($.polls.stale, 1)', 'rounds.$': '$.polls.rounds' },
      resultPath: '$.polls',
    });
    stale.next(new sfn.Choice(scope, id(`${name}LeaderGone`)).when(sfn.Condition.numberGreaterThanEquals('$.polls.stale', NO_LEADER_POLLS), noLeader).otherwise(polls));
    const hasItem = new sfn.Choice(scope, id(`${name}HasItem`)).when(sfn.Condition.isPresent('$.activityItem.Item'), parse).otherwise(stale);
    parse.next(check);
    check.when(sfn.Condition.and(fresh, done), next).when(fresh, polls).otherwise(stale);
    polls.next(pace);
    read.next(hasItem);
    return pace;
  };

  const result = (name: string, tookEffect: boolean) =>
    new sfn.Pass(scope, id(name), {
      parameters: {
        'action.$': '$.action',
        'desired.$': '$.target.desired',
        'generation.$': '$.recorded.generation',
        'reason.$': '$.reason',
        'requestedBy.$': '$.requestedBy',
        'caller.$': '$.caller',
        tookEffect,
        'activity.$': '$.activity',
      },
    });

  const acked = sfn.Condition.numberGreaterThanEqualsJsonPath('$.activity.ackedGeneration', '$.recorded.generation');
  const obeyed = waitLoop('Obeyed', acked, result('Obeyed', true), { afterPolls: ACK_POLLS, then: result('NotAcknowledged', false) });
  const drained = waitLoop('Drained', sfn.Condition.and(acked, sfn.Condition.booleanEquals('$.activity.quiescent', true)), result('Drained', true));
  const leasesBack = waitLoop('LeasesBack', sfn.Condition.and(acked, sfn.Condition.booleanEquals('$.activity.noLeases', true)), result('LeasesHandedBack', true));

  const markStopped = new tasks.DynamoUpdateItem(scope, id('RecordStopped'), {
    table,
    key: { pk: S(controlKeys.state.pk), sk: S(controlKeys.state.sk) },
    updateExpression: 'SET desired = :stopped',
    // Only if no newer action (e.g. a resume) was recorded meanwhile, and that action is a stop.
    conditionExpression: 'generation = :gen AND #a = :stop',
    expressionAttributeNames: { '#a': 'action' },
    expressionAttributeValues: {
      ':stopped': S('STOPPED'),
      ':stop': S('stop'),
      ':gen': tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.format('{}', path('$.recorded.generation'))),
    },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const stopped = new sfn.Pass(scope, id('Stopped'), {
    parameters: {
      'action.$': '$.action',
      desired: 'STOPPED',
      'generation.$': '$.recorded.generation',
      'reason.$': '$.reason',
      'requestedBy.$': '$.requestedBy',
      'caller.$': '$.caller',
      tookEffect: true,
      'activity.$': '$.activity',
    },
  });
  markStopped.next(stopped);
  // A newer action (a resume during the drain) wins: this stop reports that it was superseded.
  markStopped.addCatch(
    new sfn.Pass(scope, id('StopSuperseded'), {
      parameters: { 'action.$': '$.action', superseded: true, note: 'a newer control action was recorded while this stop drained; it stays in force', tookEffect: false },
    }),
    { errors: ['DynamoDB.ConditionalCheckFailedException'], resultPath: '$.error' },
  );
  const stopWhenDrained = waitLoop('StopDrained', sfn.Condition.and(acked, sfn.Condition.booleanEquals('$.activity.quiescent', true)), markStopped);

  const afterIngest = new sfn.Choice(scope, id('WaitForEffect'))
    .when(sfn.Condition.stringEquals('$.action', 'drain'), drained)
    .when(sfn.Condition.stringEquals('$.action', 'stop'), stopWhenDrained)
    .when(sfn.Condition.stringEquals('$.action', 'emergency-stop'), leasesBack)
    .otherwise(obeyed);

  const ingestStep = new sfn.Choice(scope, id('HasIngestMapping'))
    .when(sfn.Condition.stringEquals('$.targets.eventSourceMappingId', NOT_DEPLOYED), afterIngest)
    .otherwise(switchIngest.next(afterIngest));

  const chooseTarget = new sfn.Choice(scope, id('ChooseTarget'));
  for (const action of CONTROL_ACTIONS) {
    const desired = STATE_OF_ACTION[action as ControlAction];
    chooseTarget.when(
      sfn.Condition.stringEquals('$.action', action),
      new sfn.Pass(scope, id(`Target-${action}`), {
        parameters: { desired, emergency: String(action === 'emergency-stop'), ingestEnabled: action === 'resume' },
        resultPath: '$.target',
      }).next(withTargets),
    );
  }
  chooseTarget.otherwise(invalidAction);
  withTargets.next(record).next(history).next(ingestStep);

  const init = new sfn.Pass(scope, id('Init'), { parameters: { count: 0, stale: 0, rounds: 0 }, resultPath: '$.polls' });
  const defaultRequester = new sfn.Pass(scope, id('DefaultRequester'), {
    parameters: { 'action.$': '$.action', 'reason.$': '$.reason', 'requestedBy.$': "States.Format('unknown (StartExecution {} in CloudTrail)', $$.Execution.Name)" },
  });
  const start = new sfn.Choice(scope, id('Validate'))
    // A continuation of a long wait (see CONTROL_PACING): the action is recorded already.
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.continued'), sfn.Condition.isPresent('$.recorded.generation')), afterIngest)
    .when(sfn.Condition.not(sfn.Condition.isPresent('$.action')), invalidAction)
    .when(sfn.Condition.not(sfn.Condition.isPresent('$.reason')), missingReason)
    .when(sfn.Condition.not(sfn.Condition.isPresent('$.requestedBy')), defaultRequester.next(init))
    .otherwise(new sfn.Pass(scope, id('KeepInput')).next(init));
  // Who asked: the free-text requestedBy as typed, and apart from it the IAM identity the CLI
  // resolved with sts:GetCallerIdentity (callerArn) and the role this execution runs as.
  const caller = (name: string, arn: string, source: string) =>
    new sfn.Pass(scope, id(name), { parameters: { ...(arn.startsWith('$') ? { 'arn.$': arn } : { arn }), source, 'executionRoleArn.$': '$$.Execution.RoleArn' }, resultPath: '$.caller' });
  const callerGiven = caller('CallerFromCli', '$.callerArn', 'sts:GetCallerIdentity by the shardline CLI; the authoritative caller is the StartExecution event of executionId in CloudTrail');
  const callerUnknown = caller('CallerNotGiven', 'not given', 'the StartExecution event of executionId in CloudTrail');
  callerGiven.next(chooseTarget);
  callerUnknown.next(chooseTarget);
  // Not start.afterwards(): the continuation branch ends the execution, it must not lead back here.
  init.next(new sfn.Choice(scope, id('Caller')).when(sfn.Condition.and(sfn.Condition.isPresent('$.callerArn'), sfn.Condition.isString('$.callerArn')), callerGiven).otherwise(callerUnknown));
  return start;
}
