import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Duration } from 'aws-cdk-lib';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { continueAsNew, pacingChoice, type Pacing } from './pacing';

export interface RunTargets {
  readonly controlTable: dynamodb.ITable;
  /** Where listed keys go: the chunker plans them as it plans new objects. */
  readonly ingestEventsQueue: sqs.IQueue;
  /** Buckets a run may list (the ingest bucket and any configured source buckets). */
  readonly sourceBuckets: s3.IBucket[];
  readonly processedBucketName: string;
  readonly topic: sns.ITopic;
  /** How the run waits for the leader and when it continues as a new execution. @default RUN_PACING */
  readonly pacing?: Pacing;
  /** Pages one execution lists before it continues as a new execution. @default RUN_PAGES_PER_EXECUTION */
  readonly pagesPerExecution?: number;
  /** DataSync sources the run starts on `{"source": "<name>"}` (infra/constructs/data-sources.ts): the task and the ingest-bucket prefix it copies to. @default none */
  readonly dataSources?: ReadonlyArray<{ readonly name: string; readonly taskArn: string; readonly prefix: string }>;
  /** How the run follows a DataSync copy. @default SOURCE_PACING */
  readonly sourcePacing?: Pacing;
}

const S = tasks.DynamoAttributeValue.fromString;
const path = sfn.JsonPath.stringAt;
/** Keys per listed page, and so per message to the chunker (keys are up to 1 KiB each: < 256 KiB). */
export const RUN_PAGE_SIZE = 100;
/** Pages (of {@link RUN_PAGE_SIZE} keys) one execution lists before it continues as a new execution: about 24 history events each. */
export const RUN_PAGES_PER_EXECUTION = 100;
/**
 * How the run waits for the leader to settle it: every 2 s for a minute, every 10 s for five
 * more, then every 90 s; after 900 polls (at most about 22 h, within the 24 h timeout) the
 * execution continues as a new one. test/infra/history-bound.test.ts derives the worst case.
 */
export const RUN_PACING: Pacing = {
  phases: [
    { seconds: 2, polls: 30 },
    { seconds: 10, polls: 30 },
  ],
  thenSeconds: 90,
  roundsPerExecution: 900,
};

/**
 * How the run follows a DataSync copy it started: every 30 s for five minutes, then every 5
 * minutes; after 250 polls (about 20 h, within the 24 h timeout) it continues as a new execution.
 * Copies of a large source take hours: the slow pace keeps the history small.
 */
export const SOURCE_PACING: Pacing = { phases: [{ seconds: 30, polls: 10 }], thenSeconds: 300, roundsPerExecution: 250 };

/**
 * The run state machine. Input `{ bucket, prefix }`, optionally with `index: { name }`. Processes
 * every object already under the prefix: records the run, lists the prefix page by page onto the
 * ingest-events queue (the chunker plans each key under the run's own object ids, so a dataset
 * can be run again with a new config), then waits until the leader agent settles the run and
 * writes the run manifest, publishes a completion notice to SNS, and fails when chunks failed.
 * With `index`, the run item carries the name and the leader builds that dataset index from the
 * run's objects as it settles the run (no Lambda): the output names it, and the execution fails
 * with `IndexFailed` when it could not be built (the run's data is processed all the same).
 * The run id is the first execution's name (`$.pace.runId`): a long listing or a long wait
 * continues as a new execution of the same machine, carrying the run id, the listing position
 * and the pace, so that no execution's history grows past Step Functions' quota.
 *
 * Input `{ source }` instead starts the DataSync task of that source ({@link sourceCopy}) and
 * follows it until it ends; the objects it copies are processed through the ingest bucket's S3
 * events as they land, so the run lists nothing itself.
 */
