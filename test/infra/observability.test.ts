import { App, Duration, Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { defaultStageConfig, validateStageConfig, type StageConfig } from '../../infra/config';
import { createCheckpointAlarms } from '../../infra/observability/checkpoint-alarms';
import { createShardlineStack, type ShardlineStack } from '../../infra/shardline-stack';
import { AgentMetric, ChunkerMetric } from '../../lib/observability/metric-names';
import { RESOURCES } from '../../lib/resources';

// One synth of the whole stack for the file (seconds each); bundling is off.
const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack: ShardlineStack = createShardlineStack(app, 'Test', {
  ...defaultStageConfig('test'),
  alarmEmail: 'ops@example.com',
  targetBytesPerSecond: 50_000_000,
});
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const logicalId = (c: { node: { defaultChild?: unknown } }) => stack.getLogicalId(c.node.defaultChild as never);
const topicRef = { Ref: logicalId(stack.shardline.observability.operatorTopic) };

/** The dashboard body as JSON, each CloudFormation token written as `${Ref:Id}` / `${Id.Attr}`. */
function dashboardBody(): { widgets: { type: string; properties: Record<string, any> }[] } {
  const [dashboard] = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
  const body = dashboard.Properties.DashboardBody;
  const parts: unknown[] = typeof body === 'string' ? [body] : body['Fn::Join'][1];
  const text = parts.map((p: any) => (typeof p === 'string' ? p : p.Ref ? `\${Ref:${p.Ref}}` : `\${${p['Fn::GetAtt'].join('.')}}`)).join('');
  return JSON.parse(text);
}
const graphs = () => dashboardBody().widgets.filter((w) => w.type === 'metric');
const graphNamed = (title: string) => {
  const g = graphs().find((w) => w.properties.title === title);
  if (!g) throw new Error(`no graph titled '${title}'`);
  return g.properties as { metrics: unknown[][]; annotations?: { horizontal: { value: number }[] } };
};
/** Metric names a graph reads (plain metrics and those inside math expressions). */
const metricNamesIn = (g: { metrics: unknown[][] }) => g.metrics.filter((row) => typeof row[0] === 'string').map((row) => row[1]);
const expressionsIn = (g: { metrics: unknown[][] }) => g.metrics.map((row) => (row.at(-1) as { expression?: string }).expression).filter(Boolean);

function alarmNamed(name: string) {
  const found = Object.values(template.findResources('AWS::CloudWatch::Alarm', { Properties: { AlarmName: name } }));
  expect(found).toHaveLength(1);
  return found[0].Properties;
}

describe('Observability operator topic', () => {
  it('encrypts the topic with a rotated customer key CloudWatch may use', () => {
    const keyId = logicalId(stack.shardline.observability.node.findChild('OperatorTopicKey') as never);
    template.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: { 'Fn::GetAtt': [keyId, 'Arn'] }, DisplayName: 'shardline test alarms' });
    template.hasResourceProperties('AWS::KMS::Key', {
      EnableKeyRotation: true,
      KeyPolicy: {
        Statement: Match.arrayWith([Match.objectLike({ Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: ['kms:Decrypt', 'kms:GenerateDataKey*'] })]),
      },
    });
  });

  it('denies publishing to the topic without TLS', () => {
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [topicRef],
      PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } })]) },
    });
  });

  it("subscribes the stage's alarm email", () => {
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: topicRef });
  });

  it('outputs the topic ARN under the name clients resolve', () => {
    expect(RESOURCES.operatorTopicArn.outputName).toBe('OperatorTopicArn');
    template.hasOutput('OperatorTopicArn', { Value: topicRef });
  });
});

