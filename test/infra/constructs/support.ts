import { App, Duration, Stack, type CfnResource } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { State } from '../../../infra/constructs/state';
import { Storage } from '../../../infra/constructs/storage';
import { Observability, type ObservabilityProps } from '../../../infra/constructs/observability';
import { queueWithDlq, WorkQueues } from '../../../infra/constructs/work-queues';

/** An empty stack named `Test` in its own app, with Lambda bundling off (no bundle is asserted). */
export function bareStack(): Stack {
  return new Stack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test');
}

/** The logical id of a construct's CloudFormation resource. */
export function logicalIdOf(c: IConstruct): string {
  return Stack.of(c).getLogicalId(c.node.defaultChild as CfnResource);
}

/**
 * cdk-nag AwsSolutions findings in `scope` as `rule: paths`, optionally only those on
 * resources under `pathPrefix` (to leave out test fixtures).
 */
export function nagFindings(scope: IConstruct, pathPrefix = ''): string[] {
  const { violations } = new AwsSolutionsChecks().validateScope(scope);
  return violations
    .map((v) => ({
      rule: v.ruleName,
      // A resource without a construct path cannot be told apart from the fixtures, so it is kept.
      paths: v.violatingResources.map((r) => r.constructPath ?? `(logical id) ${r.resourceLogicalId}`).filter((p) => p.startsWith('(logical id)') || p.startsWith(pathPrefix)),
    }))
    .filter((v) => v.paths.length > 0)
    .map((v) => `${v.rule}: ${v.paths.join(', ')}`);
}

/** Buckets, tables and queues as shardline makes them, for constructs that take them as props. */
export function dataFixtures(stack: Stack) {
  const storage = new Storage(stack, 'Storage', { retainData: false });
  const state = new State(stack, 'State', { retainData: false });
  const workQueues = new WorkQueues(stack, 'WorkQueues', { visibilityTimeoutSeconds: 300, maxReceiveCount: 5 });
  return { storage, state, workQueues };
}

/** The construct alone on what it watches: a fast synth per variant. */
export function observabilityIn(stack: Stack, overrides: Partial<ObservabilityProps> = {}): Observability {
  const { state, workQueues } = dataFixtures(stack);
  const events = queueWithDlq(stack, 'IngestEvents', Duration.minutes(30), 5);
  const chunker = new lambda.Function(stack, 'Chunker', { runtime: lambda.Runtime.NODEJS_24_X, handler: 'index.handler', code: lambda.Code.fromInline('exports.handler = async () => ({})') });
  return new Observability(stack, 'Observability', {
    stageName: 'dev',
    workQueue: workQueues.workQueue,
    workDlq: workQueues.workDlq,
    ingestEventsQueue: events.queue,
    ingestEventsDlq: events.deadLetterQueue,
    chunker,
    ledgerTable: state.ledgerTable,
    nodesTable: state.nodesTable,
    controlTable: state.controlTable,
    minHealthyNodes: 2,
    ...overrides,
  });
}
