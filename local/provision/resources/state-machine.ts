/**
 * AWS::StepFunctions::StateMachine locally: the definition from the template, with every
 * reference resolved, so the emulator executes exactly the state machine that is deployed.
 * What local mode does not create (the chunker's event source mapping, the ECS cluster and
 * service, IAM roles) resolves to `none`: the definitions skip those steps when they see it, and
 * the local chunker runner and agents obey the control table instead.
 */
import { CreateStateMachineCommand, ListStateMachinesCommand, UpdateStateMachineCommand } from '@aws-sdk/client-sfn';
import { resolveString, type ResolveContext } from '../intrinsics';
import { stateMachineName } from '../names';
import type { ResourceHandler } from './types';

/** The value of references to resources that local mode does not create. */
export const NOT_PROVISIONED = 'none';

export const provisionStateMachine: ResourceHandler = async (logicalId, resource, ctx) => {
  const lenient: ResolveContext = {
    ...ctx.resolver,
    ref: (id) => ctx.resolver.ref(id) ?? NOT_PROVISIONED,
    getAtt: (id, attribute) => ctx.resolver.getAtt(id, attribute) ?? NOT_PROVISIONED,
  };
  const raw = resource.Properties?.DefinitionString ?? resource.Properties?.Definition;
  const definition = typeof raw === 'object' && raw !== null && !('Fn::Join' in raw) && !('Fn::Sub' in raw) ? JSON.stringify(raw) : resolveString(raw, lenient);
  const name = (resource.Properties?.StateMachineName as string | undefined) ?? stateMachineName(ctx.namePrefix, logicalId);
  const roleArn = `arn:${ctx.resolver.partition}:iam::${ctx.resolver.accountId()}:role/${ctx.namePrefix}-states`;
  const { sfn } = ctx.clients;
  let arn = await findStateMachine(ctx, name);
  if (arn) await sfn.send(new UpdateStateMachineCommand({ stateMachineArn: arn, definition, roleArn }));
  else arn = (await sfn.send(new CreateStateMachineCommand({ name, definition, roleArn, type: 'STANDARD' }))).stateMachineArn as string;
  return { ref: arn, attributes: { Arn: arn, Name: name } };
};

async function findStateMachine(ctx: Parameters<ResourceHandler>[2], name: string): Promise<string | undefined> {
  let nextToken: string | undefined;
  do {
    const out = await ctx.clients.sfn.send(new ListStateMachinesCommand({ nextToken }));
    const found = out.stateMachines?.find((m) => m.name === name);
    if (found) return found.stateMachineArn;
    nextToken = out.nextToken;
  } while (nextToken);
  return undefined;
}