describe('Observability dashboard', () => {
  it('is named after the stage', () => {
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'shardline-test' });
  });

  it.each([50, 90, 99])('splits chunk latency p%d into queue wait, download, process, upload and commit', (p) => {
    const g = graphNamed(`Chunk latency p${p} (ms)`);
    expect(metricNamesIn(g)).toEqual([AgentMetric.queueWaitMs, AgentMetric.downloadMs, AgentMetric.processMs, AgentMetric.uploadMs, AgentMetric.commitMs, AgentMetric.totalMs]);
    for (const row of g.metrics) expect(row).toEqual(expect.arrayContaining(['Shardline', 'Stage', 'test', expect.objectContaining({ stat: `p${p}` })]));
  });

  it('shows bytes/s, records/s and rejected records/s as per-second rates, with the target line', () => {
    const g = graphNamed('Throughput');
    expect(metricNamesIn(g)).toEqual([AgentMetric.bytesProcessed, AgentMetric.recordsProcessed, AgentMetric.recordsRejected]);
    expect(expressionsIn(g)).toEqual(['FILL(bytes, 0) / PERIOD(bytes)', 'FILL(records, 0) / PERIOD(records)', 'FILL(rejected, 0) / PERIOD(rejected)']);
    expect(g.annotations?.horizontal).toEqual([expect.objectContaining({ value: 50_000_000 })]);
  });

  it('reads every fleet-wide shardline metric the issue lists', () => {
    const all = graphs().flatMap((w) => metricNamesIn(w.properties as never));
    for (const name of [
      AgentMetric.chunksInFlight,
      AgentMetric.recordsRejected,
      AgentMetric.chunkErrors,
      AgentMetric.healthyNodes,
      AgentMetric.shardsBelowReplication,
      AgentMetric.leaderChanges,
      AgentMetric.throttles,
    ])
      expect(all).toContain(name);
  });

  it('breaks chunk errors down by kind with a search over the ErrorKind dimension', () => {
    expect(expressionsIn(graphNamed('Chunk errors by kind (per minute) and error %'))).toContain(`SEARCH('{Shardline,ErrorKind,Stage} MetricName="ChunkErrors" Stage="test"', 'Sum', 60)`);
  });

  it('shows depth and age of the oldest message of all four queues', () => {
    const queueNames = [stack.shardline.workQueues.workQueue, stack.shardline.workQueues.workDlq, stack.shardline.ingest.eventsQueue, stack.shardline.ingest.eventsDlq].map(
      (q) => `\${${logicalId(q)}.QueueName}`,
    );
    const depth = graphNamed('Queue depth (visible + in flight)').metrics.filter((r) => r[0] === 'AWS/SQS');
    const age = graphNamed('Age of oldest message (s)').metrics;
    for (const name of queueNames) {
      expect(depth).toContainEqual(expect.arrayContaining(['ApproximateNumberOfMessagesVisible', name]));
      expect(depth).toContainEqual(expect.arrayContaining(['ApproximateNumberOfMessagesNotVisible', name]));
      expect(age).toContainEqual(expect.arrayContaining(['ApproximateAgeOfOldestMessage', name]));
    }
  });

  it("shows the chunker's invocations, errors, throttles and duration", () => {
    expect(metricNamesIn(graphNamed('Chunker Lambda'))).toEqual(['Invocations', 'Errors', 'Throttles', 'Duration', 'Duration', 'Duration']);
  });

  it('shows DynamoDB throttled requests of the ledger, nodes and control tables', () => {
    const rows = graphNamed('Throttles').metrics.filter((r) => r[0] === 'AWS/DynamoDB');
    for (const table of [stack.shardline.state.ledgerTable, stack.shardline.state.nodesTable, stack.shardline.state.controlTable]) {
      expect(rows).toContainEqual(expect.arrayContaining(['ThrottledRequests', `\${Ref:${logicalId(table)}}`, 'Operation', 'UpdateItem']));
    }
  });
});