export function runDefinition(scope: Construct, t: RunTargets): sfn.IChainable {
  const id = (name: string) => `Run${name}`;
  const runId = path('$.pace.runId');
  const runKey = { pk: S('RUN'), sk: S(runId) };

  const invalid = new sfn.Fail(scope, id('InvalidInput'), {
    error: 'InvalidInput',
    cause: 'input must be { "bucket": "...", "prefix": "..." } (prefix may be ""), optionally with "index": { "name": "..." }, or { "source": "<DataSync source name>" }',
  });

  const record = (name: string, withIndex: boolean) =>
    new tasks.DynamoPutItem(scope, id(name), {
      table: t.controlTable,
      item: {
        ...runKey,
        runId: S(runId),
        bucket: S(path('$.bucket')),
        prefix: S(path('$.prefix')),
        status: S('RUNNING'),
        objectsListed: tasks.DynamoAttributeValue.fromNumber(0),
        listingComplete: tasks.DynamoAttributeValue.fromBoolean(false),
        startedAt: S(path('$$.State.EnteredTime')),
        executionId: S(path('$$.Execution.Id')),
        // The leader reads it when it settles the run (RunItem.index in lib/ledger/run-ledger.ts).
        ...(withIndex ? { index: tasks.DynamoAttributeValue.fromMap({ name: S(path('$.index.name')) }) } : {}),
      },
      conditionExpression: 'attribute_not_exists(pk)',
      resultPath: sfn.JsonPath.DISCARD,
    });
  const create = record('Record', false);
  const createWithIndex = record('RecordWithIndex', true);

  const listFirst = listPage(scope, id('ListFirst'), t, false);
  const listNext = listPage(scope, id('ListNext'), t, true);

  const enqueue = new tasks.SqsSendMessage(scope, id('EnqueuePage'), {
    queue: t.ingestEventsQueue,
    messageBody: sfn.TaskInput.fromObject({
      shardlineRun: { runId, bucket: path('$.bucket'), keys: sfn.JsonPath.listAt('$.listing.Contents[*].Key') },
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const count = new tasks.DynamoUpdateItem(scope, id('CountPage'), {
    table: t.controlTable,
    key: runKey,
    updateExpression: 'ADD objectsListed :n',
    expressionAttributeValues: { ':n': tasks.DynamoAttributeValue.numberFromString(sfn.JsonPath.format('{}', path('$.listing.KeyCount'))) },
    resultPath: sfn.JsonPath.DISCARD,
  });
  const listingDone = new tasks.DynamoUpdateItem(scope, id('ListingComplete'), {
    table: t.controlTable,
    key: runKey,
    updateExpression: 'SET listingComplete = :yes',
    expressionAttributeValues: { ':yes': tasks.DynamoAttributeValue.fromBoolean(true) },
    resultPath: sfn.JsonPath.DISCARD,
  });

  const read = new tasks.DynamoGetItem(scope, id('ReadRun'), { table: t.controlTable, key: runKey, consistentRead: true, resultPath: '$.run' });

  const notice = (status: string) =>
    sfn.TaskInput.fromObject({
      runId,
      status,
      bucket: path('$.bucket'),
      prefix: path('$.prefix'),
      manifest: sfn.JsonPath.format('s3://{}/{}', t.processedBucketName, path('$.run.Item.manifestKey.S')),
      recordsIn: path('$.run.Item.recordsIn.N'),
      recordsOut: path('$.run.Item.recordsOut.N'),
      recordsRejected: path('$.run.Item.recordsRejected.N'),
      objectsListed: path('$.run.Item.objectsListed.N'),
      objectsFailed: path('$.run.Item.objectsFailed.N'),
      failedChunks: path('$.run.Item.failedChunks.N'),
      execution: path('$$.Execution.Id'),
    });
  const totals = {
    'runId.$': '$.pace.runId',
    'status.$': '$.run.Item.status.S',
    manifest: sfn.JsonPath.format('s3://{}/{}', t.processedBucketName, path('$.run.Item.manifestKey.S')),
    'objectsListed.$': 'States.StringToJson($.run.Item.objectsListed.N)',
    'recordsIn.$': 'States.StringToJson($.run.Item.recordsIn.N)',
    'recordsOut.$': 'States.StringToJson($.run.Item.recordsOut.N)',
    'recordsRejected.$': 'States.StringToJson($.run.Item.recordsRejected.N)',
    'failedChunks.$': 'States.StringToJson($.run.Item.failedChunks.N)',
  };
  const summary = new sfn.Pass(scope, id('Summary'), { parameters: totals });
  const summaryWithIndex = new sfn.Pass(scope, id('SummaryWithIndex'), {
    parameters: {
      ...totals,
      index: sfn.JsonPath.format('s3://{}/{}', t.processedBucketName, path('$.run.Item.indexKey.S')),
      'indexVersion.$': 'States.StringToJson($.run.Item.indexVersion.N)',
    },
  });
  const indexFailed = new sfn.Fail(scope, id('IndexFailed'), {
    error: 'IndexFailed',
    cause:
      "the run completed, but the dataset index its input asked for could not be built: the reason is the run's indexError (shardline runs, or index.error in the run manifest); fix it, then shardline dataset index --run <runId> --name <name>",
  });
  const indexed = new sfn.Choice(scope, id('Indexed'))
    .when(sfn.Condition.isPresent('$.run.Item.indexKey'), summaryWithIndex)
    .when(sfn.Condition.isPresent('$.run.Item.indexError'), indexFailed)
    .otherwise(summary);
  const notifyComplete = new tasks.SnsPublish(scope, id('NotifyComplete'), {
    topic: t.topic,
    subject: 'shardline run complete',
    message: notice('COMPLETE'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const notifyFailed = new tasks.SnsPublish(scope, id('NotifyFailed'), {
    topic: t.topic,
    subject: 'shardline run failed',
    message: notice('FAILED'),
    resultPath: sfn.JsonPath.DISCARD,
  });
  const failed = new sfn.Fail(scope, id('ChunksFailed'), {
    error: 'ChunksFailed',
    cause: 'chunks of the run failed after every retry: the run manifest lists them (failedChunks); fix the cause, then `shardline redrive` and run again',
  });

  // What a continuation carries: the run, where the listing stands, the pace of the wait.
  const carried = (phase: 'listing' | 'waiting') => ({
    'bucket.$': '$.bucket',
    'prefix.$': '$.prefix',
    pace: { 'runId.$': '$.pace.runId', pages: 0, 'count.$': '$.pace.count', rounds: 0 },
    ...(phase === 'listing' ? { listing: { 'NextContinuationToken.$': '$.listing.NextContinuationToken' } } : {}),
    continued: { phase, 'from.$': '$$.Execution.Id' },
  });
  const polled = new sfn.Pass(scope, id('Polled'), {
    parameters: { 'runId.$': '$.pace.runId', 'pages.$': '$.pace.pages', 'count.$': 'States.MathAdd($.pace.count, 1)', 'rounds.$': 'States.MathAdd($.pace.rounds, 1)' },
    resultPath: '$.pace',
  });
  const pace = pacingChoice(scope, id('Settle'), {
    pacing: t.pacing ?? RUN_PACING,
    counters: '$.pace',
    poll: read,
    continueAsNew: continueAsNew(scope, id('Waiting'), carried('waiting'), { 'runId.$': '$.pace.runId' }),
  });
  const done = new sfn.Choice(scope, id('Settled'))
    .when(sfn.Condition.stringEquals('$.run.Item.status.S', 'COMPLETE'), notifyComplete.next(indexed))
    .when(sfn.Condition.stringEquals('$.run.Item.status.S', 'FAILED'), notifyFailed.next(failed))
    .otherwise(polled);
  read.next(done);
  polled.next(pace);

  const hasKeys = new sfn.Choice(scope, id('PageHasKeys'));
  const nextPage = new sfn.Pass(scope, id('NextPage'), {
    parameters: { 'runId.$': '$.pace.runId', 'pages.$': 'States.MathAdd($.pace.pages, 1)', 'count.$': '$.pace.count', 'rounds.$': '$.pace.rounds' },
    resultPath: '$.pace',
  });
  nextPage.next(listNext);
  const morePages = new sfn.Choice(scope, id('MorePages'))
    .when(sfn.Condition.booleanEquals('$.listing.IsTruncated', false), listingDone.next(pace))
    .when(sfn.Condition.numberGreaterThanEquals('$.pace.pages', t.pagesPerExecution ?? RUN_PAGES_PER_EXECUTION), continueAsNew(scope, id('Listing'), carried('listing'), { 'runId.$': '$.pace.runId' }))
    .otherwise(nextPage);
  hasKeys.when(sfn.Condition.numberGreaterThan('$.listing.KeyCount', 0), enqueue.next(count).next(morePages)).otherwise(morePages);
  listFirst.next(hasKeys);
  listNext.next(hasKeys);

  const source = sfn.Condition.and(sfn.Condition.isPresent('$.bucket'), sfn.Condition.isString('$.bucket'), sfn.Condition.isPresent('$.prefix'), sfn.Condition.isString('$.prefix'));
  // The name itself is checked by the leader (letters, digits, . _ -): a bad one ends in IndexFailed with the reason.
  const indexName = sfn.Condition.and(sfn.Condition.isPresent('$.index.name'), sfn.Condition.isString('$.index.name'));
  createWithIndex.next(listFirst);
  const identify = new sfn.Pass(scope, id('Identify'), { parameters: { 'runId.$': '$$.Execution.Name', pages: 0, count: 0, rounds: 0 }, resultPath: '$.pace' });
  identify.next(
    new sfn.Choice(scope, id('HasIndex'))
      .when(sfn.Condition.isPresent('$.index'), new sfn.Choice(scope, id('ValidateIndex')).when(indexName, createWithIndex).otherwise(invalid))
      .otherwise(create.next(listFirst)),
  );
  // A continuation resumes where the last execution stopped: the listing, or the wait.
  const resume = new sfn.Choice(scope, id('Resume')).when(sfn.Condition.stringEquals('$.continued.phase', 'listing'), listNext).otherwise(pace);
  const copy = sourceCopy(scope, t);
  const sourceName = sfn.Condition.and(sfn.Condition.isPresent('$.source'), sfn.Condition.isString('$.source'));
  return new sfn.Choice(scope, id('Validate'))
    .when(sfn.Condition.and(sourceName, sfn.Condition.isPresent('$.continued'), sfn.Condition.isPresent('$.sync.TaskExecutionArn'), sfn.Condition.isPresent('$.syncPolls.count')), copy.resume)
    .when(sfn.Condition.and(sourceName, sfn.Condition.not(sfn.Condition.isPresent('$.continued'))), copy.start)
    .when(sfn.Condition.isPresent('$.source'), invalid)
    .when(sfn.Condition.and(sfn.Condition.isPresent('$.continued'), source, sfn.Condition.isPresent('$.pace.runId')), resume)
    .when(source, identify)
    .otherwise(invalid);
}

/**
 * `{ source }`: starts the source's DataSync task (an unknown name fails with UnknownSource),
 * then follows the task execution at {@link SOURCE_PACING} until it ends: SUCCESS ends the
 * execution with the source, its prefix and the task execution; ERROR fails it with
 * SourceCopyFailed. The run does not list the prefix afterwards: every object the copy wrote was
 * already processed through the S3 events, and a listing would process it a second time (and the
 * prefix also holds what earlier copies wrote, as a copy transfers only what changed).
 * A long copy continues as a new execution carrying the source and the task execution.
 */
function sourceCopy(scope: Construct, t: RunTargets): { start: sfn.IChainable; resume: sfn.IChainable } {
  const id = (name: string) => `RunSource${name}`;
  const sources = t.dataSources ?? [];
  const unknown = new sfn.Fail(scope, id('Unknown'), {
    error: 'UnknownSource',
    causePath: sfn.JsonPath.format('unknown source {}: the DataSync sources are those of dataSources in the stage config (docs/sources.md)', path('$.source')),
  });
  const failed = new sfn.Fail(scope, id('CopyFailed'), {
    error: 'SourceCopyFailed',
    causePath: sfn.JsonPath.format(
      'the DataSync copy of source {} ended in ERROR: aws datasync describe-task-execution --task-execution-arn {}, or the log group of the DataSources construct',
      path('$.source'),
      path('$.sync.TaskExecutionArn'),
    ),
  });
  // Without sources no copy can have started, nor be continued.
  if (sources.length === 0) return { start: unknown, resume: unknown };
  const copied = new sfn.Pass(scope, id('Copied'), {
    parameters: { 'source.$': '$.source', 'prefix.$': '$.sync.prefix', 'taskExecutionArn.$': '$.sync.TaskExecutionArn', 'status.$': '$.syncStatus.Status' },
  });

  const describe = new tasks.CallAwsService(scope, id('Describe'), {
    service: 'datasync',
    action: 'describeTaskExecution',
    parameters: { TaskExecutionArn: path('$.sync.TaskExecutionArn') },
    iamResources: sources.map((s) => `${s.taskArn}/execution/*`),
    iamAction: 'datasync:DescribeTaskExecution',
    resultSelector: { 'Status.$': '$.Status' },
    resultPath: '$.syncStatus',
  });
  describe.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(5), maxAttempts: 3, backoffRate: 2 });
  const polled = new sfn.Pass(scope, id('Polled'), {
    parameters: { 'count.$': 'States.MathAdd($.syncPolls.count, 1)', 'rounds.$': 'States.MathAdd($.syncPolls.rounds, 1)' },
    resultPath: '$.syncPolls',
  });
  const pace = pacingChoice(scope, id('Copy'), {
    pacing: t.sourcePacing ?? SOURCE_PACING,
    counters: '$.syncPolls',
    poll: describe,
    continueAsNew: continueAsNew(
      scope,
      id('Copy'),
      {
        'source.$': '$.source',
        sync: { 'TaskExecutionArn.$': '$.sync.TaskExecutionArn', 'prefix.$': '$.sync.prefix' },
        syncPolls: { 'count.$': '$.syncPolls.count', rounds: 0 },
        continued: { phase: 'source', 'from.$': '$$.Execution.Id' },
      },
      { 'source.$': '$.source', 'taskExecutionArn.$': '$.sync.TaskExecutionArn' },
    ),
  });
  describe.next(
    new sfn.Choice(scope, id('Ended'))
      .when(sfn.Condition.stringEquals('$.syncStatus.Status', 'SUCCESS'), copied)
      .when(sfn.Condition.stringEquals('$.syncStatus.Status', 'ERROR'), failed)
      .otherwise(polled),
  );
  polled.next(pace);

  const started = new sfn.Pass(scope, id('Started'), { parameters: { count: 0, rounds: 0 }, resultPath: '$.syncPolls' });
  started.next(pace);
  const known = new sfn.Choice(scope, id('Known'));
  for (const s of sources) {
    const start = new tasks.CallAwsService(scope, id(`Start-${s.name}`), {
      service: 'datasync',
      action: 'startTaskExecution',
      parameters: { TaskArn: s.taskArn },
      iamResources: [s.taskArn],
      iamAction: 'datasync:StartTaskExecution',
      resultSelector: { 'TaskExecutionArn.$': '$.TaskExecutionArn', prefix: s.prefix },
      resultPath: '$.sync',
    });
    known.when(sfn.Condition.stringEquals('$.source', s.name), start.next(started));
  }
  return { start: known.otherwise(unknown), resume: pace };
}

/**
 * One page of the listing, kept whole: selecting `Contents` or `NextContinuationToken` in a
 * ResultSelector would fail on an empty or last page, where S3 leaves them out.
 */
function listPage(scope: Construct, name: string, t: RunTargets, continuation: boolean): tasks.CallAwsService {
  return new tasks.CallAwsService(scope, name, {
    service: 's3',
    action: 'listObjectsV2',
    parameters: {
      Bucket: path('$.bucket'),
      Prefix: path('$.prefix'),
      MaxKeys: RUN_PAGE_SIZE,
      ...(continuation ? { ContinuationToken: path('$.listing.NextContinuationToken') } : {}),
    },
    iamResources: t.sourceBuckets.map((b) => b.bucketArn),
    iamAction: 's3:ListBucket',
    resultPath: '$.listing',
  });
}
