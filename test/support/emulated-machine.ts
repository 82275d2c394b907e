import { CreateTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { CreateStateMachineCommand, GetExecutionHistoryCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';

/**
 * Synthesizes the definition `build` returns, resolves it as deployed (partition `aws`; any other
 * reference is an error: give the targets literal names), and creates it on the emulator.
 * Returns the state machine's ARN and its definition.
 */
export async function createEmulatedMachine(client: SFNClient, name: string, build: (scope: Construct) => sfn.IChainable): Promise<{ arn: string; definition: string }> {
  const stack = new Stack(new App(), 'Emulated');
  new sfn.StateMachine(stack, 'Machine', { definitionBody: sfn.DefinitionBody.fromChainable(build(stack)) });
  const machine = Object.values(Template.fromStack(stack).findResources('AWS::StepFunctions::StateMachine'))[0];
  const definition = (machine.Properties.DefinitionString['Fn::Join'][1] as unknown[])
    .map((p) => {
      if (typeof p === 'string') return p;
      if ((p as { Ref?: string }).Ref === 'AWS::Partition') return 'aws';
      throw new Error(`unresolved reference ${JSON.stringify(p)}`);
    })
    .join('');
  const out = await client.send(new CreateStateMachineCommand({ name, definition, roleArn: emulatedRoleArn(name), type: 'STANDARD' }));
  return { arn: out.stateMachineArn!, definition };
}

/** The role createEmulatedMachine gives the machine named `name`. */
export const emulatedRoleArn = (name: string) => `arn:aws:iam::123456789012:role/${name}-states`;

/** A table keyed like shardline's control table (pk, sk). */
export async function createKeyedTable(ddb: DynamoDBClient, tableName: string): Promise<void> {
  await ddb.send(
    new CreateTableCommand({
      TableName: tableName,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'pk', KeyType: 'HASH' },
        { AttributeName: 'sk', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'pk', AttributeType: 'S' },
        { AttributeName: 'sk', AttributeType: 'S' },
      ],
    }),
  );
}

/** How many history events each execution of the machine has (every page of GetExecutionHistory). */
export async function historyLengths(client: SFNClient, executionArns: string[]): Promise<number[]> {
  const lengths: number[] = [];
  for (const executionArn of executionArns) {
    let n = 0;
    let nextToken: string | undefined;
    do {
      const page = await client.send(new GetExecutionHistoryCommand({ executionArn, nextToken, maxResults: 1000 }));
      n += page.events?.length ?? 0;
      nextToken = page.nextToken;
    } while (nextToken);
    lengths.push(n);
  }
  return lengths;
}