describe('Observability alarms', () => {
  const queueDims = (q: { node: { defaultChild?: unknown } }) => [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [logicalId(q), 'QueueName'] } }];

  it.each([
    ['shardline-test-work-dlq-not-empty', () => stack.shardline.workQueues.workDlq],
    ['shardline-test-ingest-dlq-not-empty', () => stack.shardline.ingest.eventsDlq],
  ])('%s trips on one visible message and keeps its state while SQS is silent', (name, queue) => {
    expect(alarmNamed(name)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: queueDims(queue()),
      Statistic: 'Maximum',
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'ignore',
      AlarmActions: [topicRef],
      OKActions: [topicRef],
    });
  });

  it('alarms when the oldest work message is older than 30 minutes', () => {
    expect(alarmNamed('shardline-test-work-oldest-message-age')).toMatchObject({
      MetricName: 'ApproximateAgeOfOldestMessage',
      Dimensions: queueDims(stack.shardline.workQueues.workQueue),
      Threshold: 1800,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topicRef],
    });
  });

  it("alarms when healthy nodes fall below the fleet's minimum capacity, silence counting as none", () => {
    expect(alarmNamed('shardline-test-healthy-nodes-low')).toMatchObject({
      Namespace: 'Shardline',
      MetricName: AgentMetric.healthyNodes,
      Dimensions: [{ Name: 'Stage', Value: 'test' }],
      Threshold: defaultStageConfig('test').fleet.minCapacity,
      ComparisonOperator: 'LessThanThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [topicRef],
    });
  });

  it('alarms on the chunk error rate: errors / (processed + errors) per minute', () => {
    const props = alarmNamed('shardline-test-chunk-error-rate');
    expect(props).toMatchObject({ Threshold: 10, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topicRef] });
    const [expression, ...inputs] = props.Metrics;
    expect(expression).toMatchObject({ ReturnData: true });
    expect(expression.Expression).toBe('IF((FILL(processed, 0) + FILL(errors, 0)) > 0, 100 * FILL(errors, 0) / (FILL(processed, 0) + FILL(errors, 0)), 0)');
    expect(inputs.map((i: any) => [i.Id, i.MetricStat.Metric.MetricName, i.MetricStat.Period, i.ReturnData])).toEqual([
      ['errors', AgentMetric.chunkErrors, 60, false],
      ['processed', AgentMetric.chunksProcessed, 60, false],
    ]);
  });

  it('alarms on throughput below the target only while the work queue has messages', () => {
    const props = alarmNamed('shardline-test-throughput-below-target');
    expect(props).toMatchObject({ Threshold: 50_000_000, ComparisonOperator: 'LessThanThreshold', TreatMissingData: 'notBreaching', AlarmActions: [topicRef] });
    expect(props.Metrics[0].Expression).toBe('IF(FILL(waiting, 0) + FILL(inflight, 0) > 0, FILL(bytes, 0) / 300, 50000000)');
  });

  it.each([
    ['errors', 'Errors'],
    ['throttles', 'Throttles'],
  ])('alarms on any chunker Lambda %s', (what, metricName) => {
    expect(alarmNamed(`shardline-test-chunker-${what}`)).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: metricName,
      Dimensions: [{ Name: 'FunctionName', Value: { Ref: logicalId(stack.shardline.ingest.chunker) } }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
      AlarmActions: [topicRef],
    });
  });

  it.each(['ledger', 'nodes', 'control'] as const)('alarms on DynamoDB throttles of the %s table within the 10-metric limit', (name) => {
    const props = alarmNamed(`shardline-test-${name}-table-throttles`);
    expect(props).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold', AlarmActions: [topicRef] });
    const table = stack.shardline.state[`${name}Table`];
    const inputs = props.Metrics.slice(1);
    expect(inputs.length).toBeLessThanOrEqual(10);
    for (const i of inputs) {
      expect(i.MetricStat.Metric).toMatchObject({ Namespace: 'AWS/DynamoDB', MetricName: 'ThrottledRequests' });
      expect(i.MetricStat.Metric.Dimensions).toContainEqual({ Name: 'TableName', Value: { Ref: logicalId(table) } });
    }
  });

  it('sends every alarm and its recovery to the operator topic', () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    // The 12 operator alarms of this stage (a throughput target is set), then the checkpoint alarms, whatever their number.
    const checkpoints = new Stack();
    createCheckpointAlarms(checkpoints, { stageName: 'test', maxPendingAge: Duration.minutes(15) });
    expect(alarms).toHaveLength(12 + Object.keys(Template.fromStack(checkpoints).findResources('AWS::CloudWatch::Alarm')).length);
    for (const a of alarms) {
      expect(a.Properties.AlarmName).toMatch(/^shardline-test-[a-z-]+$/);
      expect(a.Properties.AlarmActions).toEqual([topicRef]);
      expect(a.Properties.OKActions).toEqual([topicRef]);
    }
  });

  it('alarms on the object failure rate: quarantined or refused / finished objects over 15 minutes, once at least 10 finished', () => {
    const props = alarmNamed('shardline-test-object-failure-rate');
    expect(props).toMatchObject({ Threshold: 20, ComparisonOperator: 'GreaterThanThreshold', EvaluationPeriods: 1, TreatMissingData: 'notBreaching', AlarmActions: [topicRef] });
    const [expression, ...inputs] = props.Metrics;
    expect(expression).toMatchObject({ ReturnData: true });
    expect(expression.Expression).toBe(
      'IF((FILL(completed, 0) + (FILL(quarantined, 0) + FILL(refused, 0))) >= 10, 100 * (FILL(quarantined, 0) + FILL(refused, 0)) / (FILL(completed, 0) + (FILL(quarantined, 0) + FILL(refused, 0))), 0)',
    );
    expect(inputs.map((i: any) => [i.Id, i.MetricStat.Metric.MetricName, i.MetricStat.Stat, i.MetricStat.Period, i.ReturnData])).toEqual([
      ['completed', AgentMetric.objectsCompleted, 'Sum', 900, false],
      ['quarantined', AgentMetric.objectsQuarantined, 'Sum', 900, false],
      ['refused', ChunkerMetric.objectsRefused, 'Sum', 900, false],
    ]);
  });

  it('hands only the object failure rate to the circuit breaker: one poison object (DLQ, failing attempts) never pauses the pipeline', () => {
    const ids = stack.shardline.observability.circuitBreakerAlarms.map((a) => stack.getLogicalId(a.node.defaultChild as never));
    expect(ids.map((id) => resources[id].Properties.AlarmName)).toEqual(['shardline-test-object-failure-rate']);
    const [rule] = Object.values(template.findResources('AWS::Events::Rule', { Properties: { Description: Match.stringLikeRegexp('circuit breaker') } }));
    expect(rule.Properties.EventPattern.resources).toEqual(ids.map((id) => ({ 'Fn::GetAtt': [id, 'Arn'] })));
    // The DLQ and chunk-error alarms still notify operators.
    for (const name of ['shardline-test-work-dlq-not-empty', 'shardline-test-ingest-dlq-not-empty', 'shardline-test-chunk-error-rate']) expect(alarmNamed(name).AlarmActions).toEqual([topicRef]);
  });

  it('lets agents publish quarantine notices to the run notices topic, and tells them which', () => {
    const topic = { Ref: logicalId(stack.shardline.runNoticesTopic) };
    const role = logicalId(stack.shardline.fleet.taskDefinition.taskRole);
    const policies = Object.values(template.findResources('AWS::IAM::Policy')).filter((p) => p.Properties.Roles.some((r: any) => r.Ref === role));
    const statements = policies.flatMap((p) => p.Properties.PolicyDocument.Statement);
    expect(statements).toContainEqual(expect.objectContaining({ Action: 'sns:Publish', Effect: 'Allow', Resource: topic }));
    const [taskDefinition] = Object.values(template.findResources('AWS::ECS::TaskDefinition', { Properties: { Family: Match.anyValue() } })).filter((t) =>
      JSON.stringify(t.Properties.ContainerDefinitions).includes(RESOURCES.workQueueUrl.envVar),
    );
    const env = taskDefinition.Properties.ContainerDefinitions[0].Environment as { Name: string; Value: unknown }[];
    expect(env).toContainEqual({ Name: RESOURCES.runNoticesTopicArn.envVar, Value: topic });
  });
});

