import { App, CfnResource, Stack, Validations } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { defaultStageConfig } from '../../infra/config';
import { AGENT_CONTROL_PARTITIONS, AGENT_DELETE_PREFIXES, DYNAMODB_WRITE_ACTIONS } from '../../infra/constructs/agent-grants';
import { TRAINING_READ_PREFIXES } from '../../infra/constructs/training-task-example';
import { createShardlineStack, type ShardlineStack } from '../../infra/shardline-stack';
import { registryKeys, s3Keys } from '../../lib/checkpoint/layout';
import { controlKeys, CONTROL_PK } from '../../lib/control/control-state';
import { indexKey } from '../../lib/dataset/index-format';
import { layout } from '../../lib/storage/layout';
import { idOf, like, statementsOf as statementsIn, type Statement } from './iam-support';

// The IAM of the synthesized stack, as deployed: what the agent and training tasks may do to the
// data, and that every cdk-nag acknowledgement is on one resource, so a new wildcard is reported.

const synth = (): ShardlineStack => createShardlineStack(new App({ context: { 'aws:cdk:bundling-stacks': [] } }), 'Test', { ...defaultStageConfig('test') });
const stack = synth();
const template = Template.fromStack(stack);
const { shardline } = stack;
const actionsOf = (s: Statement) => [s.Action].flat();
const statementsOf = (role: iam.IRole) => statementsIn(template, role);
const allows = (role: iam.IRole) => statementsOf(role).filter((s) => s.Effect === 'Allow');
/** Whether a statement's resources name `c` (its ARN or a path below it). */
const on = (s: Statement, c: IConstruct) => JSON.stringify(s.Resource).includes(`"${idOf(c)}"`);
/** The `Fn::Join` of `<bucket ARN><suffix>`, as `arnForObjects(suffix without the slash)` synthesizes. */
const objectsArn = (bucket: s3.IBucket, pattern: string) => ({ 'Fn::Join': ['', [{ 'Fn::GetAtt': [idOf(bucket), 'Arn'] }, `/${pattern}`]] });

const agentRole = shardline.fleet.taskDefinition.taskRole;
const processed = shardline.processedBucket;

describe('the agent task role on the processed bucket', () => {
  it('is never allowed to delete an object version, and is denied it explicitly', () => {
    for (const s of allows(agentRole)) expect(actionsOf(s).filter((a) => like(a, 's3:DeleteObjectVersion'))).toEqual([]);
    expect(statementsOf(agentRole)).toContainEqual({ Sid: 'NeverDeleteVersions', Effect: 'Deny', Action: 's3:DeleteObjectVersion', Resource: objectsArn(processed, '*') });
  });

  it('deletes (current versions) only under the attempt-output and checkpoint prefixes', () => {
    const deletes = allows(agentRole).filter((s) => actionsOf(s).some((a) => like(a, 's3:DeleteObject')));
    expect(deletes).toEqual([{ Sid: 'DeleteAttemptOutputs', Effect: 'Allow', Action: 's3:DeleteObject', Resource: AGENT_DELETE_PREFIXES.map((p) => objectsArn(processed, `${p}*`)) }]);
  });

  it("covers every key the agent deletes: an attempt's shard and rejects, a checkpoint's files (lib/storage/layout.ts, lib/checkpoint/layout.ts)", () => {
    const patterns = AGENT_DELETE_PREFIXES.map((p) => `${p}*`);
    const deleted = [
      layout.shardKey('0f'.repeat(16), 3, 2),
      layout.shardKey('0f'.repeat(16), 3, 2, 'jsonl.zst'),
      layout.rejectsKey('0f'.repeat(16), 3, 2),
      s3Keys.file('llm', 10, 1, 'abcdef12', 'model.pt'),
      s3Keys.complete('llm', 10),
    ];
    for (const key of deleted) expect(patterns.some((p) => like(p, key))).toBe(true);
    // What it must never delete: manifests, run manifests, dataset indexes.
    for (const key of [`manifests/${'0f'.repeat(16)}.json`, `manifests/by-key/data/a.jsonl/${'0f'.repeat(16)}`, 'runs/r1/manifest.json', indexKey('train', 3)])
      expect(patterns.some((p) => like(p, key))).toBe(false);
  });

  it('has no action wildcard that could grow into a delete or a bucket setting', () => {
    const processedActions = allows(agentRole)
      .filter((s) => on(s, processed))
      .flatMap(actionsOf);
    expect(processedActions.filter((a) => a.includes('*')).sort()).toEqual(['s3:GetBucket*', 's3:GetObject*', 's3:List*']);
  });
});

