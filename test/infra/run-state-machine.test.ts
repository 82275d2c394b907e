import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { defaultStageConfig } from '../../infra/config';
import { createShardlineStack } from '../../infra/shardline-stack';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const aslValidator = require('asl-validator') as (definition: unknown) => { isValid: boolean; errorsText: () => string };

const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
const stack = createShardlineStack(app, 'RunTest', defaultStageConfig('test'));
const resources = Template.fromStack(stack).toJSON().Resources as Record<string, { Properties: Record<string, any> }>;
const machineId = stack.getLogicalId(stack.shardline.controlPlane.runStateMachine.node.defaultChild as never);

/** The run definition, every reference replaced by a placeholder as deployed values would be. */
const run: { States: Record<string, any> } = JSON.parse(
  (resources[machineId].Properties.DefinitionString['Fn::Join'][1] as unknown[])
    .map((p) => (typeof p === 'string' ? p : (p as { Ref?: string }).Ref === 'AWS::Partition' ? 'aws' : 'resolved-reference'))
    .join(''),
);

describe('run state machine: the dataset index input flag', () => {
  it('still passes asl-validator', () => {
    expect(aslValidator(run).errorsText()).toBe('');
  });

  it('routes an input with index to a check of index.name, and anything else malformed to InvalidInput', () => {
    const validate = run.States.RunValidate;
    // After the DataSync source inputs (test/infra/run-source.test.ts): a continuation of a long run (it carries the run id), then a new run, which is identified first.
    const rules = validate.Choices.filter((c: { Next: string }) => !c.Next.startsWith('RunSource') && c.Next !== 'RunInvalidInput');
    expect(rules[0].And).toEqual(expect.arrayContaining([{ Variable: '$.continued', IsPresent: true }]));
    expect(rules[0].Next).toBe('RunResume');
    expect(rules[1].Next).toBe('RunIdentify');
    expect(rules).toHaveLength(2);
    expect(validate.Default).toBe('RunInvalidInput');
    expect(run.States.RunIdentify.Next).toBe('RunHasIndex');
    expect(run.States.RunHasIndex.Choices).toEqual([{ Variable: '$.index', IsPresent: true, Next: 'RunValidateIndex' }]);
    expect(run.States.RunHasIndex.Default).toBe('RunRecord');
    expect(run.States.RunValidateIndex).toMatchObject({
      Type: 'Choice',
      Choices: [
        {
          And: [
            { Variable: '$.index.name', IsPresent: true },
            { Variable: '$.index.name', IsString: true },
          ],
          Next: 'RunRecordWithIndex',
        },
      ],
      Default: 'RunInvalidInput',
    });
  });

  it('carries the index name into the run item, which the leader reads when it settles the run', () => {
    const withIndex = run.States.RunRecordWithIndex;
    expect(withIndex.Parameters.Item.index).toEqual({ M: { name: { 'S.$': '$.index.name' } } });
    expect(withIndex.Next).toBe(run.States.RunRecord.Next);
    expect(run.States.RunRecord.Parameters.Item).not.toHaveProperty('index');
    expect(Object.keys(withIndex.Parameters.Item).filter((k) => k !== 'index')).toEqual(Object.keys(run.States.RunRecord.Parameters.Item));
  });

  it('reports the built index in the output of a complete run, and fails with IndexFailed when it could not be built', () => {
    expect(run.States.RunNotifyComplete.Next).toBe('RunIndexed');
    expect(run.States.RunIndexed.Choices).toEqual([
      { Variable: '$.run.Item.indexKey', IsPresent: true, Next: 'RunSummaryWithIndex' },
      { Variable: '$.run.Item.indexError', IsPresent: true, Next: 'RunIndexFailed' },
    ]);
    expect(run.States.RunIndexed.Default).toBe('RunSummary');
    expect(run.States.RunSummaryWithIndex.Parameters).toMatchObject({
      'index.$': expect.stringContaining('$.run.Item.indexKey.S'),
      'indexVersion.$': 'States.StringToJson($.run.Item.indexVersion.N)',
      'recordsOut.$': 'States.StringToJson($.run.Item.recordsOut.N)',
    });
    expect(run.States.RunSummary.Parameters).not.toHaveProperty('index.$');
    expect(run.States.RunIndexFailed).toMatchObject({ Type: 'Fail', Error: 'IndexFailed' });
  });
});
