import { Duration, Stack } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * How a waiting loop polls: fast at first (most actions and runs end soon), slower the longer it
 * waits, so that a day of waiting stays far under Standard workflows' 25,000 history events; and
 * after `roundsPerExecution` polls the execution continues as a new one, so that waiting of any
 * length never reaches that quota. test/infra/history-bound.test.ts derives the worst case.
 */
export interface Pacing {
  /** The first polls, fastest first: the wait before each poll and how many polls it lasts. */
  readonly phases: ReadonlyArray<{ readonly seconds: number; readonly polls: number }>;
  /** The wait before every later poll. */
  readonly thenSeconds: number;
  /** Polls one execution makes before it continues as a new execution. */
  readonly roundsPerExecution: number;
}

/**
 * The loop's counters live at `counters` (e.g. `$.polls`): `count`, polls since the wait began
 * (carried into a continuation: it sets the pace), and `rounds`, polls of this execution (0 in a
 * continuation: it bounds this execution's history).
 */
export function pacingChoice(
  scope: Construct,
  name: string,
  opts: { pacing: Pacing; counters: string; poll: sfn.IChainable; continueAsNew: sfn.IChainable; before?: Array<[sfn.Condition, sfn.IChainable]> },
): sfn.Choice {
  const { pacing, counters } = opts;
  const choice = new sfn.Choice(scope, `${name}Pace`);
  for (const [condition, next] of opts.before ?? []) choice.when(condition, next);
  choice.when(sfn.Condition.numberGreaterThanEquals(`${counters}.rounds`, pacing.roundsPerExecution), opts.continueAsNew);
  let until = 0;
  for (const [i, phase] of pacing.phases.entries()) {
    until += phase.polls;
    const wait = new sfn.Wait(scope, `${name}Wait${i}`, { time: sfn.WaitTime.duration(Duration.seconds(phase.seconds)) });
    choice.when(sfn.Condition.numberLessThan(`${counters}.count`, until), wait.next(opts.poll));
  }
  const slow = new sfn.Wait(scope, `${name}WaitLong`, { time: sfn.WaitTime.duration(Duration.seconds(pacing.thenSeconds)) });
  return choice.otherwise(slow.next(opts.poll));
}

/**
 * Starts this state machine again with `input` (the state carried over) and ends this execution
 * with `{ continuedAs }`: the CLI follows the chain (lib/control/executions.ts). The role needs
 * `states:StartExecution` on the machine itself (added by the ControlPlane construct).
 */
export function continueAsNew(scope: Construct, name: string, input: Record<string, unknown>, output: Record<string, unknown> = {}): sfn.IChainable {
  const start = new sfn.CustomState(scope, `${name}ContinueAsNew`, {
    stateJson: {
      Type: 'Task',
      Resource: `arn:${Stack.of(scope).partition}:states:::states:startExecution`,
      Parameters: {
        'StateMachineArn.$': '$$.StateMachine.Id',
        Input: { ...input, 'AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$': '$$.Execution.Id' },
      },
      ResultSelector: { 'executionArn.$': '$.ExecutionArn' },
      ResultPath: '$.continuedAs',
      Retry: [{ ErrorEquals: ['States.ALL'], IntervalSeconds: 2, MaxAttempts: 5, BackoffRate: 2 }],
    },
  });
  return start.next(new sfn.Pass(scope, `${name}Continued`, { parameters: { ...output, 'continuedAs.$': '$.continuedAs.executionArn' } }));
}
