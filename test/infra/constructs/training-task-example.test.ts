import { Template } from 'aws-cdk-lib/assertions';
import { State } from '../../../infra/constructs/state';
import { Storage } from '../../../infra/constructs/storage';
import { TRAINING_CACHE_DIR, TRAINING_CHECKPOINT_DIR, TrainingTaskExample } from '../../../infra/constructs/training-task-example';
import { acknowledgeTrainingTaskExampleFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const storage = new Storage(stack, 'Storage', { retainData: false });
const state = new State(stack, 'State', { retainData: false });
const example = new TrainingTaskExample(stack, 'TrainingTaskExample', {
  cacheHostPath: '/mnt/shardline-cache',
  processedBucket: storage.processedBucket,
  ledgerTable: state.ledgerTable,
  gpus: 4,
  logRetentionDays: 14,
});
acknowledgeTrainingTaskExampleFindings(example, { buckets: [storage.processedBucket] });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const task = () => resources[logicalIdOf(example.taskDefinition)].Properties;
const container = () => task().ContainerDefinitions[0];

describe('TrainingTaskExample', () => {
  it('requests the configured GPUs', () => {
    expect(container().ResourceRequirements).toEqual([{ Type: 'GPU', Value: '4' }]);
  });

  it("mounts the host's shard cache read-only and its checkpoint spool read-write, and tells the reader and the Checkpointer where they are", () => {
    expect(task().Volumes).toEqual([
      { Name: 'shard-cache', Host: { SourcePath: '/mnt/shardline-cache' } },
      { Name: 'checkpoint-spool', Host: { SourcePath: '/mnt/shardline-cache/checkpoints' } },
    ]);
    expect(container().MountPoints).toEqual([
      { SourceVolume: 'shard-cache', ContainerPath: TRAINING_CACHE_DIR, ReadOnly: true },
      { SourceVolume: 'checkpoint-spool', ContainerPath: TRAINING_CHECKPOINT_DIR, ReadOnly: false },
    ]);
    expect(container().Environment).toEqual(
      expect.arrayContaining([
        { Name: 'SHARDLINE_CACHE_DIR', Value: TRAINING_CACHE_DIR },
        { Name: 'SHARDLINE_CHECKPOINT_DIR', Value: TRAINING_CHECKPOINT_DIR },
        { Name: RESOURCES.processedBucket.envVar, Value: { Ref: logicalIdOf(storage.processedBucket) } },
        { Name: RESOURCES.ledgerTable.envVar, Value: { Ref: logicalIdOf(state.ledgerTable) } },
      ]),
    );
  });

  it("runs as the agent's user (the agent writes status files into the spool's directories) and only on hosts with a cache disk and so an agent", () => {
    expect(container().User).toBe('1000:1000');
    expect(task().PlacementConstraints).toEqual([{ Type: 'memberOf', Expression: 'attribute:shardline.cache-disk exists' }]);
  });

  it('runs on the EC2 hosts and logs to its own log group', () => {
    expect(task().RequiresCompatibilities).toEqual(['EC2']);
    expect(container().LogConfiguration).toMatchObject({ LogDriver: 'awslogs', Options: expect.objectContaining({ 'awslogs-group': { Ref: logicalIdOf(example.logGroup) } }) });
    expect(resources[logicalIdOf(example.logGroup)].Properties.RetentionInDays).toBe(14);
  });

  it('may read shards, indexes and checkpoints and the checkpoint registry, and write nothing', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalIdOf(example.taskDefinition.taskRole)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()));
    expect(actions.sort()).toEqual(['dynamodb:GetItem', 'dynamodb:Query', 's3:GetObject', 's3:ListBucket']);
  });

  it('passes the cdk-nag AwsSolutions checks with its acknowledgements', () => {
    expect(nagFindings(stack, 'Test/TrainingTaskExample/')).toEqual([]);
  });
});