describe('Observability in the stack', () => {
  it('passes the cdk-nag AwsSolutions checks without new acknowledgements', () => {
    const report = new AwsSolutionsChecks().validateScope(stack);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`)).toEqual([]);
  });

  it('synthesizes without CDK warnings', () => {
    const warnings = Annotations.fromStack(stack).findWarning('/Test/Default/Observability/*', Match.anyValue());
    expect(warnings.map((w) => `${w.id}: ${w.entry.data}`)).toEqual([]);
  });
});

describe('Stage config alarm settings', () => {
  const base = defaultStageConfig('x');
  const check = (extra: Partial<StageConfig>) => () => validateStageConfig({ ...base, ...extra });

  it('accepts a stage with alarm settings', () => {
    expect(check({ alarmEmail: 'ops@example.com', minHealthyNodes: 2, maxWorkMessageAgeSeconds: 900, maxChunkErrorPercent: 5, targetBytesPerSecond: 1e8 })).not.toThrow();
  });

  it.each([
    [{ alarmEmail: 'not-an-address' }, /alarmEmail 'not-an-address' is not an email address/],
    [{ minHealthyNodes: 99 }, /minHealthyNodes must be a whole number between 0 and fleet.maxCapacity/],
    [{ minHealthyNodes: 1.5 }, /minHealthyNodes/],
    [{ maxWorkMessageAgeSeconds: 5 }, /maxWorkMessageAgeSeconds must be 60..1209600/],
    [{ maxChunkErrorPercent: 0 }, /maxChunkErrorPercent must be above 0 and below 100/],
    [{ targetBytesPerSecond: -1 }, /targetBytesPerSecond must be a positive number/],
    [{ targetBytesPerSecond: Number.NaN }, /targetBytesPerSecond/],
  ] as [Partial<StageConfig>, RegExp][])('refuses %j', (extra, reason) => {
    expect(check(extra)).toThrow(reason);
  });
});
