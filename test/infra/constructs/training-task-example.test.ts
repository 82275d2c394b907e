import { Template } from 'aws-cdk-lib/assertions';
import { Storage } from '../../../infra/constructs/storage';
import { TRAINING_CACHE_DIR, TrainingTaskExample } from '../../../infra/constructs/training-task-example';
import { acknowledgeTrainingTaskExampleFindings } from '../../../infra/nag-acknowledgements';
import { RESOURCES } from '../../../lib/resources';
import { bareStack, logicalIdOf, nagFindings } from './support';

const stack = bareStack();
const storage = new Storage(stack, 'Storage', { retainData: false });
const example = new TrainingTaskExample(stack, 'TrainingTaskExample', { cacheHostPath: '/mnt/shardline-cache', processedBucket: storage.processedBucket, gpus: 4, logRetentionDays: 14 });
acknowledgeTrainingTaskExampleFindings(example, { buckets: [storage.processedBucket] });
const template = Template.fromStack(stack);
const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>;
const task = () => resources[logicalIdOf(example.taskDefinition)].Properties;
const container = () => task().ContainerDefinitions[0];

describe('TrainingTaskExample', () => {
  it('requests the configured GPUs', () => {
    expect(container().ResourceRequirements).toEqual([{ Type: 'GPU', Value: '4' }]);
  });

  it("mounts the host's shard cache read-only and tells the reader where it is", () => {
    expect(task().Volumes).toEqual([{ Name: 'shard-cache', Host: { SourcePath: '/mnt/shardline-cache' } }]);
    expect(container().MountPoints).toEqual([{ SourceVolume: 'shard-cache', ContainerPath: TRAINING_CACHE_DIR, ReadOnly: true }]);
    expect(container().Environment).toEqual(
      expect.arrayContaining([
        { Name: 'SHARDLINE_CACHE_DIR', Value: TRAINING_CACHE_DIR },
        { Name: RESOURCES.processedBucket.envVar, Value: { Ref: logicalIdOf(storage.processedBucket) } },
      ]),
    );
  });

  it('runs on the EC2 hosts and logs to its own log group', () => {
    expect(task().RequiresCompatibilities).toEqual(['EC2']);
    expect(container().LogConfiguration).toMatchObject({ LogDriver: 'awslogs', Options: expect.objectContaining({ 'awslogs-group': { Ref: logicalIdOf(example.logGroup) } }) });
    expect(resources[logicalIdOf(example.logGroup)].Properties.RetentionInDays).toBe(14);
  });

  it('may read the processed bucket and write nothing', () => {
    const actions = Object.values(template.findResources('AWS::IAM::Policy'))
      .filter((p) => JSON.stringify(p.Properties.Roles).includes(logicalIdOf(example.taskDefinition.taskRole)))
      .flatMap((p) => p.Properties.PolicyDocument.Statement.flatMap((s: { Action: string | string[] }) => [s.Action].flat()));
    expect(actions).toEqual(expect.arrayContaining(['s3:GetObject*', 's3:List*']));
    expect(actions.filter((a: string) => /^s3:(Put|Delete|Abort)/.test(a))).toEqual([]);
  });

  it('passes the cdk-nag AwsSolutions checks with its acknowledgements', () => {
    expect(nagFindings(stack, 'Test/TrainingTaskExample/')).toEqual([]);
  });
});