describe('the agent task role on the state tables', () => {
  const writesOn = (table: IConstruct) => allows(agentRole).filter((s) => on(s, table) && actionsOf(s).some((a) => DYNAMODB_WRITE_ACTIONS.some((w) => like(a, w)) || like(a, 'dynamodb:PartiQL*')));

  it('writes the control table only under a LeadingKeys condition naming its own partitions', () => {
    const writes = writesOn(shardline.controlTable);
    expect(writes).toHaveLength(1);
    expect(writes[0].Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': [...AGENT_CONTROL_PARTITIONS] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
    expect(writes[0].Resource).toEqual({ 'Fn::GetAtt': [idOf(shardline.controlTable), 'Arn'] });
  });

  it('writes the nodes table only under a LeadingKeys condition on node items', () => {
    const writes = writesOn(shardline.nodesTable);
    expect(writes).toHaveLength(1);
    expect(writes[0].Condition).toEqual({ 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['NODE#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } });
  });

  it('may write the leader lease, the activity snapshot and runs, and not the control history or the config history', () => {
    const patterns = writesOn(shardline.controlTable)[0].Condition?.['ForAllValues:StringLike']['dynamodb:LeadingKeys'] as string[];
    for (const pk of ['LEADER', controlKeys.activity.pk, 'RUN']) expect(patterns.some((p) => like(p, pk))).toBe(true);
    for (const pk of [controlKeys.historyPk, controlKeys.configHistoryPk]) expect(patterns.some((p) => like(p, pk))).toBe(false);
  });

  // LeadingKeys cannot tell sort keys apart: the activity snapshot has a partition of its own
  // (lib/control/control-state.ts), so that the desired state's partition stays out of reach.
  it('may not write the desired state or the config (partition PIPELINE)', () => {
    const patterns = writesOn(shardline.controlTable)[0].Condition?.['ForAllValues:StringLike']['dynamodb:LeadingKeys'] as string[];
    expect(controlKeys.state.pk).toBe(CONTROL_PK);
    expect(controlKeys.config.pk).toBe(CONTROL_PK);
    expect(controlKeys.activity.pk).not.toBe(CONTROL_PK);
    expect(patterns.some((p) => like(p, CONTROL_PK))).toBe(false);
  });

  it('has no write on the control or nodes table without the condition, nor any PartiQL write', () => {
    for (const table of [shardline.controlTable, shardline.nodesTable]) {
      for (const s of writesOn(table)) expect(s.Condition?.['ForAllValues:StringLike']?.['dynamodb:LeadingKeys']).toBeDefined();
    }
    expect(
      allows(agentRole)
        .flatMap(actionsOf)
        .filter((a) => a.startsWith('dynamodb:PartiQL')),
    ).toEqual([]);
  });
});

describe('the example training task role', () => {
  const role = shardline.trainingTaskExample!.taskDefinition.taskRole;

  it('reads shards, indexes and checkpoints, lists the bucket, and writes or deletes nothing', () => {
    expect(allows(role).filter((s) => s.Sid?.startsWith('Read') || s.Sid === 'ListProcessedBucket')).toEqual([
      { Sid: 'ReadTrainingObjects', Effect: 'Allow', Action: 's3:GetObject', Resource: TRAINING_READ_PREFIXES.map((p) => objectsArn(processed, `${p}*`)) },
      { Sid: 'ListProcessedBucket', Effect: 'Allow', Action: 's3:ListBucket', Resource: { 'Fn::GetAtt': [idOf(processed), 'Arn'] } },
      {
        Sid: 'ReadCheckpointRegistry',
        Effect: 'Allow',
        Action: ['dynamodb:GetItem', 'dynamodb:Query'],
        Resource: { 'Fn::GetAtt': [idOf(shardline.ledgerTable), 'Arn'] },
        Condition: { 'ForAllValues:StringLike': { 'dynamodb:LeadingKeys': ['CKPT#*'] }, Null: { 'dynamodb:LeadingKeys': 'false' } },
      },
    ]);
    expect(
      allows(role)
        .flatMap(actionsOf)
        .filter((a) => /^(s3|dynamodb):(Put|Delete|Update|Abort|BatchWrite)/.test(a)),
    ).toEqual([]);
  });

  it("covers what a training job reads: shards, the dataset index, a checkpoint's files and registry items", () => {
    for (const key of [
      layout.shardKey('0f'.repeat(16), 0, 1),
      indexKey('train', 1),
      s3Keys.file('llm', 10, 0, 'abcdef12', 'model.pt'),
      s3Keys.manifest('llm', 10, 0, 'abcdef12'),
      s3Keys.complete('llm', 10),
    ]) {
      expect(TRAINING_READ_PREFIXES.some((p) => key.startsWith(p))).toBe(true);
    }
    expect(like('CKPT#*', registryKeys.step('llm', 10).pk)).toBe(true);
  });
});

describe('no role of the stack', () => {
  it('is allowed to delete object versions or to use s3:* or s3:DeleteObject*', () => {
    const statements = Object.values(template.findResources('AWS::IAM::Policy')).flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const offending = statements.filter((s) => s.Effect === 'Allow').flatMap((s) => actionsOf(s).filter((a) => ['s3:*', 's3:DeleteObject*'].includes(a) || like(a, 's3:DeleteObjectVersion')));
    expect(offending).toEqual([]);
  });
});

describe('cdk-nag acknowledgements', () => {
  /** Every AwsSolutions acknowledgement in the stack: where, which finding, why. */
  const acknowledgements = (root: IConstruct) =>
    root.node.findAll().flatMap((c) =>
      c.node.metadata
        .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
        .flatMap((m) => Object.entries(m.data as Record<string, string>))
        .map(([key, reason]) => ({ construct: c, id: key.replace(/^Annotation::/, ''), reason }))
        .filter(({ id }) => id.startsWith('AwsSolutions-')),
    );

  it('are each on one resource (a role, a function, a task definition...), never on a construct that groups several, and carry a reason', () => {
    const acks = acknowledgements(stack);
    expect(acks.length).toBeGreaterThan(20);
    const notOnAResource = acks
      .filter(({ construct }) => !CfnResource.isCfnResource(construct) && !CfnResource.isCfnResource(construct.node.defaultChild))
      .map((a) => `${a.construct.node.path}: ${a.id}`);
    expect(notOnAResource).toEqual([]);
    for (const a of acks) expect(a.reason.length).toBeGreaterThan(20);
  });

  it('name the exact wildcard of every IAM5 acknowledgement', () => {
    const bare = acknowledgements(stack).filter((a) => /^AwsSolutions-IAM[45]$/.test(a.id));
    expect(bare).toEqual([]);
  });

  /** Every finding as `rule path`. */
  const findings = (root: IConstruct) => new AwsSolutionsChecks().validateScope(root).violations.flatMap((v) => v.violatingResources.map((r) => `${v.ruleName} ${r.constructPath}`));

  it('report a wildcard added to the agent task role, the fleet or the control plane', () => {
    const before = new Set(findings(stack));
    const mutated = synth();
    const { fleet, controlPlane, processedBucket } = mutated.shardline;
    fleet.taskDefinition.taskRole.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['s3:DeleteObject*'], resources: [processedBucket.arnForObjects('*')] }));
    new iam.Role(fleet, 'Added', { assumedBy: new iam.ServicePrincipal('ec2.amazonaws.com') }).addToPolicy(new iam.PolicyStatement({ actions: ['ec2:DescribeTags'], resources: ['*'] }));
    new iam.Role(controlPlane, 'Added', { assumedBy: new iam.ServicePrincipal('states.amazonaws.com') }).addToPolicy(new iam.PolicyStatement({ actions: ['logs:GetLogDelivery'], resources: ['*'] }));
    expect(
      findings(mutated)
        .filter((f) => !before.has(f))
        .sort(),
    ).toEqual([
      'AwsSolutions-IAM5[Action::s3:DeleteObject*] Test/Default/AgentFleet/AgentTask/TaskRole/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::*] Test/Default/AgentFleet/Added/DefaultPolicy/Resource',
      'AwsSolutions-IAM5[Resource::*] Test/Default/ControlPlane/Added/DefaultPolicy/Resource',
    ]);
  });

  it('report a wildcard in a tiny stack with nothing acknowledged', () => {
    const tiny = new Stack(new App(), 'Tiny');
    const bucket = new s3.Bucket(tiny, 'Bucket', { enforceSSL: true });
    new iam.Role(tiny, 'Role', { assumedBy: new iam.ServicePrincipal('ecs-tasks.amazonaws.com') }).addToPolicy(new iam.PolicyStatement({ actions: ['s3:*'], resources: [bucket.arnForObjects('*')] }));
    const rules = new AwsSolutionsChecks().validateScope(tiny).violations.map((v) => v.ruleName);
    expect(rules).toEqual(expect.arrayContaining(['AwsSolutions-IAM5[Action::s3:*]', `AwsSolutions-IAM5[Resource::<${tiny.getLogicalId(bucket.node.defaultChild as CfnResource)}.Arn>/*]`]));
  });
});
